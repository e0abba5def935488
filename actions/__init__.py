"""Rasa action server: thin adapters that translate between Rasa and the `bot` services."""
