"""An asset's GIAI as the GIAI-96 EPC its RFID label is encoded with.

GIAI-96 (EPC Tag Data Standard, section 14.5.5) holds the GIAI as a company prefix and a
numeric asset reference in a partition chosen by the prefix's length, which the GIAI
alone does not tell (``5012345`` + ``10001`` and ``501234`` + ``510001`` are the same
GIAI, different EPCs): the GS1 Company Prefix is therefore given. A GIAI-96 EPC decodes
(``floki_rfid.epc``) back to the same GIAI, which is how a read finds its asset.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from epcpy.epc_schemes.giai import GIAI, GIAIFilterValue
from epcpy.utils.common import ConvertException

from floki_core.sdk import Asset, Invalid, RegisterReading

__all__ = ["EncodedAsset", "check_company_prefix", "encode_assets", "giai_96_epc", "label_url"]

_PREFIX = re.compile(r"[0-9]{6,12}", re.ASCII)
# TDS table 14-16, GIAI-96 partitions: company prefix digits -> asset reference bits.
_REFERENCE_BITS: Final = {12: 42, 11: 45, 10: 48, 9: 52, 8: 55, 7: 58, 6: 62}
_GIAI_96_HEX: Final = 24
QR: Final = "qr"  # the QR plugin's label codes: an asset's ``qr`` identifier


@dataclass(frozen=True)
class EncodedAsset:
    """What one asset's RFID label carries."""

    asset_number: str
    giai: str
    epc: str  # GIAI-96, 24 hex digits
    url: str  # what its QR code opens


def check_company_prefix(company_prefix: str) -> None:
    """``Invalid`` unless ``company_prefix`` is one GIAI-96 has a partition for."""
    if not _PREFIX.fullmatch(company_prefix):
        raise Invalid(
            f"--company-prefix must be the GS1 Company Prefix, 6 to 12 digits; "
            f"got {company_prefix!r}"
        )


def giai_96_epc(giai: str, company_prefix: str) -> str:
    """The GIAI-96 EPC (hex, filter 0 "all others") of ``giai``; ``Invalid`` saying why
    the GIAI does not fit."""
    check_company_prefix(company_prefix)
    if not giai.startswith(company_prefix):
        raise Invalid(f"GIAI {giai} does not start with the company prefix {company_prefix}")
    reference = giai[len(company_prefix) :]
    if not reference:
        raise Invalid(f"GIAI {giai} has no asset reference after the company prefix")
    unfit = f"GIAI {giai} does not fit GIAI-96: its asset reference"
    if not (reference.isascii() and reference.isdigit()):
        raise Invalid(f"{unfit} {reference!r} is not all digits")
    if len(reference) > 1 and reference[0] == "0":
        # GIAI-96 holds a number: the zeros would not come back from the tag.
        raise Invalid(f"{unfit} {reference!r} starts with 0, which GIAI-96 cannot hold")
    bits = _REFERENCE_BITS[len(company_prefix)]
    if int(reference) >= 2**bits:
        raise Invalid(
            f"{unfit} {reference} is more than the {2**bits - 1} that {bits} bits hold "
            f"after a {len(company_prefix)}-digit company prefix"
        )
    try:
        scheme = GIAI(f"urn:epc:id:giai:{company_prefix}.{reference}")
        epc: str = scheme.hex(
            binary_coding_scheme=GIAI.BinaryCodingScheme.GIAI_96,
            filter_value=GIAIFilterValue.ALL_OTHERS,
        )
    except ConvertException as exc:  # the checks above leave epcpy nothing to refuse
        raise Invalid(f"GIAI {giai} does not fit GIAI-96: {exc.message}") from None
    return epc.zfill(_GIAI_96_HEX)


def label_url(base_url: str, giai: str, code: str | None) -> str:
    """What the label's QR code opens: the asset's QR label code, as the QR plugin
    prints it (``/q/<code>``), or else the GS1 Digital Link of its GIAI
    (``/8004/<GIAI>``), which the QR plugin's pages open too."""
    if code is not None:
        return f"{base_url}/q/{quote(code, safe='')}"
    return f"{base_url}/8004/{quote(giai, safe='')}"


def _giai_of(asset: Asset, giai_identifiers: dict[int, str]) -> str | None:
    return asset.giai or giai_identifiers.get(asset.id)


def encode_assets(
    register: RegisterReading,
    asset_numbers: Sequence[str],
    company_prefix: str,
    base_url: str,
) -> list[EncodedAsset]:
    """Each asset's label, in the order asked; ``Invalid`` naming every asset that cannot
    have one (not in the register, no GIAI, a GIAI GIAI-96 cannot hold), so that
    nothing is printed for some when others fail."""
    wanted = list(dict.fromkeys(asset_numbers))
    if not wanted:
        raise Invalid("say which assets: --assets E10001,E10002")
    check_company_prefix(company_prefix)  # said once, not once for each asset
    ids = register.asset_ids_by_number(wanted)
    missing = [n for n in wanted if n not in ids]
    if missing:
        raise Invalid(f"--assets: no asset numbered {', '.join(missing)}")
    assets = {a.id: a for a in register.assets(list(ids.values()))}
    giai_identifiers = register.identifiers_of(ids.values(), "giai")
    codes = register.identifiers_of(ids.values(), QR)
    encoded: list[EncodedAsset] = []
    problems: list[str] = []
    for number in wanted:
        asset = assets[ids[number]]
        giai = _giai_of(asset, giai_identifiers)
        if giai is None:
            problems.append(f"{number} has no GIAI")
            continue
        try:
            epc = giai_96_epc(giai, company_prefix)
        except Invalid as exc:
            problems.append(f"{number}: {exc}")
            continue
        url = label_url(base_url, giai, codes.get(asset.id))
        encoded.append(EncodedAsset(asset_number=number, giai=giai, epc=epc, url=url))
    if problems:
        raise Invalid(
            f"{len(problems)} of {len(wanted)} assets cannot be encoded: {'; '.join(problems)}"
        )
    return encoded
