"""SMS by Twilio: the outbound gateway, and a local stand-in for Twilio used in development and tests."""
