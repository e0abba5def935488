"""The web chat: the agency's page and the embeddable widget that talks to Rasa's socket.io channel."""
