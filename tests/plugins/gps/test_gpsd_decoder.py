"""gpsd's JSON reports read into fixes. The golden reports are the examples of gpsd_json(5)
(https://gpsd.gitlab.io/gpsd/gpsd_json.html)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json

import pytest
from floki_gps.gpsd import GpsdError, decode_report
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
TPV = (
    b'{"class":"TPV","device":"/dev/pts/1","time":"2005-06-08T10:34:48.283Z","ept":0.005,'
    b'"lat":46.498293369,"lon":7.567411672,"alt":1343.127,"eph":36.000,"epv":32.321,'
    b'"track":10.3788,"speed":0.091,"climb":-0.085,"mode":3}'
)
IGNORED = [
    b'{"class":"VERSION","release":"2.40dev","rev":"06f62e14eae9886cde907dae61c124c53eb1101f",'
    b'"proto_major":3,"proto_minor":1}',
    b'{"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev/pts/1","flags":1,'
    b'"driver":"SiRF binary"}]}',
    b'{"class":"WATCH","enable":true,"json":true,"nmea":false,"raw":0,"scaled":false,'
    b'"timing":false,"split24":false,"pps":false}',
    b'{"class":"SKY","device":"/dev/pts/1","time":"2005-07-08T11:28:07.114Z","xdop":1.55,'
    b'"hdop":1.24,"satellites":[{"PRN":23,"el":6,"az":84,"ss":0,"used":false}]}',
    b'{"class":"TPV","device":"/dev/pts/1","mode":1}',  # no fix
    b'{"class":"TPV","device":"/dev/pts/1","mode":2,"time":"2005-06-08T10:34:48Z"}',
]


def test_a_3d_tpv_is_a_fix_with_its_time_accuracy_speed_and_altitude() -> None:
    fix = decode_report(TPV, device="", now=NOW)
    assert fix is not None
    assert (fix.device, fix.protocol) == ("/dev/pts/1", "gpsd")
    assert fix.at == dt.datetime(2005, 6, 8, 10, 34, 48, 283000, tzinfo=dt.UTC)
    assert (fix.lat, fix.lon, fix.accuracy_m) == (46.498293369, 7.567411672, 36.0)
    assert fix.speed_kmh == pytest.approx(0.3276)
    assert (fix.course_deg, fix.altitude_m) == (10.3788, 1343.127)


def test_the_configured_device_names_the_tracker_and_epx_epy_give_accuracy() -> None:
    report = json.loads(TPV)
    del report["eph"]
    report.update(epx=8.5, epy=12.0, mode=2)
    fix = decode_report(json.dumps(report), device="HUB-GPS", now=NOW)
    assert fix is not None
    assert (fix.device, fix.accuracy_m, fix.altitude_m) == ("HUB-GPS", 12.0, None)


@pytest.mark.parametrize("line", IGNORED)
def test_reports_without_a_fix_are_ignored(line: bytes) -> None:
    assert decode_report(line, device="", now=NOW) is None


@pytest.mark.parametrize(
    ("line", "counted_as"),
    [
        (b"{not json", "bad_json"),
        (b"[1,2]", "bad_json"),
        (TPV.replace(b'"lat":46.498293369', b'"lat":146.4'), "bad_report"),
        (TPV.replace(b'"lat":46.498293369', b'"lat":"north"'), "bad_report"),
        (TPV.replace(b"2005-06-08T10:34:48.283Z", b"noon"), "bad_report"),
        (TPV.replace(b'"device":"/dev/pts/1",', b""), "no_device"),
    ],
)
def test_a_bad_report_is_refused_with_its_reason(line: bytes, counted_as: str) -> None:
    with pytest.raises(GpsdError) as refused:
        decode_report(line, device="", now=NOW)
    assert refused.value.counted_as == counted_as


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=5,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=100),
        st.dictionaries(
            st.sampled_from(["class", "mode", "time", "lat", "lon", "eph", "epx", "epy",
                             "speed", "track", "alt", "altHAE", "device"]),
            JSON,
        ).map(lambda d: json.dumps({"class": "TPV", **d}).encode()),
    )
)  # fmt: skip
def test_any_line_is_read_or_refused_with_the_declared_error(line: bytes) -> None:
    with contextlib.suppress(GpsdError):
        decode_report(line, device="", now=NOW)
