"""Teltonika Codec 8 / 8E: real frames from Teltonika's documentation and Traccar's tests
decoded into the fixes a user sees, the session's answers, and fuzzing."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from floki_gps.crc import crc16_ibm
from floki_gps.fixes import Fix
from floki_gps.tcp_session import DecodeError
from floki_gps.teltonika import (
    CODEC_8,
    CODEC_8E,
    TeltonikaSession,
    decode_imei,
    decode_packet,
    record_fix,
    teltonika_encode,
    teltonika_encode_imei,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

IMEI = "356307042441013"

# Teltonika wiki, "Codec" page (wiki.teltonika-gps.com/view/Codec), Codec 8 example 1:
# one record, IO 21=3, 1=1, 66=24079 (external voltage), 241=24602, 78=0.
WIKI_CODEC8_1 = bytes.fromhex(
    "000000000000003608010000016B40D8EA30010000000000000000000000000000000105021503010101"
    "425E0F01F10000601A014E0000000000000000010000C7CF"
)
# Same page, Codec 8 example 3: two records in one packet.
WIKI_CODEC8_3 = bytes.fromhex(
    "000000000000004308020000016B40D57B4801000000000000000000000000000000010101010000000000"
    "00016B40D5C198010000000000000000000000000000000101010101000000020000252C"
)
# Same page, Codec 8 Extended example: 2-byte IO ids, 1/2/4/8-byte groups, no variable ones.
WIKI_CODEC8E = bytes.fromhex(
    "000000000000004A8E010000016B412CEE000100000000000000000000000000000000010005000100010100"
    "010011001D00010010015E2C880002000B000000003544C87A000E000000001DD7E06A00000100002994"
)
# Traccar, src/test/java/org/traccar/protocol/TeltonikaProtocolDecoderTest.java (Apache-2.0):
# a Codec 8 record near Vienna with movement, external and battery voltage.
TRACCAR_CODEC8_VIENNA = bytes.fromhex(
    "000000000000004c08010000016818d500580009c28d9f1cb3757a00be00c60f0053000f06f0011503c8"
    "0001011d00fc0007423799180053cdf80dce426f430f88190bb8560bb802f100005aa110002887e00001"
    "0000ee8d"
)
# Same file: a Codec 8 record with battery level (IO 113) 100 %.
TRACCAR_CODEC8_BATTERY = bytes.fromhex(
    "00000000000000A708010000016269E7D9A8000A5A0F0A1CBF8F3300880046120000001C0801014F0051"
    "00550F740073007801790103430000440000426F980B5400000000560000452757000000475800000226"
    "59000000005D0000000068000003D07100007355870000000288000000008A000045270669584C524153"
    "4834336A30304731363538326B3600FFFFFF000000815541205541443030823030303938323636833030"
    "3000000000000100008396"
)
# Same file: a Codec 8E packet of two records near Barcelona, with variable-length IO
# elements, ignition on, HDOP 1.2.
TRACCAR_CODEC8E_BARCELONA = bytes.fromhex(
    "000000000000010e8e020000019769de9f9800015299f718b278040018007708000000000013000b00ef"
    "0100f00000150500c80000450100010100b30000020000030000b401017c00000500b5001a00b6000c00"
    "4238d40043000000440000000200f10000539b00100000efc70001004e00000000000000000000000001"
    "9769de5d3b00015299f718b27804001800770800002c350001000000000000000000012c350070012405"
    "0f4e65766572615f33000000000000000f067cd9f4110c4006020c8f0701340e020c1c24050f4e657665"
    "72615f31000000000000000f067cd9f411334606020c380701340e020c2624050f4e65766572615f3200"
    "0000000000000f067cd9f411464706020c240701360e020c26020000a8b0"
)
# Same file: a packet that declares 166 bytes of data and carries 33 (cut short).
TRACCAR_TRUNCATED = bytes.fromhex(
    "00000000000000a608010000013f14a1d1ce000f0eb790209a778000ab010c0500000000000000000100003390"
)
# Traccar, TeltonikaFrameDecoderTest.java: the keep-alive byte FF, then the IMEI handshake.
TRACCAR_PING_THEN_IMEI = bytes.fromhex("FF000F313233343536373839303132333435")

UTC = dt.UTC


def fixes_of(frame: bytes) -> list[Fix]:
    return [record_fix(IMEI, r) for r in decode_packet(frame).records]


def test_the_documented_codec8_record_decodes_with_its_time_and_io() -> None:
    packet = decode_packet(WIKI_CODEC8_1)
    (record,) = packet.records
    assert packet.codec == CODEC_8
    assert record.at == dt.datetime(2019, 6, 10, 10, 4, 46, tzinfo=UTC)
    assert record.io == {21: 3, 1: 1, 66: 24079, 241: 24602, 78: 0}
    (fix,) = fixes_of(WIKI_CODEC8_1)
    # No satellites and 0,0: alive (and its supply voltage known) but not located.
    assert (fix.lat, fix.lon, fix.external_mv) == (None, None, 24079)


def test_two_records_in_one_packet_keep_their_own_times() -> None:
    assert [f.at for f in fixes_of(WIKI_CODEC8_3)] == [
        dt.datetime(2019, 6, 10, 10, 1, 1, tzinfo=UTC),
        dt.datetime(2019, 6, 10, 10, 1, 19, tzinfo=UTC),
    ]


def test_the_documented_codec8e_record_reads_every_io_group() -> None:
    packet = decode_packet(WIKI_CODEC8E)
    (record,) = packet.records
    assert packet.codec == CODEC_8E
    assert record.at == dt.datetime(2019, 6, 10, 11, 36, 32, tzinfo=UTC)
    assert record.io == {1: 1, 17: 29, 16: 22949000, 11: 893700218, 14: 500686954}


def test_a_real_codec8_fix_gives_position_speed_and_voltages() -> None:
    (fix,) = fixes_of(TRACCAR_CODEC8_VIENNA)
    assert fix.at == dt.datetime(2019, 1, 4, 12, 27, 19, tzinfo=UTC)
    assert fix.lat == pytest.approx(48.1523066, abs=1e-6)
    assert fix.lon == pytest.approx(16.3745183, abs=1e-6)
    assert (fix.speed_kmh, fix.course_deg, fix.altitude_m, fix.satellites) == (83, 198, 190, 15)
    assert (fix.external_mv, fix.battery_mv, fix.moving) == (14233, 3976, True)


def test_battery_level_is_read_from_io_113() -> None:
    (fix,) = fixes_of(TRACCAR_CODEC8_BATTERY)
    assert fix.battery_pct == 100
    assert fix.lat == pytest.approx(48.2316083, abs=1e-6)
    assert fix.lon == pytest.approx(17.367425, abs=1e-6)


def test_a_real_codec8e_packet_with_variable_length_io_decodes() -> None:
    first, second = fixes_of(TRACCAR_CODEC8E_BARCELONA)
    assert first.at == dt.datetime(2025, 6, 13, 15, 18, 7, tzinfo=UTC)
    assert second.at < first.at  # a backlog: the device's own times are kept
    assert first.lat == pytest.approx(41.4349316, abs=1e-6)
    assert first.lon == pytest.approx(2.2190583, abs=1e-6)
    assert (first.ignition, first.moving, first.hdop, first.external_mv) == (
        True,
        False,
        1.2,
        14548,
    )


def test_a_corrupted_crc_and_a_cut_packet_are_refused_by_reason() -> None:
    corrupted = bytearray(TRACCAR_CODEC8_VIENNA)
    corrupted[30] ^= 0x01
    with pytest.raises(DecodeError) as bad_crc:
        decode_packet(bytes(corrupted))
    assert bad_crc.value.reason == "bad_crc"
    with pytest.raises(DecodeError) as cut:
        decode_packet(TRACCAR_TRUNCATED)
    assert cut.value.reason == "bad_frame"


def test_the_imei_handshake_decodes_and_refuses_non_digits() -> None:
    assert decode_imei(teltonika_encode_imei(IMEI)) == IMEI
    with pytest.raises(DecodeError):
        decode_imei(b"\x00\x03abc")


# --- the session ---------------------------------------------------------------------------


def test_a_registered_tracker_is_accepted_after_its_keep_alive_byte() -> None:
    session = TeltonikaSession(lambda imei: imei == "123456789012345")
    step = session.feed(TRACCAR_PING_THEN_IMEI)
    assert (bytes(step.answer), step.logged_in, step.close) == (b"\x01", "123456789012345", False)
    step = session.feed(TRACCAR_CODEC8_VIENNA)
    assert bytes(step.answer) == (1).to_bytes(4, "big")
    assert [f.device for f in step.fixes] == ["123456789012345"]


def test_an_unregistered_tracker_is_answered_00_counted_and_hung_up() -> None:
    session = TeltonikaSession(lambda imei: False)
    step = session.feed(teltonika_encode_imei(IMEI))
    assert bytes(step.answer) == b"\x00"
    assert (step.refused, step.rejected, step.close) == (IMEI, ["unknown_device"], True)


def test_a_bad_crc_is_answered_zero_so_the_tracker_resends_and_the_session_goes_on() -> None:
    session = TeltonikaSession(lambda imei: True)
    session.feed(teltonika_encode_imei(IMEI))
    corrupted = bytearray(TRACCAR_CODEC8_VIENNA)
    corrupted[-1] ^= 0xFF
    step = session.feed(bytes(corrupted))
    assert (bytes(step.answer), step.rejected, step.fixes, step.close) == (
        b"\x00\x00\x00\x00",
        ["bad_crc"],
        [],
        False,
    )
    assert bytes(session.feed(TRACCAR_CODEC8_VIENNA).answer) == (1).to_bytes(4, "big")


def test_frames_split_anywhere_and_joined_together_decode_the_same() -> None:
    stream = teltonika_encode_imei(IMEI) + WIKI_CODEC8_3 + TRACCAR_CODEC8_VIENNA
    for cut in (1, 2, 7, 17, 18, 30, len(stream) - 1):
        session = TeltonikaSession(lambda imei: True)
        first, second = session.feed(stream[:cut]), session.feed(stream[cut:])
        answers = bytes(first.answer + second.answer)
        assert answers == b"\x01" + (2).to_bytes(4, "big") + (1).to_bytes(4, "big"), cut
        assert len(first.fixes + second.fixes) == 3


def test_the_same_record_twice_in_one_packet_is_delivered_once() -> None:
    fix = Fix(device=IMEI, protocol="teltonika", at=dt.datetime(2026, 1, 5, tzinfo=UTC))
    session = TeltonikaSession(lambda imei: True)
    session.feed(teltonika_encode_imei(IMEI))
    step = session.feed(teltonika_encode([fix, fix]))
    assert bytes(step.answer) == (2).to_bytes(4, "big")  # both taken: not sent again
    assert len(step.fixes) == 1


def test_a_record_repeated_out_of_time_order_is_delivered_once_and_the_rest_in_order() -> None:
    at = dt.datetime(2026, 1, 5, tzinfo=UTC)
    newest, older = (
        Fix(device=IMEI, protocol="teltonika", at=at + dt.timedelta(seconds=s)) for s in (60, 30)
    )
    session = TeltonikaSession(lambda imei: True)
    session.feed(teltonika_encode_imei(IMEI))
    step = session.feed(teltonika_encode([newest, older, newest]))
    assert bytes(step.answer) == (3).to_bytes(4, "big")
    assert [f.at for f in step.fixes] == [newest.at, older.at]


def test_a_packet_longer_than_the_buffer_closes_the_connection() -> None:
    session = TeltonikaSession(lambda imei: True)
    session.feed(teltonika_encode_imei(IMEI))
    step = session.feed(b"\x00\x00\x00\x00\x00\x10\x00\x00")  # declares 1 MiB of data
    assert (step.rejected, step.close) == (["frame_too_long"], True)


def test_data_that_is_not_a_packet_closes_the_connection() -> None:
    session = TeltonikaSession(lambda imei: True)
    session.feed(teltonika_encode_imei(IMEI))
    step = session.feed(b"GET / HTTP/1.1\r\n\r\n")
    assert (step.rejected, step.close) == (["bad_frame"], True)


@pytest.mark.parametrize("codec", [CODEC_8, CODEC_8E])
def test_the_encoder_round_trips_what_a_user_sees(codec: int) -> None:
    fix = Fix(
        device=IMEI,
        protocol="teltonika",
        at=dt.datetime(2026, 1, 5, 8, 59, 30, 250000, tzinfo=UTC),
        lat=-33.7335583,
        lon=151.2093,
        satellites=11,
        hdop=0.9,
        speed_kmh=42.0,
        course_deg=270.0,
        altitude_m=-3.0,
        battery_pct=87.0,
        battery_mv=3977,
        external_mv=12352,
        moving=True,
        ignition=False,
    )
    (decoded,) = fixes_of(teltonika_encode([fix], codec))
    assert decoded == fix


def test_a_panic_record_is_an_sos_alarm() -> None:
    # Teltonika's record priority 2 is "panic": the tracker's SOS button or scenario.
    sos = Fix(
        device=IMEI, protocol="teltonika", at=dt.datetime(2026, 1, 5, tzinfo=UTC), alarm="sos"
    )
    packet = teltonika_encode([sos])
    assert decode_packet(packet).records[0].priority == 2
    (decoded,) = fixes_of(packet)
    assert decoded.alarm == "sos"
    (ordinary,) = fixes_of(TRACCAR_CODEC8_VIENNA)  # priority 0
    assert ordinary.alarm is None


# --- fuzzing -------------------------------------------------------------------------------

GOLDEN = [WIKI_CODEC8_1, WIKI_CODEC8_3, WIKI_CODEC8E, TRACCAR_CODEC8E_BARCELONA]


def _with_crc(data: bytes) -> bytes:
    """AVL data wrapped as a packet with a correct length and CRC."""
    return b"\x00" * 4 + len(data).to_bytes(4, "big") + data + crc16_ibm(data).to_bytes(4, "big")


mutated = st.builds(
    lambda frame, at, value: _with_crc(
        frame[8:-4][: at % (len(frame) - 11)]
        + bytes([value])
        + frame[8:-4][at % (len(frame) - 11) + 1 :]
    ),
    st.sampled_from(GOLDEN),
    st.integers(0, 10_000),
    st.integers(0, 255),
)
any_packet = st.one_of(
    st.binary(max_size=600), mutated, st.builds(_with_crc, st.binary(max_size=300))
)

FUZZ = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@FUZZ
@given(any_packet)
def test_decode_packet_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_packet(data)


@FUZZ
@given(st.lists(st.one_of(any_packet, st.binary(max_size=40)), max_size=6), st.booleans())
def test_a_session_fed_anything_never_raises(chunks: list[bytes], registered: bool) -> None:
    session = TeltonikaSession(lambda imei: registered)
    session.feed(teltonika_encode_imei(IMEI))
    for chunk in chunks:
        step = session.feed(chunk)
        if step.close:
            break
