"""Passwords, tokens, certificates and the role policy."""
