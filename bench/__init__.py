"""Benchmarks: commands that print JSON figures (``make bench``)."""
