"""``make bench``: the ward at its nominal rate, the hospital as fast as it goes, then
ESPresense gateways through a real broker at 15,000 messages a second, then community GPS
trackers through the GPS plugin's listeners (nominal, as fast as they go, a backlog, idle
connections), then fixed RFID readers over LLRP through the RFID plugin's sources (20
readers, 2,000 tags, portals), then a Wi-Fi controller's syslog through the Wi-Fi plugin's
listener (95 % phones nobody tracks); then what syncing authoritative commits costs and a
50,000-row register import (time, write lock held).

Each prints one JSON line (see ``bench/cli.py`` for single runs and the query benchmark,
``docs/performance.md`` for what the figures mean and what they were on this machine).
Given arguments (``python -m bench --scenario rfid --json``), it runs just that, as
``python -m bench.cli`` does.
"""

from __future__ import annotations

import sys

from bench import durability, register_import
from bench.cli import main as bench

RUNS = (
    ["--scenario", "ward", "--seconds", "10", "--json"],
    ["--scenario", "hospital", "--rate", "max", "--seconds", "20", "--json"],
    ["--scenario", "espresense", "--rate", "15000", "--seconds", "20", "--json"],
    ["--scenario", "community", "--json"],
    ["--scenario", "rfid", "--json"],
    ["--scenario", "wifi", "--json"],
)


def main() -> int:
    if sys.argv[1:]:
        return bench(sys.argv[1:])
    worst = 0
    for argv in RUNS:
        worst = max(worst, bench(argv))
    worst = max(worst, durability.main(["--json"]))
    return max(worst, register_import.main(["--json"]))


if __name__ == "__main__":
    sys.exit(main())
