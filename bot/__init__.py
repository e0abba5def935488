"""Conversational collections assistant: domain core, storage and adapters."""
from bot import logs as _logs

# Every process that runs our code imports this package first (the Rasa server for its channels and tracker
# store, the action server for the actions, the command line): each one masks personal data in its logs.
_logs.install()
