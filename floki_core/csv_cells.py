"""CSV cells the appliance writes, made safe to open in a spreadsheet.

One rule for every CSV it writes (the register, the PPM queue, utilisation reports) and
reads back (the register import strips the quote it adds): a cell a spreadsheet would
run as a formula (OWASP "CSV injection") starts with a quote instead.
"""

from __future__ import annotations

import datetime as dt

# The characters a spreadsheet takes as the start of a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> str:
    # A number cannot carry a formula, and "-3" (days overdue) must stay a number.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else value.isoformat() if isinstance(value, dt.date) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
