"""An EPC as a reader reports it, read by the GS1 EPC Tag Data Standard (TDS): pure
functions, no I/O.

The raw hex (upper case, no separators) is always a tag's primary form: it is what an
observation's ``tag`` carries, what unknown tags are listed by and what an ``rfid``
identifier holds. An EPC that carries a GS1 key says more:

- GIAI-96 / GIAI-202 (headers 34, 38): the GIAI, company prefix then asset reference,
  as the GS1 element string's value (``(8004)<GIAI>``): an asset's ``giai``;
- SGTIN-96 (30): GTIN-14 and serial number, the ``udi`` the register spells
  ``(01)<GTIN-14>(21)<serial>``;
- SSCC-96 (31): the SSCC (a logistic unit: shown, not an asset key).

Any other EPC (a factory-programmed ``E2...`` code, another GS1 scheme) is kept by its
hex alone. Decoding is epcpy's (MIT), which implements the TDS tables.
"""

from __future__ import annotations

import binascii
import functools
import re
from typing import Final, Literal

import msgspec
from epcpy.epc_schemes.base_scheme import GS1Element
from epcpy.utils.common import ConvertException
from epcpy.utils.parsers import hex_to_tag_encodable

from floki_core.sdk import udi_value

__all__ = [
    "MAX_EPC_HEX",
    "RFID",
    "EpcError",
    "EpcIdentities",
    "EpcIdentity",
    "Scheme",
    "decode_epc_base64",
    "decode_epc_hex",
    "epc_tag_keys",
]

RFID: Final = "rfid"  # the technology of RFID observations and of raw-hex identifiers
# Gen2's EPC memory holds at most 31 words after the PC (496 bits).
MAX_EPC_HEX: Final = 124
_SHOWN = 60  # characters of a refused input quoted in its reason

Scheme = Literal["giai-96", "giai-202", "sgtin-96", "sscc-96", "raw"]


class EpcError(ValueError):
    """An EPC that cannot be read; the message says what is wrong with it."""


