"""Golden syslog lines of each built-in dialect, with where their shape comes from, and
the lines that must be refused or passed over: headers (RFC 3164 and 5424), dialects,
TCP framing (RFC 6587) and the settings' checks. Pure: no appliance."""

from __future__ import annotations

import contextlib
import datetime as dt
import zoneinfo
from typing import Any

import msgspec
import pytest
from floki_wifi.syslog_config import SyslogSettings
from floki_wifi.syslog_dialects import Event, dialects_for
from floki_wifi.syslog_framing import StreamFramer
from floki_wifi.syslog_headers import HeaderError, read_header
from floki_wifi.syslog_records import SyslogRecord, read_line
from hypothesis import given, settings
from hypothesis import strategies as st

from floki_core.sdk import ConfigError, parse_config, plugin_section

LONDON = zoneinfo.ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 12, 7, 20, 0, tzinfo=dt.UTC)
DIALECTS = dialects_for(SyslogSettings())
DEVICE = "00:1B:44:11:3A:B7"
BSSID = "18:64:72:AA:BB:CC"


def at(*args: int, zone: dt.tzinfo = LONDON) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)  # type: ignore[misc,arg-type]


def seen(dialect: str, event: Event, **where: Any) -> SyslogRecord:
    """The record of DEVICE joining or leaving, as one golden line says it."""
    return SyslogRecord(dialect=dialect, event=event, device=DEVICE, **where)


