"""Reading an EPC as a reader reports it: golden tables of accepted EPCs (with every
decoded field) and refused ones (with the reason), in the style of Traccar's decoder
tests.

The accepted EPCs are published examples, not what Floki encodes:

- GS1 EPC Tag Data Standard (TDS 1.13 / 2.0), section 14.5.1 worked example and its
  appendix: SGTIN-96 ``3074257BF7194E4000001A85`` is
  ``urn:epc:tag:sgtin-96:3.0614141.812345.6789``, GTIN 80614141123458, serial 6789.
- epcpy's own tests (github.com/nedap/retail-epcpy, tests/epc_schemes/test_giai.py and
  test_sscc.py), built from the TDS encoding tables: GIAI-96
  ``3434257BF400000000BC6038`` (``urn:epc:tag:giai-96:1.0614141.12345400``), GIAI-202
  ``3834257BF58B266D1AB460C0...`` (the same GIAI) and ``3814257BF58C1858D7C4...``
  (``0614141.1ABc%2FD``), SSCC-96 ``3154257BF4499602D2000000``
  (``urn:epc:tag:sscc-96:2.0614141.1234567890``).

The GTIN and SSCC check digits below are worked out here by the GS1 mod-10 rule.
"""

from __future__ import annotations

import base64

import pytest
from floki_rfid.epc import (
    EpcError,
    EpcIdentities,
    EpcIdentity,
    decode_epc_base64,
    decode_epc_hex,
    epc_tag_keys,
)
from hypothesis import given, settings
from hypothesis import strategies as st

GIAI_202_ALPHA = "3814257BF58C1858D7C4" + "0" * 32
GIAI_202_NUMERIC = "3834257BF58B266D1AB460C0" + "0" * 28


