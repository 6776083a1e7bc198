"""Route modules; each has ``add_routes(app, table)``."""
