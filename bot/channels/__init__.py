"""Rasa input channels: the web chat widget (socket.io), SMS (Twilio) and REST, each screening what arrives."""
