"""Pure domain model: no Rasa, web or database imports live here."""