def mod10(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


ACCEPTED = [
    # (as reported, primary form, scheme, giai, gtin, serial, sscc)
    (
        "3434257BF400000000BC6038",
        "3434257BF400000000BC6038",
        "giai-96",
        "061414112345400",
        None,
        None,
        None,
    ),
    (GIAI_202_NUMERIC, GIAI_202_NUMERIC, "giai-202", "061414112345400", None, None, None),
    (GIAI_202_ALPHA, GIAI_202_ALPHA, "giai-202", "06141411ABc/D", None, None, None),
    (
        "3074257BF7194E4000001A85",
        "3074257BF7194E4000001A85",
        "sgtin-96",
        None,
        "8061414112345" + mod10("8061414112345"),
        "6789",
        None,
    ),
    (
        "3154257BF4499602D2000000",
        "3154257BF4499602D2000000",
        "sscc-96",
        None,
        None,
        None,
        "10614141234567890" + mod10("10614141234567890"),
    ),
    # A factory EPC (an Impinj Monza's E2...): no GS1 scheme, kept by its hex.
    ("E2801160600002054C5F2BC2", "E2801160600002054C5F2BC2", "raw", None, None, None, None),
    # Other GS1 schemes (here GRAI-96, header 33) are not read into keys: kept as hex.
    ("3314257BF4000000000004D2", "3314257BF4000000000004D2", "raw", None, None, None, None),
    # A short EPC (a 16-bit word is the smallest a Gen2 tag holds).
    ("AB12", "AB12", "raw", None, None, None, None),
]


@pytest.mark.parametrize(
    ("reported", "primary", "scheme", "giai", "gtin", "serial", "sscc"), ACCEPTED
)
def test_accepted_epcs(
    reported: str,
    primary: str,
    scheme: str,
    giai: str | None,
    gtin: str | None,
    serial: str | None,
    sscc: str | None,
) -> None:
    found = decode_epc_hex(reported)
    assert found.hex == primary
    assert found.scheme == scheme
    assert found.giai == giai
    assert (found.gtin, found.serial) == (gtin, serial)
    assert found.sscc == sscc


@pytest.mark.parametrize(
    "spelled",
    [
        # Spellings readers and people use: lower case, 0x, spaces or hyphens between groups.
        "0x3074257bf7194e4000001a85",
        "3074 257B F719 4E40 0000 1A85",
        "3074-257b-f719-4e40-0000-1a85",
        " 3074257BF7194E4000001A85\n",
    ],
)
def test_spellings_of_one_epc_are_one_identity(spelled: str) -> None:
    assert decode_epc_hex(spelled) == decode_epc_hex("3074257BF7194E4000001A85")
    assert decode_epc_hex(spelled).hex == "3074257BF7194E4000001A85"


def test_an_sgtin_is_the_udi_the_register_spells() -> None:
    found = decode_epc_hex("3074257BF7194E4000001A85")
    assert found.udi == "(01)80614141123458(21)6789"
    assert decode_epc_hex("3434257BF400000000BC6038").udi is None


def test_lookup_keys_raw_hex_first_then_what_the_epc_carries() -> None:
    assert decode_epc_hex("3434257BF400000000BC6038").lookup_keys() == (
        ("rfid", "3434257BF400000000BC6038"),
        ("giai", "061414112345400"),
    )
    assert decode_epc_hex("3074257BF7194E4000001A85").lookup_keys() == (
        ("rfid", "3074257BF7194E4000001A85"),
        ("udi", "(01)80614141123458(21)6789"),
    )
    assert decode_epc_hex("3154257BF4499602D2000000").lookup_keys() == (
        ("rfid", "3154257BF4499602D2000000"),
    )
    assert decode_epc_hex("E2801160600002054C5F2BC2").lookup_keys() == (
        ("rfid", "E2801160600002054C5F2BC2"),
    )


REJECTED = [
    ("", "an EPC is empty; expected hex digits"),
    ("   ", "an EPC is empty; expected hex digits"),
    (
        "3074257BF7194E4000001A8",
        "EPC '3074257BF7194E4000001A8' has 23 hex digits; an EPC is whole bytes, an even number",
    ),
    (
        "3074257BF7194E4000001A8G",
        "EPC '3074257BF7194E4000001A8G' has 'G' at position 24, which is not a hex digit",
    ),
    (
        "urn:epc:tag:giai-96:1.0614141.12345400",
        "EPC 'urn:epc:tag:giai-96:1.0614141.12345400' has 'u' at position 1, which is not a "
        "hex digit",
    ),
    (
        "A" * 126,
        f"EPC '{'A' * 60}...' has 126 hex digits; an EPC is at most 496 bits (124 hex digits)",
    ),
    (
        "3074257BF7194E4000001A850000",
        "EPC '3074257BF7194E4000001A850000' has the SGTIN-96 header (30) but 28 hex digits; "
        "an SGTIN-96 EPC is 24",
    ),
    (
        "3434257BF400000000BC60",
        "EPC '3434257BF400000000BC60' has the GIAI-96 header (34) but 22 hex digits; "
        "a GIAI-96 EPC is 24",
    ),
    (
        "3834257BF58B266D1AB460C0",
        "EPC '3834257BF58B266D1AB460C0' has the GIAI-202 header (38) but 24 hex digits; "
        "a GIAI-202 EPC is 52",
    ),
    (
        "307C257BF7194E4000001A85",
        "EPC '307C257BF7194E4000001A85' has the SGTIN-96 header (30) but does not decode: "
        "Invalid partition header 111",
    ),
    (
        "3477FFFFF400000000BC6038",
        "EPC '3477FFFFF400000000BC6038' has the GIAI-96 header (34) but does not decode: "
        "Company prefix length too large",
    ),
    (
        "3157FFFFF4499602D2000000",
        "EPC '3157FFFFF4499602D2000000' has the SSCC-96 header (31) but does not decode: "
        "Company prefix length too large",
    ),
]


@pytest.mark.parametrize(("reported", "reason"), REJECTED)
def test_rejected_epcs(reported: str, reason: str) -> None:
    with pytest.raises(EpcError) as refused:
        decode_epc_hex(reported)
    assert str(refused.value) == reason


def test_a_very_long_input_is_named_by_its_start_only() -> None:
    with pytest.raises(EpcError) as refused:
        decode_epc_hex("A" * 10_000)
    assert len(str(refused.value)) < 300
    assert "10000 hex digits" in str(refused.value)


# --- Impinj IoT device interface: ``epc`` in base64 -------------------------------


def test_base64_as_impinj_sends_it() -> None:
    # The TDS SGTIN-96 example's 12 bytes, as the R700's tagInventoryEvent carries them.
    epc = base64.b64encode(bytes.fromhex("3074257BF7194E4000001A85")).decode()
    assert epc == "MHQle/cZTkAAABqF"
    found = decode_epc_base64(epc)
    assert found == decode_epc_hex("3074257BF7194E4000001A85")
    assert found.udi == "(01)80614141123458(21)6789"


def test_base64_without_its_padding_is_read() -> None:
    epc = base64.b64encode(bytes.fromhex("E2801160600002054C5F2B")).decode()
    assert epc.endswith("=")
    assert decode_epc_base64(epc.rstrip("=")).hex == "E2801160600002054C5F2B"


@pytest.mark.parametrize(
    ("reported", "reason"),
    [
        ("", "an EPC in base64 is empty"),
        ("MHQle/cZ*kAAABqF", "EPC 'MHQle/cZ*kAAABqF' is not base64: '*' at position 9"),
        ("MHQle", "EPC 'MHQle' is not base64: 5 characters cannot be whole bytes"),
    ],
)
def test_rejected_base64(reported: str, reason: str) -> None:
    with pytest.raises(EpcError) as refused:
        decode_epc_base64(reported)
    assert str(refused.value) == reason


# --- round trips -----------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=62))
def test_any_epc_bytes_decode_or_are_refused_with_a_reason(data: bytes) -> None:
    """Whatever a reader sends is an identity whose primary form is its hex, or an
    ``EpcError``: never another exception."""
    try:
        found = decode_epc_hex(data.hex())
    except EpcError as exc:
        assert str(exc).startswith("EPC ")
        return
    assert found.hex == data.hex().upper()
    assert isinstance(found, EpcIdentity)
    assert found.lookup_keys()[0] == ("rfid", found.hex)
    assert decode_epc_base64(base64.b64encode(data).decode()) == found


@settings(max_examples=100, deadline=None)
@given(
    prefix_digits=st.integers(min_value=6, max_value=12),
    data=st.data(),
)
def test_giai_96_from_the_tds_tables_decodes_to_prefix_and_reference(
    prefix_digits: int, data: st.DataObject
) -> None:
    """GIAI-96 built bit by bit from the TDS partition table (not by epcpy) decodes to
    the GS1 element string's value: company prefix then asset reference."""
    # TDS table 14-16: partition, company prefix bits / digits, asset reference bits.
    partitions = {12: (0, 40, 42), 11: (1, 37, 45), 10: (2, 34, 48), 9: (3, 30, 52)}
    partitions |= {8: (4, 27, 55), 7: (5, 24, 58), 6: (6, 20, 62)}
    partition, prefix_bits, reference_bits = partitions[prefix_digits]
    prefix = data.draw(st.integers(min_value=0, max_value=10**prefix_digits - 1))
    limit = min(2**reference_bits, 10 ** (25 - prefix_digits)) - 1
    reference = data.draw(st.integers(min_value=0, max_value=limit))
    filter_value = data.draw(st.integers(min_value=0, max_value=7))
    bits = (0x34 << 3 | filter_value) << 3 | partition
    bits = (bits << prefix_bits | prefix) << reference_bits | reference
    found = decode_epc_hex(f"{bits:024X}")
    assert found.scheme == "giai-96"
    assert found.giai == f"{prefix:0{prefix_digits}d}{reference}"


# --- repeated reports -----------------------------------------------------------------


def test_a_tag_reported_again_is_read_once_and_the_memory_is_bounded() -> None:
    identities = EpcIdentities(size=2)
    first = identities.of_hex("3074257BF7194E4000001A85")
    assert identities.of_hex("3074257BF7194E4000001A85") is first  # not decoded again
    assert identities.of_base64("MHQle/cZTkAAABqF") == first
    assert identities.of_hex("3074 257b f719 4e40 0000 1a85") == first
    with pytest.raises(EpcError) as refused:
        identities.of_hex("3074257BF7194E4000001A8")
    assert "23 hex digits" in str(refused.value)
    for tag in ("E2801160600002054C5F2BC2", "E2801160600002054C5F2BC3", "AB12"):
        identities.of_hex(tag)
    assert identities.held() == 2 + 1  # the last two hex spellings, the one base64


def test_a_tags_other_keys_for_the_location_index() -> None:
    """What an ``rfid`` sighting's tag is known by besides its hex, for the location
    index to try when no ``rfid`` identifier holds the hex; nothing for what is not an
    EPC (the index never sees an exception)."""
    assert epc_tag_keys("3434257BF400000000BC6038") == (("giai", "061414112345400"),)
    assert epc_tag_keys("3074257bf7194e4000001a85") == (("udi", "(01)80614141123458(21)6789"),)
    assert epc_tag_keys("E2801160600002054C5F2BC2") == ()
    assert epc_tag_keys("3074257BF7194E4000001A8") == ()
    assert epc_tag_keys("not an epc") == ()
