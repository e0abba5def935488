"""Credit-bureau reporting: the Metro 2 file of the monthly bureau export (SPEC section 9)."""
