"""The plugin's ``floki-core`` subcommands: ``floki-core rfid encode``."""

from __future__ import annotations

import argparse
import re
import socket
from typing import Any, Final

from floki_core.sdk import CommandContext, CommandRegistry, FlokiError, SystemClock
from floki_rfid.encoding import EncodedAsset, check_company_prefix, encode_assets
from floki_rfid.labels_zpl import zpl_labels

__all__ = ["register_commands"]

# As the QR plugin's labels take it: the address phones reach the appliance at.
BASE_URL_PATTERN: Final = r"^https?://[A-Za-z0-9.\[\]:-]+(/[A-Za-z0-9._~/-]*)?$"


def _configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="rfid_action", metavar="ACTION", required=True)
    encode = actions.add_parser(
        "encode",
        help="the GIAI-96 EPC of each asset's GIAI, or ZPL to print and encode RFID labels",
        description=(
            "Print each asset's GIAI-96 EPC (hex) from its GIAI, one 'ASSET EPC' line each; "
            "with --zpl, ZPL for an RFID label printer instead. Nothing is printed if any "
            "asset cannot be encoded."
        ),
    )
    encode.add_argument(
        "--assets", metavar="NUMBERS", required=True, help="asset numbers, comma-separated"
    )
    encode.add_argument(
        "--company-prefix",
        metavar="DIGITS",
        required=True,
        help="the GS1 Company Prefix the GIAIs start with (6 to 12 digits): it decides "
        "the EPC's partition",
    )
    encode.add_argument(
        "--zpl",
        action="store_true",
        help="ZPL for an RFID label printer: encode the EPC, print the asset number, GIAI "
        "and a QR code",
    )
    encode.add_argument(
        "--base-url",
        help="for --zpl, the appliance's address as phones reach it (default: "
        "[plugin.qr.labels] base_url, else [server] public_url, else this host)",
    )


def _names(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _default_base_url(config: Any) -> str:
    """The address the QR plugin's labels carry, so an RFID label's QR code opens the
    same page as the asset's QR label."""
    qr = config.plugin.get("qr", {})
    labels = qr.get("labels") if isinstance(qr, dict) else None
    configured = labels.get("base_url") if isinstance(labels, dict) else None
    if isinstance(configured, str) and re.match(BASE_URL_PATTERN, configured):
        return configured.rstrip("/")
    server = config.server
    if server.public_url:
        return str(server.public_url).rstrip("/")
    scheme = "https" if server.tls else "http"
    host = socket.getfqdn() or socket.gethostname() or "localhost"
    port = "" if (scheme, server.port) in {("https", 443), ("http", 80)} else f":{server.port}"
    return f"{scheme}://{host}{port}"


def _base_url(args: argparse.Namespace, config: Any) -> str:
    if args.base_url is None:
        return _default_base_url(config)
    if not re.match(BASE_URL_PATTERN, args.base_url):
        raise FlokiError(
            f"--base-url must look like https://floki.example.org, got {args.base_url!r}"
        )
    return str(args.base_url).rstrip("/")


def _encode(args: argparse.Namespace, context: CommandContext) -> int:
    check_company_prefix(args.company_prefix)
    base_url = _base_url(args, context.config)
    with context.register_writing(SystemClock().now()) as register:
        encoded = encode_assets(register, _names(args.assets), args.company_prefix, base_url)
    # Everything is worked out before anything is printed: a label printer fed half a
    # batch encodes tags nobody asked for.
    print(zpl_labels(encoded) if args.zpl else _epc_lines(encoded), end="")
    return 0


def _epc_lines(encoded: list[EncodedAsset]) -> str:
    return "".join(f"{label.asset_number} {label.epc}\n" for label in encoded)


def register_commands(registry: CommandRegistry) -> None:
    """``floki-core rfid encode --assets E10001,E10002 --company-prefix 5012345 [--zpl]``."""

    def run(args: argparse.Namespace, context: CommandContext) -> int:
        if args.rfid_action == "encode":
            return _encode(args, context)
        raise FlokiError(f"rfid: unknown action {args.rfid_action!r}")  # argparse refuses it

    registry.add("rfid", "RFID tags: encode assets' GIAIs as EPCs", configure=_configure, run=run)