# (source of the shape, line, record)
GOLDEN: list[tuple[str, bytes, SyslogRecord]] = [
    (
        "hostapd wpa_ctrl.h AP_STA_CONNECTED, logged to syslog behind its interface",
        b"<29>Dec  7 19:58:10 ward5-ap1 hostapd: wlan0: AP-STA-CONNECTED 00:1b:44:11:3a:b7",
        seen(
            "hostapd",
            "associated",
            interface="wlan0",
            hostname="ward5-ap1",
            timestamp=at(2026, 12, 7, 19, 58, 10),
        ),
    ),
    (
        "OpenWrt logread: daemon.notice hostapd: phy1-ap0: AP-STA-CONNECTED <mac> auth_alg=sae",
        b"<29>Dec  7 19:58:11 openwrt hostapd: phy1-ap0: AP-STA-CONNECTED "
        b"00:1b:44:11:3a:b7 auth_alg=sae",
        seen(
            "hostapd",
            "associated",
            interface="phy1-ap0",
            hostname="openwrt",
            timestamp=at(2026, 12, 7, 19, 58, 11),
        ),
    ),
    (
        "hostapd wpa_ctrl.h AP_STA_DISCONNECTED, in RFC 5424 (rsyslog forwarding)",
        b"<29>1 2026-12-07T19:58:12.250+00:00 ward5-ap1 hostapd 812 - - wlan0: "
        b"AP-STA-DISCONNECTED 00:1b:44:11:3a:b7",
        seen(
            "hostapd",
            "disassociated",
            interface="wlan0",
            hostname="ward5-ap1",
            timestamp=dt.datetime(2026, 12, 7, 19, 58, 12, 250000, tzinfo=dt.UTC),
        ),
    ),
    (
        "Catalyst 9800 CLIENT_ADDED_TO_RUN_STATE (Elastic cisco_aironet test-aironet-messages.log)",
        b"<190>201477: Jan 4 17:25:42.866: %CLIENT_ORCH_LOG-6-CLIENT_ADDED_TO_RUN_STATE: "
        b"Chassis 1 R0/0: wncd: Username entry (RND-UN) joined with ssid (System-110) for "
        b"device with MAC: 001b.4411.3ab7",
        seen("cisco", "associated", timestamp=at(2026, 1, 4, 17, 25, 42, 866000)),
    ),
    (
        "Catalyst 9800 CLIENT_ADDED_TO_RUN_STATE with a year and channel (the same Elastic log)",
        b"<190>2371599: Jul 23 2024 14:31:54.468 UTC: %CLIENT_ORCH_LOG-6-"
        b"CLIENT_ADDED_TO_RUN_STATE: Chassis 1 R0/3: wncd: Username entry (musterm8) joined "
        b"with ssid (COMAPNY) for device with MAC: 001b.4411.3ab7 on channel (1)",
        seen("cisco", "associated", timestamp=at(2024, 7, 23, 14, 31, 54, 468000)),
    ),
    (
        "Catalyst 9800 CLIENT_ADDED_TO_RUN_STATE with the AP name added",
        b"<190>2371600: Dec 7 19:58:13.001: %CLIENT_ORCH_LOG-6-CLIENT_ADDED_TO_RUN_STATE: "
        b"R0/0: wncd: Username entry (x) joined with ssid (Clinical) for device with MAC: "
        b"001b.4411.3ab7 on channel (36) AP name (ward5-ap-corridor)",
        seen(
            "cisco",
            "associated",
            ap_name="ward5-ap-corridor",
            timestamp=at(2026, 12, 7, 19, 58, 13, 1000),
        ),
    ),
    (
        "AireOS APF-3-AUTHENTICATION_TRAP Client Authenticated (LogZilla Cisco WLC app docs)",
        b"<131>WLC001: *apfMsConnTask_0: Sep 06 21:46:20.390: %APF-3-AUTHENTICATION_TRAP: "
        b"apf_80211.c:21442 Client Authenticated: MACAddress:00:1b:44:11:3a:b7 Base Radio "
        b"MAC:18:64:72:aa:bb:cc Slot:1 User Name:xxx\\prov-abcd$ Ip Address:1.2.3.4 SSID:Staff",
        seen("cisco", "associated", ap_mac=BSSID, hostname="WLC001"),
    ),
    (
        "AireOS APF-6-USER_NAME_DELETED (Elastic cisco_aironet test-aironet-messages.log)",
        b"<134>WLC001: *haSSOServiceTask0: Sep 06 21:53:55.930: %APF-6-USER_NAME_DELETED: "
        b"[SS]apf_ms.c:8798 Username entry (WildDogOne) is deleted for mobile 00:1b:44:11:3a:b7",
        SyslogRecord(dialect="cisco", event="disassociated", device=DEVICE, hostname="WLC001"),
    ),
    (
        "ArubaOS controller stm 501100 Assoc success",
        b"<142>Jun  4 14:49:11 Aruba_MD3 stm[30085]: <501100> <30085> <NOTI> <Aruba_MD3 "
        b"10.0.0.2>  Assoc success @ 14:49:11.809533: 00:1b:44:11:3a:b7: AP "
        b"10.1.2.3-18:64:72:aa:bb:cc-ward5-ap-corridor",
        seen(
            "aruba",
            "associated",
            ap_mac=BSSID,
            ap_name="ward5-ap-corridor",
            hostname="Aruba_MD3",
            timestamp=at(2026, 6, 4, 14, 49, 11),
        ),
    ),
    (
        "Aruba Instant stm 501100 Assoc success (|AP name@ip stm|)",
        b"Jun  4 14:49:11 10.1.2.3 stm[2793]:  <501100> <NOTI> |AP ward5-ap-corridor@10.1.2.3 "
        b"stm|  Assoc success @ 14:49:11.804189: 00:1b:44:11:3a:b7: AP "
        b"10.1.2.3-18:64:72:aa:bb:cc-ward5-ap-corridor",
        seen(
            "aruba",
            "associated",
            ap_mac=BSSID,
            ap_name="ward5-ap-corridor",
            hostname="10.1.2.3",
            timestamp=at(2026, 6, 4, 14, 49, 11),
        ),
    ),
    (
        "ArubaOS stm 501105 Deauth from sta",
        b"Jun  4 14:49:11 10.1.2.3 stm[2764]:  <501105> <NOTI> |AP ward5-ap-corridor@10.1.2.3 "
        b"stm|  Deauth from sta: 00:1b:44:11:3a:b7: AP 10.1.2.3-18:64:72:aa:bb:cc-"
        b"ward5-ap-corridor Reason STA has roamed to another AP",
        seen(
            "aruba",
            "disassociated",
            ap_mac=BSSID,
            ap_name="ward5-ap-corridor",
            hostname="10.1.2.3",
            timestamp=at(2026, 6, 4, 14, 49, 11),
        ),
    ),
    (
        "ArubaOS stm 501080 Deauth to sta ... Ageout",
        b"Jun  4 14:49:11 Aruba_MD3 stm[30085]: <501080> <30085> <NOTI> <Aruba_MD3 10.0.0.2>"
        b"  Deauth to sta: 00:1b:44:11:3a:b7: Ageout AP 10.1.2.3-18:64:72:aa:bb:cc-"
        b"ward5-ap-corridor STA has roamed to another AP",
        seen(
            "aruba",
            "disassociated",
            ap_mac=BSSID,
            ap_name="ward5-ap-corridor",
            hostname="Aruba_MD3",
            timestamp=at(2026, 6, 4, 14, 49, 11),
        ),
    ),
    (
        "ArubaOS stm Disassoc from sta",
        b"Jun  4 14:50:02 Aruba_MD3 stm[30085]: <NOTI> <Aruba_MD3 10.0.0.2>"
        b"  Disassoc from sta: 00:1b:44:11:3a:b7: AP 10.1.2.3-18:64:72:aa:bb:cc-ward5-ap-corridor",
        seen(
            "aruba",
            "disassociated",
            ap_mac=BSSID,
            ap_name="ward5-ap-corridor",
            hostname="Aruba_MD3",
            timestamp=at(2026, 6, 4, 14, 50, 2),
        ),
    ),
]


