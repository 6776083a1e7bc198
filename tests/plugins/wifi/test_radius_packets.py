"""The RADIUS accounting decoder (pure): golden packets it reads and what it reads them
as, packets it refuses and why, and whatever bytes it is given, it answers or refuses."""

from __future__ import annotations

import datetime as dt
import hashlib
import struct

import pytest
from floki_wifi.radius_packets import AccountingRequest, RadiusRefused, dictionary, read_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyrad import packet as radius

from tests.plugins.wifi.radius_nas import SECRET, accounting, response_is_signed, rfc_request

AP = "00-10-A4-23-19-C0"
STAMP = dt.datetime(2026, 1, 5, 8, 59, 40, tzinfo=dt.UTC)


def decoded(request: radius.AcctPacket) -> AccountingRequest:
    return read_request(request.RequestPacket(), SECRET)


# (the packet's status, Calling-Station-Id, Called-Station-Id) -> (status, device, AP, SSID)
ACCEPTED = [
    (("Start", "00-1B-63-84-45-E6", f"{AP}:NHS-Devices"),
     ("start", "00:1B:63:84:45:E6", "00:10:A4:23:19:C0", "NHS-Devices")),
    (("Interim-Update", "001b638445e6", "0010a42319c0"),
     ("interim", "00:1B:63:84:45:E6", "00:10:A4:23:19:C0", None)),
    (("Stop", "00:1b:63:84:45:e6", "00:10:a4:23:19:c0:eduroam"),
     ("stop", "00:1B:63:84:45:E6", "00:10:A4:23:19:C0", "eduroam")),
    (("Start", "001b.6384.45e6", "0010.a423.19c0:Ward 5 Devices"),
     ("start", "00:1B:63:84:45:E6", "00:10:A4:23:19:C0", "Ward 5 Devices")),
    (("Start", "07700900123", "wlc-ward5"),  # a phone number and a controller's name
     ("start", None, None, None)),
    (("Start", "00-1B-63-84-45-E6", f"{AP}:"),  # an empty SSID
     ("start", "00:1B:63:84:45:E6", "00:10:A4:23:19:C0", None)),
    (("Accounting-On", None, None), ("nas_restarted", None, None, None)),
    (("Accounting-Off", None, None), ("nas_restarted", None, None, None)),
    (("Failed", "00-1B-63-84-45-E6", AP),
     ("Failed", "00:1B:63:84:45:E6", "00:10:A4:23:19:C0", None)),
]  # fmt: skip


@pytest.mark.parametrize(("sent", "read"), ACCEPTED)
def test_accepted_packets_are_read_as_the_status_device_and_access_point_they_name(
    sent: tuple[str, str | None, str | None], read: tuple[str, str | None, str | None, str | None]
) -> None:
    found = decoded(accounting(*sent))
    assert (found.status, found.device, found.access_point, found.ssid) == read


def test_the_nas_times_are_read_and_nothing_personal_is_kept() -> None:
    request = accounting(
        "Start",
        "00-1B-63-84-45-E6",
        AP,
        at=STAMP,
        Acct_Delay_Time=7,
        User_Name="alice.smith@nhs.net",
        Framed_IP_Address="10.44.1.23",
        Acct_Session_Id="4E3A0F12",
        Class=b"staff-vlan",
        NAS_IP_Address="10.20.0.11",
    )
    found = decoded(request)
    assert (found.event_at, found.delay_seconds, found.nas) == (STAMP, 7, "10.20.0.11")
    # The struct has no field a user name, an address or a session could be kept in ...
    assert set(AccountingRequest.__struct_fields__) == {
        "identifier", "authenticator", "status", "device", "access_point", "ssid",
        "event_at", "delay_seconds", "nas", "reply",
    }  # fmt: skip
    # ... and none of them holds one.
    for personal in ("alice", "10.44.1.23", "4E3A0F12", "staff-vlan"):
        assert personal not in repr(found)


def test_the_answer_is_an_accounting_response_signed_as_rfc_2866_section_4_says() -> None:
    request = accounting("Interim-Update", "00-1B-63-84-45-E6", AP, Proxy_State=b"hop-1")
    datagram = request.RequestPacket()
    answer = read_request(datagram, SECRET).reply
    assert response_is_signed(datagram, answer, SECRET)
    assert b"hop-1" in answer  # Proxy-State goes back to the proxy (RFC 2865 section 5.33)


def test_a_packet_built_octet_by_octet_is_read_like_pyrads() -> None:
    datagram = rfc_request(
        0x2A,
        SECRET,
        [
            (40, struct.pack("!I", 1)),
            (1, b"pump-0042"),
            (31, b"00-1B-63-84-45-E6"),
            (30, f"{AP}:AP1".encode()),
            (55, struct.pack("!I", int(STAMP.timestamp()))),
        ],
    )
    found = read_request(datagram, SECRET)
    assert (found.identifier, found.status, found.device, found.access_point, found.ssid) == (
        0x2A,
        "start",
        "00:1B:63:84:45:E6",
        "00:10:A4:23:19:C0",
        "AP1",
    )
    assert found.event_at == STAMP
    assert response_is_signed(datagram, found.reply, SECRET)


