"""An asset's GIAI as the GIAI-96 EPC an RFID label is encoded with, and the ZPL that
prints and encodes the label.

The golden EPC is the GS1 EPC Tag Data Standard's GIAI-96 example as epcpy's tests give
it (``urn:epc:tag:giai-96:1.0614141.12345400`` = ``3434257BF400000000BC6038``) with the
filter value 0 ("all others") Floki writes: the filter is the three bits after the
header, so the second byte goes from 0x34 (001 101 00) to 0x14 (000 101 00).
"""

from __future__ import annotations

import pytest
from floki_rfid.encoding import EncodedAsset, giai_96_epc
from floki_rfid.epc import decode_epc_hex
from floki_rfid.labels_zpl import zpl_labels
from hypothesis import given, settings
from hypothesis import strategies as st

from floki_core.sdk import Invalid


def test_the_tds_example_with_filter_all_others() -> None:
    assert giai_96_epc("061414112345400", "0614141") == "3414257BF400000000BC6038"


def test_a_demo_register_giai() -> None:
    epc = giai_96_epc("501234510001", "5012345")
    assert len(epc) == 24 and epc.startswith("34")
    assert decode_epc_hex(epc).giai == "501234510001"


@pytest.mark.parametrize(
    ("giai", "prefix", "reason"),
    [
        (
            "501234510001",
            "50123",
            "--company-prefix must be the GS1 Company Prefix, 6 to 12 digits; got '50123'",
        ),
        (
            "501234510001",
            "5012345X",
            "--company-prefix must be the GS1 Company Prefix, 6 to 12 digits; got '5012345X'",
        ),
        (
            "401234510001",
            "5012345",
            "GIAI 401234510001 does not start with the company prefix 5012345",
        ),
        ("5012345", "5012345", "GIAI 5012345 has no asset reference after the company prefix"),
        (
            "5012345PUMP-7",
            "5012345",
            "GIAI 5012345PUMP-7 does not fit GIAI-96: its asset reference 'PUMP-7' is not "
            "all digits",
        ),
        (
            "501234500017",
            "5012345",
            "GIAI 501234500017 does not fit GIAI-96: its asset reference '00017' starts "
            "with 0, which GIAI-96 cannot hold",
        ),
        (
            # 2**58 after a 7-digit prefix: one more than the 58 bits hold.
            f"5012345{2**58}",
            "5012345",
            f"GIAI 5012345{2**58} does not fit GIAI-96: its asset reference {2**58} is more "
            f"than the {2**58 - 1} that 58 bits hold after a 7-digit company prefix",
        ),
    ],
)
def test_giais_that_do_not_fit_giai_96(giai: str, prefix: str, reason: str) -> None:
    with pytest.raises(Invalid) as refused:
        giai_96_epc(giai, prefix)
    assert str(refused.value) == reason


# TDS table 14-16 (GIAI-96 partitions): company prefix digits -> asset reference bits.
REFERENCE_BITS = {12: 42, 11: 45, 10: 48, 9: 52, 8: 55, 7: 58, 6: 62}


@settings(max_examples=200, deadline=None)
@given(prefix_digits=st.integers(min_value=6, max_value=12), data=st.data())
def test_encode_then_decode_gives_back_the_giai(prefix_digits: int, data: st.DataObject) -> None:
    prefix = data.draw(st.from_regex(rf"[0-9]{{{prefix_digits}}}", fullmatch=True))
    reference = data.draw(
        st.integers(min_value=0, max_value=2 ** REFERENCE_BITS[prefix_digits] - 1)
    )
    giai = f"{prefix}{reference}"
    epc = giai_96_epc(giai, prefix)
    decoded = decode_epc_hex(epc)
    assert decoded.scheme == "giai-96"
    assert decoded.giai == giai
    assert decoded.hex == epc


# --- ZPL ---------------------------------------------------------------------------


def test_zpl_encodes_the_epc_and_prints_the_number_and_qr_code() -> None:
    label = EncodedAsset(
        asset_number="E10001",
        giai="501234510001",
        epc=giai_96_epc("501234510001", "5012345"),
        url="https://floki.example.nhs.uk/8004/501234510001",
    )
    zpl = zpl_labels([label])
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    # The EPC bank written in hex, the PC word's length set to the EPC's 96 bits.
    assert f"^RFW,H,,,A^FD{label.epc}^FS" in zpl
    assert "^FDE10001^FS" in zpl  # the asset number, readable
    assert "^FD(8004)501234510001^FS" in zpl
    assert "^BQN,2," in zpl and f"^FDMA,{label.url}^FS" in zpl  # a QR code of the URL


def test_zpl_one_format_per_label() -> None:
    labels = [
        EncodedAsset(
            asset_number=number,
            giai=giai,
            epc=giai_96_epc(giai, "5012345"),
            url=f"https://floki.example.nhs.uk/q/{number}",
        )
        for number, giai in (("E10001", "501234510001"), ("E10002", "501234510002"))
    ]
    zpl = zpl_labels(labels)
    assert zpl.count("^XA") == 2 and zpl.count("^XZ") == 2
    assert zpl.index("E10001") < zpl.index("E10002")


def test_zpl_refuses_field_data_that_would_be_read_as_commands() -> None:
    label = EncodedAsset(
        asset_number="E10001",
        giai="501234510001",
        epc=giai_96_epc("501234510001", "5012345"),
        url="https://floki.example.nhs.uk/q/E1^XZ",
    )
    with pytest.raises(Invalid) as refused:
        zpl_labels([label])
    assert str(refused.value) == (
        "asset E10001: its label URL 'https://floki.example.nhs.uk/q/E1^XZ' has '^', "
        "which a ZPL printer reads as a command"
    )
