"""The demo portfolio: creditors, accounts, and a generated history of agreements and payments."""
