"""GT06 / Concox: real frames from Concox's protocol manual and Traccar's tests decoded
into the fixes a user sees, the answers the trackers wait for, and fuzzing."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from floki_gps.crc import crc16_x25
from floki_gps.fixes import Fix
from floki_gps.gt06 import (
    Gt06Session,
    answer,
    decode_frame,
    frame_fix,
    gt06_encode,
    gt06_encode_login,
    login_imei,
)
from floki_gps.tcp_session import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

UTC = dt.UTC
NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

# Concox GT06 protocol manual, 5.1: the login packet of terminal 0123456789012345 with
# serial 1, and the server's answer.
MANUAL_LOGIN = bytes.fromhex("78780D01012345678901234500018CDD0D0A")
MANUAL_LOGIN_ANSWER = bytes.fromhex("787805010001D9DC0D0A")
# Traccar, src/test/java/org/traccar/protocol/Gt06ProtocolDecoderTest.java (Apache-2.0):
TRACCAR_LOGIN = bytes.fromhex("78780D01086471700328358100093F040D0A")
# Gt06FrameDecoderTest.java: a 0x12 position, 62 km/h, course 178, north-east.
TRACCAR_GPS_12 = bytes.fromhex(
    "78781f1210020e14061dcc0476fcd0003e3faf3e14b20000000000000000044ef6740d0a"
)
# Gt06ProtocolDecoderTest.java: a 0x22 position near Graz.
TRACCAR_GPS_22 = bytes.fromhex(
    "78782222120616083817c5050cc8c801a819d600152400e8011dbf003332000000004862500d0a"
)
# Same file: a 0x16 alarm, south-west, power cut, voltage level 6.
TRACCAR_ALARM_POWER_CUT = bytes.fromhex(
    "7878251610051b0f1c34c5022515d504b5dcd20738080902d4022bdf009cba5006640201006759680d0a"
)
# Same file: a 0x16 alarm, vibration (3), voltage level 4.
TRACCAR_ALARM_VIBRATION = bytes.fromhex(
    "787825160F0C1D0A2B21C8027AC8040C46581000146F0901CC00287D001F714804040301001C84CF0D0A"
)
# Same file: a 0x26 alarm whose position is not fixed (course/status bit 12 clear).
TRACCAR_ALARM_26_UNFIXED = bytes.fromhex(
    "7878252612030C063816C3026C10540C38C9700144030901CC002866000EEE0C06040302000DA2DB0D0A"
)
# Same file: a 0x13 heartbeat: charging, voltage level 6.
TRACCAR_HEARTBEAT = bytes.fromhex("78780a13c40604000201298f5b0d0a")
# Same file: a 0x23 heartbeat (GK310): battery 2.90 V.
TRACCAR_HEARTBEAT_23 = bytes.fromhex("78780B23C00122040001000818720D0A")
# Same file: 0x94 information, external voltage 12.59 V; and the extended form, 7.39 V.
TRACCAR_INFO = bytes.fromhex("7878079404eb001c705d0d0a")
TRACCAR_INFO_EXTENDED = bytes.fromhex("79790008940b02e3048614200d0a")
# Same file: 0x28 multiple cell towers (no position).
TRACCAR_LBS_28 = bytes.fromhex(
    "78783B2810010D02020201CC00287D001F713E287D001F7231287D001E232D287D001F401800000000000000"
    "0000000000000000000000FF00020005B14B0D0A"
)


def fix_of(raw: bytes) -> Fix | None:
    return frame_fix("864717003283581", decode_frame(raw), NOW)


def test_the_manual_login_decodes_and_is_answered_as_the_manual_shows() -> None:
    frame = decode_frame(MANUAL_LOGIN)
    assert login_imei(frame) == "123456789012345"
    assert answer(frame) == MANUAL_LOGIN_ANSWER
    assert login_imei(decode_frame(TRACCAR_LOGIN)) == "864717003283581"


def test_a_0x12_position_gives_place_time_speed_and_course() -> None:
    fix = fix_of(TRACCAR_GPS_12)
    assert fix is not None
    assert fix.at == dt.datetime(2016, 2, 14, 20, 6, 29, tzinfo=UTC)
    assert fix.lat == pytest.approx(41.614907, abs=1e-6)
    assert fix.lon == pytest.approx(2.266408, abs=1e-6)
    assert (fix.speed_kmh, fix.course_deg, fix.satellites, fix.alarm) == (62, 178, 12, None)


def test_a_0x22_position_decodes() -> None:
    fix = fix_of(TRACCAR_GPS_22)
    assert fix is not None
    assert fix.at == dt.datetime(2018, 6, 22, 8, 56, 23, tzinfo=UTC)
    assert fix.lat == pytest.approx(47.068840, abs=1e-6)
    assert fix.lon == pytest.approx(15.441043, abs=1e-6)
    assert fix.course_deg == 292


def test_alarms_give_their_word_battery_and_hemisphere() -> None:
    power_cut = fix_of(TRACCAR_ALARM_POWER_CUT)
    assert power_cut is not None
    assert power_cut.alarm == "power_cut"
    assert power_cut.lat == pytest.approx(-19.991585, abs=1e-6)  # south
    assert power_cut.lon == pytest.approx(-43.904117, abs=1e-6)  # west
    assert power_cut.battery_pct == 100
    vibration = fix_of(TRACCAR_ALARM_VIBRATION)
    assert vibration is not None
    assert (vibration.alarm, vibration.battery_pct) == ("vibration", 66)
    assert vibration.lat == pytest.approx(23.111682, abs=1e-6)
    unfixed = fix_of(TRACCAR_ALARM_26_UNFIXED)
    assert unfixed is not None
    assert (unfixed.alarm, unfixed.lat, unfixed.lon) == ("vibration", None, None)


def test_heartbeats_and_information_give_battery_and_supply_voltage() -> None:
    heartbeat = fix_of(TRACCAR_HEARTBEAT)
    assert heartbeat is not None
    assert (heartbeat.at, heartbeat.battery_pct, heartbeat.charging, heartbeat.lat) == (
        NOW,
        100,
        True,
        None,
    )
    gk310 = fix_of(TRACCAR_HEARTBEAT_23)
    assert gk310 is not None and gk310.battery_mv == 2900
    info = fix_of(TRACCAR_INFO)
    assert info is not None and info.external_mv == 12590
    extended = fix_of(TRACCAR_INFO_EXTENDED)
    assert extended is not None and extended.external_mv == 7390


def test_a_cell_tower_report_says_alive_without_a_position() -> None:
    fix = fix_of(TRACCAR_LBS_28)
    assert fix is not None
    assert (fix.at, fix.lat, fix.lon) == (dt.datetime(2016, 1, 13, 2, 2, 2, tzinfo=UTC), None, None)


def test_answers_echo_the_protocol_number_and_serial() -> None:
    assert answer(decode_frame(TRACCAR_HEARTBEAT)) == bytes.fromhex("7878051301295d630d0a")
    assert answer(decode_frame(TRACCAR_ALARM_VIBRATION)) == bytes.fromhex("78780516001c1b280d0a")
    extended = answer(decode_frame(TRACCAR_INFO_EXTENDED))
    assert extended[:5] == bytes.fromhex("7979000594") and extended[5:7] == (1158).to_bytes(
        2, "big"
    )


def test_a_bad_crc_is_refused() -> None:
    corrupted = bytearray(TRACCAR_GPS_12)
    corrupted[10] ^= 0x40
    with pytest.raises(DecodeError) as bad:
        decode_frame(bytes(corrupted))
    assert bad.value.reason == "bad_crc"


# --- the session ---------------------------------------------------------------------------


def session(registered: bool = True) -> Gt06Session:
    return Gt06Session(lambda imei: registered, lambda: NOW)


def test_a_registered_login_is_answered_then_messages_flow() -> None:
    tracker = session()
    step = tracker.feed(TRACCAR_LOGIN)
    assert (bytes(step.answer), step.logged_in) == (
        answer(decode_frame(TRACCAR_LOGIN)),
        "864717003283581",
    )
    step = tracker.feed(TRACCAR_GPS_12 + TRACCAR_HEARTBEAT)  # two frames in one read
    assert len(step.fixes) == 2
    assert bytes(step.answer) == bytes.fromhex("7878051301295d630d0a")  # positions: no answer


def test_an_unregistered_login_is_not_answered_counted_and_hung_up() -> None:
    step = session(registered=False).feed(TRACCAR_LOGIN)
    assert (bytes(step.answer), step.refused, step.rejected, step.close) == (
        b"",
        "864717003283581",
        ["unknown_device"],
        True,
    )


def test_data_before_a_login_is_refused_and_hung_up() -> None:
    step = session().feed(TRACCAR_GPS_12)
    assert (step.fixes, step.rejected, step.close) == ([], ["not_logged_in"], True)


def test_a_bad_crc_is_counted_not_answered_and_the_connection_goes_on() -> None:
    tracker = session()
    tracker.feed(TRACCAR_LOGIN)
    corrupted = bytearray(TRACCAR_HEARTBEAT)
    corrupted[5] ^= 0x01
    step = tracker.feed(bytes(corrupted))
    assert (bytes(step.answer), step.rejected, step.close) == (b"", ["bad_crc"], False)
    assert bytes(tracker.feed(TRACCAR_HEARTBEAT).answer) == answer(decode_frame(TRACCAR_HEARTBEAT))


def test_frames_split_at_every_byte_decode_the_same() -> None:
    stream = TRACCAR_LOGIN + TRACCAR_ALARM_VIBRATION + TRACCAR_INFO_EXTENDED
    for cut in range(1, len(stream)):
        tracker = session()
        first, second = tracker.feed(stream[:cut]), tracker.feed(stream[cut:])
        assert [f.alarm for f in first.fixes + second.fixes] == ["vibration", None], cut


def test_garbage_and_over_long_frames_close_the_connection() -> None:
    assert session().feed(b"HELO").rejected == ["bad_frame"]
    tracker = session()
    tracker.feed(TRACCAR_LOGIN)
    step = tracker.feed(b"\x79\x79\xff\xff\x12")
    assert (step.rejected, step.close) == (["frame_too_long"], True)


@pytest.mark.parametrize("extended", [False, True])
@pytest.mark.parametrize(
    "fix",
    [
        Fix(device="1", protocol="gt06", at=NOW, lat=-33.868820, lon=151.209295, speed_kmh=12.0,
            course_deg=45.0, satellites=9),
        Fix(device="1", protocol="gt06", at=NOW, lat=52.205338, lon=-0.121817, satellites=7,
            course_deg=0.0, speed_kmh=0.0, alarm="sos", battery_pct=33.0, charging=False),
        Fix(device="1", protocol="gt06", at=NOW, battery_pct=83.0, charging=True),
    ],
)  # fmt: skip
def test_the_encoder_round_trips_what_a_user_sees(fix: Fix, extended: bool) -> None:
    tracker = session()
    tracker.feed(gt06_encode_login("864717003283581", 1, extended=extended))
    step = tracker.feed(gt06_encode(fix, 2, extended=extended))
    (decoded,) = step.fixes
    assert decoded.at == NOW and decoded.alarm == fix.alarm and decoded.charging == fix.charging
    assert decoded.battery_pct == fix.battery_pct
    if fix.lat is None:
        assert decoded.lat is None
    else:
        assert decoded.lat == pytest.approx(fix.lat, abs=1e-6)
        assert decoded.lon == pytest.approx(fix.lon, abs=1e-6)
        assert (decoded.speed_kmh, decoded.course_deg) == (fix.speed_kmh, fix.course_deg)


# --- fuzzing -------------------------------------------------------------------------------

GOLDEN = [
    TRACCAR_GPS_12,
    TRACCAR_GPS_22,
    TRACCAR_ALARM_POWER_CUT,
    TRACCAR_ALARM_26_UNFIXED,
    TRACCAR_HEARTBEAT,
    TRACCAR_HEARTBEAT_23,
    TRACCAR_INFO,
    TRACCAR_INFO_EXTENDED,
    TRACCAR_LBS_28,
]


def _with_crc(start: bytes, number: int, content: bytes) -> bytes:
    """A frame of any content with a correct length and CRC."""
    length = 1 + len(content) + 4
    head = start + (length.to_bytes(2, "big") if start == b"yy" else bytes([length & 0xFF]))
    body = head + bytes([number]) + content + b"\x00\x07"
    return body + crc16_x25(body[2:]).to_bytes(2, "big") + b"\r\n"


framed = st.builds(
    _with_crc,
    st.sampled_from([b"xx", b"yy"]),
    st.sampled_from([0x01, 0x11, 0x12, 0x13, 0x16, 0x22, 0x23, 0x26, 0x28, 0x94, 0x8A]),
    st.binary(max_size=80),
)
mutated = st.builds(
    lambda frame, at, value: (
        frame[: at % len(frame)] + bytes([value]) + frame[at % len(frame) + 1 :]
    ),
    st.sampled_from(GOLDEN),
    st.integers(0, 10_000),
    st.integers(0, 255),
)
any_frame = st.one_of(st.binary(max_size=300), framed, mutated)
FUZZ = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def decode_and_read(data: bytes) -> Fix | None:
    """The decoder's pure entry point: a frame to what it says."""
    return frame_fix("864717003283581", decode_frame(data), NOW)


@FUZZ
@given(any_frame)
def test_decoding_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_and_read(data)


@FUZZ
@given(st.lists(any_frame, max_size=6))
def test_a_session_fed_anything_never_raises(chunks: list[bytes]) -> None:
    tracker = session()
    tracker.feed(TRACCAR_LOGIN)
    for chunk in chunks:
        if tracker.feed(chunk).close:
            break
