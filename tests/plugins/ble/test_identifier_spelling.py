"""The BLE decoders, ESPresense ids, gateways' own beacon fields and the register agree on
one spelling per tag: for any beacon identity, what the decoder reports, what ESPresense
or a Minew gateway reports and what a person types (any case, any grouping) normalise to
the same identifier value.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from floki_ble.decoders import Beacon, decode_advertisement
from floki_ble.espresense import Identity, espresense_identity
from floki_ble.stated_fields import Stated, read_stated
from floki_core.schemas import identifier_problem, normalise_identifier

u16 = st.integers(min_value=0, max_value=0xFFFF)
EXAMPLES = settings(max_examples=150, deadline=None)


def _uuid(raw: bytes) -> str:
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _decoded(advert: bytes, mac: str | None = None) -> str:
    beacon = decode_advertisement(advert, mac)
    assert isinstance(beacon, Beacon) and beacon.identity is not None, beacon
    return beacon.identity


@EXAMPLES
@given(uuid=st.binary(min_size=16, max_size=16), major=u16, minor=u16)
def test_ibeacon_spellings_agree(uuid: bytes, major: int, minor: int) -> None:
    frame = b"\x4c\x00\x02\x15" + uuid + major.to_bytes(2, "big") + minor.to_bytes(2, "big")
    advert = b"\x02\x01\x06" + bytes([len(frame) + 2, 0xFF]) + frame + b"\xc5"
    decoded = _decoded(advert)
    typed = (
        decoded,
        f"{_uuid(uuid)}:{major}:{minor}",
        f"{uuid.hex().upper()}:{major:05d}:{minor}",
        f" {{{_uuid(uuid)}}}/{major}/{minor} ",
        f"iBeacon:{_uuid(uuid)}-{major}-{minor}",
    )
    assert {normalise_identifier("ibeacon", t) for t in typed} == {decoded}
    espresense = espresense_identity(f"iBeacon:{_uuid(uuid)}-{major}-{minor}")
    assert espresense == Identity("ibeacon", decoded)
    # A Minew gateway's own fields, numbers as text as some firmware sends them.
    fields = {"ibeaconUuid": uuid.hex(), "ibeaconMajor": str(major), "ibeaconMinor": minor}
    stated = read_stated(fields)
    assert isinstance(stated, Stated) and stated.identity == ("ibeacon", decoded)


@EXAMPLES
@given(beacon_id=st.binary(min_size=20, max_size=20), company=u16)
def test_altbeacon_spellings_agree(beacon_id: bytes, company: int) -> None:
    frame = company.to_bytes(2, "little") + b"\xbe\xac" + beacon_id + b"\xc5\x00"
    advert = bytes([len(frame) + 1, 0xFF]) + frame
    decoded = _decoded(advert)
    major = int.from_bytes(beacon_id[16:18], "big")
    minor = int.from_bytes(beacon_id[18:20], "big")
    espresense_id = f"altBeacon:{_uuid(beacon_id[:16])}-{major}-{minor}"
    h = beacon_id.hex()
    typed = (decoded, h, "-".join(h[i : i + 4] for i in range(0, 40, 4)), espresense_id)
    assert {normalise_identifier("altbeacon", t) for t in typed} == {decoded}
    assert espresense_identity(espresense_id) == Identity("altbeacon", decoded)


@EXAMPLES
@given(namespace=st.binary(min_size=10, max_size=10), instance=st.binary(min_size=6, max_size=6))
def test_eddystone_spellings_agree(namespace: bytes, instance: bytes) -> None:
    service = b"\xaa\xfe\x00\xeb" + namespace + instance
    advert = b"\x03\x03\xaa\xfe" + bytes([len(service) + 1, 0x16]) + service
    decoded = _decoded(advert)
    ns, inst = namespace.hex(), instance.hex()
    typed = (decoded, f"{ns}:{inst}", f"{ns}-{inst}", ns + inst, f"eddy:{ns}-{inst}")
    assert {normalise_identifier("eddystone", t) for t in typed} == {decoded}
    assert espresense_identity(f"eddy:{ns}-{inst}") == Identity("eddystone", decoded)
    stated = read_stated({"eddystone_namespace": ns.upper(), "EddystoneInstanceId": inst})
    assert isinstance(stated, Stated) and stated.identity == ("eddystone", decoded)


@EXAMPLES
@given(address=st.binary(min_size=6, max_size=6))
def test_mac_spellings_agree(address: bytes) -> None:
    h = address.hex()
    pairs = [h[i : i + 2] for i in range(0, 12, 2)]
    typed = (h, h.upper(), ":".join(pairs), "-".join(pairs).upper(), f"{h[:4]}.{h[4:8]}.{h[8:]}")
    # A tag without a beacon frame is named by the MAC its gateway reports, however spelled.
    decoded = {_decoded(b"\x02\x01\x06", mac) for mac in typed[:4]}
    assert len(decoded) == 1
    assert {normalise_identifier("ble", t) for t in (*typed, *decoded)} == decoded
    # Every way a gateway or a person writes a MAC is one the register accepts.
    assert [identifier_problem("ble", t) for t in (*typed, *decoded)] == [None] * 6
    # ESPresense reports a plain MAC as 12 lower-case digits.
    assert espresense_identity(h) == Identity("ble", decoded.pop())
