"""``floki-console``: the desktop console; ``floki-console --check URL``: is it answering?"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import urllib.error
import urllib.request


def check(url: str) -> int:
    """A health check for scripts: no window, no trust decision (nothing is sent)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(
            url.rstrip("/") + "/api/v1/health", context=context, timeout=5
        ) as response:
            health = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"floki-console: error: {url} did not answer: {exc}", file=sys.stderr)
        return 1
    print(f"{health.get('site')}: Floki {health.get('version')} is {health.get('status')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="floki-console", description="The Floki desktop console.")
    parser.add_argument(
        "--check", metavar="URL", help="only check that the appliance at URL answers, and exit"
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
    if args.check:
        return check(args.check)
    from floki_console.app import run

    return run(args.address, discover=not args.no_discovery)


if __name__ == "__main__":
    sys.exit(main())
