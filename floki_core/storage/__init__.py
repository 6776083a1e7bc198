"""Storage: typed tables, migrations and the repositories that return domain records."""
