"""The agent console: the web application collectors and supervisors work in (SPEC section 8)."""
