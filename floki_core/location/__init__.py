"""From observations to one answer per asset: where it is, how sure, since when, and why."""
