"""Plugin loading, registration and supervision."""
