"""How a benchmark command prints its figures: one JSON line, or one ``key: value`` a line."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def print_result(result: Mapping[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