class EpcIdentity(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What an EPC names. ``hex`` is the primary form; the GS1 fields are set for the
    schemes that carry them."""

    hex: str
    scheme: Scheme
    giai: str | None = None
    gtin: str | None = None  # GTIN-14, check digit included
    serial: str | None = None
    sscc: str | None = None  # 18 digits, check digit included

    @property
    def udi(self) -> str | None:
        """The register's spelling of the UDI an SGTIN carries."""
        if self.gtin is None or self.serial is None:
            return None
        return udi_value(self.gtin, self.serial)

    def lookup_keys(self) -> tuple[tuple[str, str], ...]:
        """The (technology, value) pairs an asset may carry for this tag, in the order
        they are looked up: an ``rfid`` identifier holding the raw hex first (a binding a
        person made names the asset even when the EPC's own key says otherwise), then
        the GIAI or UDI the EPC carries."""
        found: tuple[tuple[str, str], ...] = ((RFID, self.hex),)
        if self.giai is not None:
            found += (("giai", self.giai),)
        udi = self.udi
        if udi is not None:
            found += (("udi", udi),)
        return found


# Header byte -> (scheme, name in reasons, hex digits the scheme's EPC has: its bits
# padded to whole 16-bit words, as a tag stores and reports it).
_SCHEMES: Final[dict[str, tuple[Scheme, str, int]]] = {
    "34": ("giai-96", "GIAI-96", 24),
    "38": ("giai-202", "GIAI-202", 52),
    "30": ("sgtin-96", "SGTIN-96", 24),
    "31": ("sscc-96", "SSCC-96", 24),
}
_SEPARATORS = re.compile(r"[\s\-]")
_NOT_HEX = re.compile(r"[^0-9A-Fa-f]")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")
_GTIN_SERIAL = re.compile(r"\(01\)(?P<gtin>[0-9]{14})\(21\)(?P<serial>.+)")
_SSCC = re.compile(r"\(00\)(?P<sscc>[0-9]{18})")


def _quoted(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else f"{text[:_SHOWN]}...")


def _hex_digits(text: str) -> str:
    """The hex digits of an EPC as readers and people write it (any case, ``0x``
    first, spaces or hyphens between groups), upper case; ``EpcError`` if it is not."""
    stripped = text.strip()
    if not stripped:
        raise EpcError("an EPC is empty; expected hex digits")
    start = 2 if stripped[:2] in ("0x", "0X") else 0
    body = stripped[start:]
    bad = _NOT_HEX.search(_SEPARATORS.sub("0", body))
    if bad is not None:
        position = len(text) - len(text.lstrip()) + start + bad.start() + 1
        raise EpcError(
            f"EPC {_quoted(text)} has {body[bad.start()]!r} at position {position}, "
            f"which is not a hex digit"
        )
    digits = _SEPARATORS.sub("", body).upper()
    if not digits:
        raise EpcError("an EPC is empty; expected hex digits")
    if len(digits) > MAX_EPC_HEX:
        raise EpcError(
            f"EPC {_quoted(text)} has {len(digits)} hex digits; an EPC is at most "
            f"{MAX_EPC_HEX * 4} bits ({MAX_EPC_HEX} hex digits)"
        )
    if len(digits) % 2:
        raise EpcError(
            f"EPC {_quoted(text)} has {len(digits)} hex digits; an EPC is whole bytes, "
            f"an even number"
        )
    return digits


def decode_epc_hex(text: str) -> EpcIdentity:
    """The identity of an EPC reported in hex; ``EpcError`` naming what is wrong."""
    digits = _hex_digits(text)
    known = _SCHEMES.get(digits[:2])
    if known is None:
        return EpcIdentity(hex=digits, scheme="raw")
    scheme, name, length = known
    if len(digits) != length:
        article = "an" if name[0] in "AEFHILMNORSX" else "a"
        raise EpcError(
            f"EPC {_quoted(text)} has the {name} header ({digits[:2]}) but {len(digits)} "
            f"hex digits; {article} {name} EPC is {length}"
        )
    try:
        decoded = hex_to_tag_encodable(digits)
        if not isinstance(decoded, GS1Element):  # the four schemes all are
            raise ConvertException(message=f"{type(decoded).__name__} has no GS1 key")
        element = decoded.gs1_element_string()
    except (ConvertException, ValueError, IndexError, KeyError) as exc:
        reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        raise EpcError(
            f"EPC {_quoted(text)} has the {name} header ({digits[:2]}) but does not "
            f"decode: {reason}"
        ) from None
    return _identity(digits, scheme, element)


def _identity(digits: str, scheme: Scheme, element: str) -> EpcIdentity:
    """The fields of a GS1 element string epcpy gave for ``scheme``."""
    if scheme in ("giai-96", "giai-202"):
        return EpcIdentity(hex=digits, scheme=scheme, giai=element.removeprefix("(8004)"))
    if scheme == "sgtin-96":
        parts = _GTIN_SERIAL.fullmatch(element)
        if parts is None:  # epcpy always writes this form; kept honest all the same
            raise EpcError(f"EPC {digits!r} decodes to {element!r}, not a GTIN and serial")
        return EpcIdentity(hex=digits, scheme=scheme, gtin=parts["gtin"], serial=parts["serial"])
    found = _SSCC.fullmatch(element)
    if found is None:
        raise EpcError(f"EPC {digits!r} decodes to {element!r}, not an SSCC")
    return EpcIdentity(hex=digits, scheme=scheme, sscc=found["sscc"])


def epc_tag_keys(tag: str) -> tuple[tuple[str, str], ...]:
    """The keys an ``rfid`` tag is known by besides its raw hex (the GIAI or UDI its EPC
    carries), for a look-up that has found no ``rfid`` identifier holding the hex; none
    for a tag that is not a readable EPC. Never raises."""
    try:
        return decode_epc_hex(tag).lookup_keys()[1:]
    except EpcError:
        return ()


def decode_epc_base64(text: str) -> EpcIdentity:
    """The identity of an EPC sent in base64, as the Impinj IoT device interface sends
    ``epc`` (padding optional); ``EpcError`` naming what is wrong."""
    stripped = text.strip()
    if not stripped:
        raise EpcError("an EPC in base64 is empty")
    body = stripped.rstrip("=")
    bad = _NOT_BASE64.search(body)
    if bad is not None:
        raise EpcError(
            f"EPC {_quoted(text)} is not base64: {body[bad.start()]!r} at position "
            f"{bad.start() + 1}"
        )
    if len(body) % 4 == 1:
        raise EpcError(
            f"EPC {_quoted(text)} is not base64: {len(body)} characters cannot be whole bytes"
        )
    try:
        data = binascii.a2b_base64(body + "=" * (-len(body) % 4), strict_mode=True)
    except binascii.Error as exc:
        raise EpcError(f"EPC {_quoted(text)} is not base64: {exc}") from None
    return decode_epc_hex(data.hex())


class EpcIdentities:
    """Identities of the EPCs one source reports, each decoded once: a reader reports the
    same tags over and over, and a GS1 EPC costs tens of microseconds to decode. Holds at
    most ``size`` of each form (hex, base64), the least recently reported going first;
    a refused EPC is not held (it is refused again, with its reason, each time)."""

    def __init__(self, size: int = 65_536) -> None:
        self.of_hex = functools.lru_cache(maxsize=size)(decode_epc_hex)
        self.of_base64 = functools.lru_cache(maxsize=size)(decode_epc_base64)

    def held(self) -> int:
        """How many reported spellings are held."""
        return self.of_hex.cache_info().currsize + self.of_base64.cache_info().currsize
