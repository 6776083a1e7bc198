"""ZPL for an RFID label printer (Zebra ZT411R/ZT421R, ZD621R and the like): each label
encodes its asset's EPC and prints the asset number, the GIAI and a QR code.

One ``^XA ... ^XZ`` format per label, laid out for 203 dpi stock of 2.25 x 1.25 inches
(a 300 dpi printer prints it smaller, still readable). The ZPL commands used (ZPL II
Programming Guide, RFID commands):

- ``^RS8``: the tag type is EPC Gen 2;
- ``^RFW,H,,,A^FD<hex>^FS``: write the hex to the EPC memory bank from word 2, and
  (memory bank ``A``) set the PC word's length to the EPC written, so a tag whose chip
  holds more than 96 bits reports exactly the 96 written (the decoder refuses a GIAI-96
  of another length);
- ``^BQN,2,<magnification>^FDMA,<url>^FS``: a QR code, model 2, error correction M.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from floki_core.sdk import Invalid
from floki_rfid.encoding import EncodedAsset

__all__ = ["zpl_labels"]

# ZPL reads these anywhere in field data as the start of a command.
_COMMAND_PREFIXES: Final = "^~"
_WIDTH_DOTS: Final = 457
_LENGTH_DOTS: Final = 254


def _field(asset_number: str, what: str, value: str) -> str:
    """``value`` as field data, refused if the printer would read part of it as a
    command (asset numbers, GIAIs and label URLs never have them)."""
    bad = next((c for c in value if c in _COMMAND_PREFIXES), None)
    if bad is not None:
        raise Invalid(
            f"asset {asset_number}: its {what} {value!r} has {bad!r}, which a ZPL printer "
            f"reads as a command"
        )
    return value


def _label(label: EncodedAsset) -> str:
    number = _field(label.asset_number, "asset number", label.asset_number)
    giai = _field(label.asset_number, "GIAI", label.giai)
    url = _field(label.asset_number, "label URL", label.url)
    epc = _field(label.asset_number, "EPC", label.epc)
    return "\n".join(
        (
            "^XA",
            "^CI28",  # field data is UTF-8
            f"^PW{_WIDTH_DOTS}^LL{_LENGTH_DOTS}",
            "^RS8",
            f"^RFW,H,,,A^FD{epc}^FS",
            f"^FO16,16^BQN,2,4^FDMA,{url}^FS",
            f"^FO200,40^A0N,48,40^FD{number}^FS",
            # A GIAI of up to 30 characters wraps onto up to three lines beside the code.
            f"^FO200,110^FB245,3,0,L^A0N,24,18^FD(8004){giai}^FS",
            "^XZ",
        )
    )


def zpl_labels(labels: Sequence[EncodedAsset]) -> str:
    """One ZPL format per label, in order; ``Invalid`` before any is written if one
    cannot be printed."""
    return "".join(f"{_label(label)}\n" for label in labels)
