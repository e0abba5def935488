"""Use cases: each runs in one unit of work and appends to the audit log what it discloses or records."""
