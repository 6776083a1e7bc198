"""``floki-console``: the desktop console; ``floki-console --check ADDRESS``: does this
PC's console reach the appliance? (floki_console.check)"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="floki-console", description="The Floki desktop console.")
    parser.add_argument(
        "--check",
        metavar="ADDRESS",
        help="only check that this console reaches the appliance at ADDRESS, and exit",
    )
    parser.add_argument(
        "--fingerprint",
        metavar="SHA256",
        help="with --check: the appliance's certificate fingerprint to trust "
        "(default: the one this console already trusts for ADDRESS)",
    )
    parser.add_argument(
        "address", nargs="?", help="an appliance address to offer, e.g. floki.local:8443"
    )
    parser.add_argument(
        "--no-discovery",
        action="store_true",
        help="do not search the local network for appliances (type the address)",
    )
    args = parser.parse_args(argv)
    if args.check is not None:
        from floki_console.check import check

        return check(args.check, args.fingerprint)
    if args.fingerprint is not None:
        print("floki-console: error: --fingerprint is only for --check", file=sys.stderr)
        return 2
    from floki_console.app import run

    return run(args.address, discover=not args.no_discovery)


if __name__ == "__main__":
    sys.exit(main())
