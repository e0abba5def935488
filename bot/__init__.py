"""Conversational collections assistant: domain core, storage and adapters."""
