"""Storage: SQLAlchemy tables, sessions and migrations. Only this package talks SQL."""
