"""``floki-console URL``: check that an appliance answers (the window comes later)."""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import urllib.error
import urllib.request


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="floki-console")
    parser.add_argument("url", help="the appliance, e.g. https://floki.local:8443")
    args = parser.parse_args(argv)
    # Self-signed per-install certificates: fingerprint pinning comes with the window.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(
            args.url.rstrip("/") + "/api/v1/health", context=context, timeout=5
        ) as response:
            health = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"floki-console: error: {args.url} did not answer: {exc}", file=sys.stderr)
        return 1
    print(f"{health.get('site')}: Floki {health.get('version')} is {health.get('status')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