@pytest.mark.parametrize(("source", "line", "record"), GOLDEN, ids=[g[0][:40] for g in GOLDEN])
def test_each_built_in_dialects_published_line_shapes_decode(
    source: str, line: bytes, record: SyslogRecord
) -> None:
    assert read_line(line, DIALECTS, NOW, LONDON) == record, source


# Lines a controller sends that say nothing about a client joining or leaving.
PASSED_OVER = [
    b"<132>WLC001: *dtlArpTask: Sep 06 22:42:10.514: %DTL-4-ARP_ORPHANPKT_DETECTED: "
    b"[PA]dtl_net.c:3174 STA(Target MAC Address) [66:7c:de:ef:d9:18, 0.0.0.0] ARP",
    b"<29>Dec  7 19:58:10 ward5-ap1 hostapd: wlan0: STA 00:1b:44:11:3a:b7 IEEE 802.11: "
    b"associated (aid 1)",
    b"Jun  4 14:49:11 Aruba_MD3 authmgr[3956]: <522008> <5194> <NOTI> User Authentication "
    b"Successful: username=someone MAC=00:1b:44:11:3a:b7 IP=10.9.9.9 AP=ward5 SSID=Staff",
    b"",
]


@pytest.mark.parametrize("line", PASSED_OVER)
def test_lines_of_no_association_shape_are_passed_over(line: bytes) -> None:
    assert read_line(line, DIALECTS, NOW, LONDON) is None


CONNECTED = b"wlan0: AP-STA-CONNECTED 00:1b:44:11:3a:b7"
UNREADABLE = [
    (b"<999>Dec  7 19:58:10 ap1 hostapd: " + CONNECTED, "bad_priority"),
    (b"<29x>Dec  7 19:58:10 ap1 hostapd: " + CONNECTED, "bad_priority"),
    (b"<29>1 2026-13-40T25:00:00Z ap1 hostapd - - - " + CONNECTED, "bad_timestamp"),
    (b"<29>1 2026-12-07T19:58:10 ap1 hostapd - - - " + CONNECTED, "bad_timestamp"),
    (b'<29>1 2026-12-07T19:58:10Z ap1 hostapd - - [x a="1" ' + CONNECTED, "bad_structured_data"),
    (b"<29>1 2026-12-07T19:58:10Z AP-STA-CONNECTED 00:1b:44:11:3a:b7", "bad_header"),
    (b"<29>Feb 30 19:58:10 ap1 hostapd: " + CONNECTED, "bad_timestamp"),
]