def test_a_request_with_a_right_message_authenticator_is_read() -> None:
    request = accounting("Start", "00-1B-63-84-45-E6", AP)
    request.message_authenticator = True  # RFC 2869 section 5.14, as some NASes add it
    datagram = request.RequestPacket()
    assert datagram[20] == 80  # the Message-Authenticator, first
    assert read_request(datagram, SECRET).device == "00:1B:63:84:45:E6"


def test_a_status_type_the_dictionary_does_not_name_is_read_as_its_number() -> None:
    tunnel_start = rfc_request(3, SECRET, [(40, struct.pack("!I", 9))])
    assert read_request(tunnel_start, SECRET).status == "9"


def test_a_status_server_with_its_message_authenticator_is_answered() -> None:
    ping = radius.AcctPacket(code=radius.StatusServer, secret=SECRET, dict=dictionary())
    datagram = ping.RequestPacket()
    found = read_request(datagram, SECRET)
    assert found.status == "status_server"
    reply = ping.CreateReply(packet=found.reply)
    assert ping.VerifyReply(reply, found.reply)


def _resigned(datagram: bytes) -> bytes:
    """``datagram`` with its Request Authenticator computed again, as a NAS would."""
    header = datagram[:4]
    return (
        header + hashlib.md5(header + bytes(16) + datagram[20:] + SECRET).digest() + (datagram[20:])
    )


GOOD = accounting("Start", "00-1B-63-84-45-E6", AP).RequestPacket()
REFUSED = [
    (b"", "bad_packet"),
    (GOOD[:19], "bad_packet"),
    (GOOD[:2] + struct.pack("!H", len(GOOD) + 10) + GOOD[4:], "bad_packet"),  # Length too long
    (GOOD[:20] + b"\x28\x01", "bad_packet"),  # an attribute of length 1
    (accounting("Start", "00-1B-63-84-45-E6", AP, secret=b"other").RequestPacket(),
     "bad_authenticator"),
    (GOOD[:-1] + bytes([GOOD[-1] ^ 0x20]), "bad_authenticator"),  # changed on the way
    (radius.AuthPacket(secret=SECRET, dict=dictionary(), User_Name="x").RequestPacket(),
     "not_accounting"),
    (rfc_request(1, SECRET, [(40, b"\x00\x01")]), "bad_attribute"),  # a 2-octet integer
    (rfc_request(1, SECRET, [(31, b"00-1B-63-84-45-E6")]), "bad_attribute"),  # no status
    (rfc_request(1, SECRET, [(40, struct.pack("!I", 1)), (55, b"\x01")]), "bad_attribute"),
    (_resigned(rfc_request(1, SECRET, [(40, struct.pack("!I", 1)), (80, bytes(16))])),
     "bad_authenticator"),  # a Message-Authenticator that is not the HMAC
]  # fmt: skip


# Named by position and reason: the packets carry random authenticators, and every test
# worker must collect the same ids.
@pytest.mark.parametrize(
    ("datagram", "reason"),
    REFUSED,
    ids=[f"{number}-{reason}" for number, (_, reason) in enumerate(REFUSED)],
)
def test_refused_packets_are_refused_with_their_reason(datagram: bytes, reason: str) -> None:
    with pytest.raises(RadiusRefused) as refused:
        read_request(datagram, SECRET)
    assert refused.value.reason == reason


def _signed(code: int, identifier: int, body: bytes) -> bytes:
    header = struct.pack("!BBH", code, identifier, 20 + len(body))
    return header + hashlib.md5(header + bytes(16) + body + SECRET).digest() + body


_ATTRIBUTE = st.builds(
    lambda kind, value: bytes([kind, len(value) + 2]) + value,
    st.sampled_from([1, 4, 8, 26, 30, 31, 33, 40, 41, 44, 55, 80, 95, 200]),
    st.binary(max_size=40),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=300),
        st.builds(
            _signed,
            st.sampled_from([4, 4, 4, 12, 1, 5]),
            st.integers(0, 255),
            st.lists(_ATTRIBUTE, max_size=8).map(b"".join),
        ),
    )
)
def test_any_bytes_are_read_or_refused_never_anything_else(datagram: bytes) -> None:
    try:
        found = read_request(datagram, SECRET)
    except RadiusRefused as refused:
        assert refused.reason in {
            "bad_packet",
            "not_accounting",
            "bad_authenticator",
            "bad_attribute",
        }
    else:
        assert response_is_signed(datagram, found.reply, SECRET)