@pytest.mark.parametrize(("line", "reason"), UNREADABLE)
def test_unreadable_headers_are_refused_with_their_reason(line: bytes, reason: str) -> None:
    with pytest.raises(HeaderError) as raised:
        read_line(line, DIALECTS, NOW, LONDON)
    assert raised.value.reason == reason


def test_a_december_line_read_in_january_is_last_years() -> None:
    new_year = dt.datetime(2027, 1, 1, 0, 0, 30, tzinfo=dt.UTC)
    header = read_header(b"<29>Dec 31 23:59:58 ap1 hostapd: x", new_year, dt.UTC)
    assert header.timestamp == dt.datetime(2026, 12, 31, 23, 59, 58, tzinfo=dt.UTC)


def test_rfc5424_structured_data_with_escapes_is_skipped() -> None:
    line = (
        b'<29>1 2026-12-07T19:58:10Z ap1 hostapd - - [meta x="a\\]b" y="c d"][o k="v"] '
        b"\xef\xbb\xbfwlan0: AP-STA-CONNECTED 00:1b:44:11:3a:b7"
    )
    header = read_header(line, NOW, dt.UTC)
    assert header.message == b"wlan0: AP-STA-CONNECTED 00:1b:44:11:3a:b7"


def test_no_personal_field_of_a_line_reaches_the_record() -> None:
    line = GOLDEN[6][1]  # AireOS: a user name, a client IP and an SSID in the line
    record = read_line(line, DIALECTS, NOW, LONDON)
    text = msgspec.json.encode(record).decode()
    for personal in ("prov-abcd", "1.2.3.4", "Staff"):
        assert personal not in text


# --- TCP framing (RFC 6587) -------------------------------------------------------------------


def test_octet_counted_and_line_feed_frames_come_out_whole_however_split() -> None:
    first = b"<29>Dec  7 19:58:10 ap1 hostapd: wlan0: AP-STA-CONNECTED 00:1b:44:11:3a:b7"
    second = b"<29>Dec  7 19:58:11 ap1 hostapd: wlan0: AP-STA-DISCONNECTED 00:1b:44:11:3a:b7"
    stream = str(len(first)).encode() + b" " + first + second + b"\r\n" + b"<29>third\n\x00"
    for size in (1, 3, 7, len(stream)):
        framer = StreamFramer(8192)
        frames = [f for i in range(0, len(stream), size) for f in framer.feed(stream[i : i + size])]
        assert frames == [first, second, b"<29>third"], size
        assert framer.rejected == {}


def test_line_framed_chunks_keep_a_message_cut_at_the_chunks_end_for_the_next() -> None:
    framer = StreamFramer(8192)
    assert framer.feed(b"<29>first\r\n<29>sec") == [b"<29>first"]
    assert framer.feed(b"ond\n<29>third\n") == [b"<29>second", b"<29>third"]
    assert framer.feed(b"<29>" + b"z" * 9000 + b"\n<29>fourth\n") == [b"<29>fourth"]
    assert framer.rejected == {"line_too_long": 1}


def test_too_long_and_badly_counted_frames_are_refused_and_the_stream_goes_on() -> None:
    framer = StreamFramer(300)
    good = b"<29>Dec  7 19:58:10 ap1 hostapd: wlan0: AP-STA-CONNECTED 00:1b:44:11:3a:b7"
    stream = (
        b"400 " + b"x" * 400  # counted, but longer than allowed
        + b"<29>" + b"y" * 400 + b"\n"  # a line longer than allowed
        + b"1234567890 nonsense\n"  # a count of more digits than any frame has
        + good + b"\n"
    )  # fmt: skip
    assert framer.feed(stream) == [good]
    assert framer.rejected == {"line_too_long": 2, "bad_framing": 1}


# --- settings ---------------------------------------------------------------------------------


def syslog_settings(**syslog: object) -> SyslogSettings:
    config = parse_config({"plugin": {"wifi": {"syslog": syslog}}})
    from floki_wifi.config import WifiSettings

    return plugin_section(config, "wifi", WifiSettings).syslog


def test_an_extra_dialect_with_a_bad_pattern_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError) as raised:
        syslog_settings(
            dialects=[
                {
                    "name": "meru",
                    "patterns": [
                        {"event": "associated", "regex": r"joined (?P<device>\S+)"},
                        {"event": "associated", "regex": r"roamed (?P<device>[0-9a-f:+)"},
                    ],
                }
            ]
        )
    message = str(raised.value)
    assert "plugin.wifi.syslog.dialects[0]" in message
    assert "dialect 'meru' pattern 2 ('roamed (?P<device>[0-9a-f:+)'): does not compile" in message


def test_an_extra_dialect_without_a_device_group_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"pattern 1 .* has no \(\?P<device>"):
        syslog_settings(
            dialects=[{"name": "meru", "patterns": [{"event": "associated", "regex": "x"}]}]
        )


def test_an_unknown_built_in_dialect_or_time_zone_is_refused() -> None:
    with pytest.raises(ConfigError, match="'meraki' is not a built-in dialect"):
        syslog_settings(enabled_dialects=["hostapd", "meraki"])
    with pytest.raises(ConfigError, match="'Mars/Olympus' is not a time zone"):
        syslog_settings(time_zone="Mars/Olympus")


def test_an_extra_dialect_reads_its_lines_beside_the_built_in_ones() -> None:
    custom = syslog_settings(
        enabled_dialects=["hostapd"],
        dialects=[
            {
                "name": "meru",
                "patterns": [
                    {
                        "event": "associated",
                        "contains": "Station Assign",
                        "regex": r"(?P<device>[0-9a-f:]{17}) \| Station Assign \| "
                        r"AP (?P<ap_name>\S+)",
                    }
                ],
            }
        ],
    )
    dialects = dialects_for(custom)
    assert dialects.names == ("hostapd", "meru")
    record = read_line(
        b"<30>Dec  7 19:58:10 mc1 nms: 00:1b:44:11:3a:b7 | Station Assign | AP ward5-ap",
        dialects,
        NOW,
        LONDON,
    )
    assert record is not None and (record.dialect, record.device, record.ap_name) == (
        "meru",
        DEVICE,
        "ward5-ap",
    )
    aruba = GOLDEN[8][1]
    assert read_line(aruba, dialects, NOW, LONDON) is None  # aruba is not enabled


# --- fuzzing ------------------------------------------------------------------------------------

LINE_PARTS = st.sampled_from(
    [g[1] for g in GOLDEN]
    + [b"<", b">", b"1 ", b"-", b"[", b"]", b"\\", b'"', b"Dec 31 ", b"AP-STA-CONNECTED ", b": "]
)
LINES = st.one_of(
    st.binary(max_size=300),
    st.lists(st.one_of(LINE_PARTS, st.binary(max_size=20)), max_size=8).map(b"".join),
)


@settings(max_examples=80, deadline=None)
@given(LINES)
def test_the_decoder_raises_nothing_but_header_errors(line: bytes) -> None:
    with contextlib.suppress(HeaderError):
        read_line(line, DIALECTS, NOW, LONDON)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=60), max_size=10))
def test_framing_never_raises_and_never_yields_more_than_it_took(chunks: list[bytes]) -> None:
    framer = StreamFramer(256)
    frames = [f for chunk in chunks for f in framer.feed(chunk)]
    assert sum(len(f) for f in frames) <= sum(len(c) for c in chunks)
