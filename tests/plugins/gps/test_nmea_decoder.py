"""NMEA 0183 sentences read into fixes.

The golden sentences are the worked examples of the NMEA reference pages receiver
makers and gpsd point to (Dale DePriest, "NMEA data", gpsinformation.org/dale/nmea.htm;
gpsd's "NMEA Revealed", gpsd.gitlab.io/gpsd/NMEA.html): the same fix at 12:35:19 UTC on
23 March 1994 as RMC and GGA, and a GLL.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from floki_gps.nmea import NmeaError, NmeaReader, read_sentence
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.plugins.gps.conftest import nmea_sentence

RMC = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n"
GGA = b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n"
GLL = b"$GPGLL,4916.45,N,12311.12,W,225444,A,*1D\r\n"
GSV = b"$GPGSV,2,1,08,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45*75\r\n"
NOW = dt.datetime(1994, 3, 23, 12, 35, 20, tzinfo=dt.UTC)
AT = dt.datetime(1994, 3, 23, 12, 35, 19, tzinfo=dt.UTC)


def test_rmc_and_gga_of_one_cycle_make_one_fix_with_the_fields_of_both() -> None:
    reader = NmeaReader("VAN-1")
    assert reader.feed(GGA, NOW) == []  # waits for the RMC of the same second
    (fix,) = reader.feed(RMC, NOW)
    assert (fix.device, fix.protocol, fix.at) == ("VAN-1", "nmea", AT)
    assert fix.lat == pytest.approx(48.1173)
    assert fix.lon == pytest.approx(11.516667)
    assert fix.speed_kmh == pytest.approx(22.4 * 1.852)
    assert (fix.course_deg, fix.hdop, fix.satellites, fix.altitude_m) == (84.4, 0.9, 8, 545.4)


def test_other_sentences_of_the_cycle_are_ignored_and_stragglers_make_no_second_fix() -> None:
    reader = NmeaReader("VAN-1")
    assert reader.feed(RMC, NOW) == []
    assert reader.feed(GSV, NOW) == []
    assert len(reader.feed(GGA, NOW)) == 1
    gll = nmea_sentence("GPGLL,4807.038,N,01131.000,E,123519,A,")
    assert reader.feed(gll, NOW) == []  # late in the same second
    assert reader.flush(NOW) == []


def test_a_cycle_sent_again_is_the_same_fix_again_for_the_core_to_recognise() -> None:
    reader = NmeaReader("VAN-1")
    (first,) = reader.feed(GGA, NOW) + reader.feed(RMC, NOW)
    (again,) = reader.feed(GGA, NOW) + reader.feed(RMC, NOW)
    assert again == first


def test_an_rmc_alone_is_a_fix_once_the_next_second_starts_or_the_batch_is_handed_over() -> None:
    reader = NmeaReader("VAN-1")
    assert reader.feed(RMC, NOW) == []
    later = nmea_sentence("GPRMC,123520,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W")
    (first,) = reader.feed(later, NOW)
    assert first.at == AT and first.hdop is None
    (second,) = reader.flush(NOW)
    assert second.at == AT + dt.timedelta(seconds=1)


def test_a_gga_alone_takes_the_date_of_the_last_rmc_or_of_today() -> None:
    reader = NmeaReader("VAN-1")
    reader.feed(GGA, NOW)
    (fix,) = reader.flush(NOW)
    assert fix.at == AT  # no RMC yet: today's date, by the appliance's clock
    just_after_midnight = dt.datetime(1994, 3, 24, 0, 0, 5, tzinfo=dt.UTC)
    reader = NmeaReader("VAN-1")
    reader.feed(nmea_sentence("GPGGA,235959,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),
                just_after_midnight)  # fmt: skip
    (fix,) = reader.flush(just_after_midnight)
    assert fix.at == dt.datetime(1994, 3, 23, 23, 59, 59, tzinfo=dt.UTC)


def test_a_gll_is_a_position_without_the_extras() -> None:
    reader = NmeaReader("VAN-1")
    reader.feed(GLL, dt.datetime(2026, 1, 5, 23, 0, tzinfo=dt.UTC))
    (fix,) = reader.flush(dt.datetime(2026, 1, 5, 23, 0, tzinfo=dt.UTC))
    assert fix.lat == pytest.approx(49.274167) and fix.lon == pytest.approx(-123.185333)
    assert fix.at == dt.datetime(2026, 1, 5, 22, 54, 44, tzinfo=dt.UTC)


def test_a_void_rmc_or_a_gga_without_a_fix_is_no_position() -> None:
    reader = NmeaReader("VAN-1")
    void = nmea_sentence("GPRMC,123519,V,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W")
    assert reader.feed(void, NOW) == []
    assert reader.feed(GGA, NOW) == []  # the cycle is void as a whole
    no_fix = nmea_sentence("GPGGA,123520,,,,,0,00,99.99,,,,,,")
    assert reader.feed(no_fix, NOW) == []
    assert reader.flush(NOW) == []
    assert reader.feed(nmea_sentence("GPRMC,,V,,,,,,,,,,N"), NOW) == []  # no time yet


@pytest.mark.parametrize(
    ("line", "counted_as"),
    [
        (RMC.replace(b"*6A", b""), "bad_checksum"),
        (RMC.replace(b"*6A", b"*6B"), "bad_checksum"),
        (GGA.replace(b"545.4", b"545.5"), "bad_checksum"),
        (b"hello receiver\r\n", "bad_sentence"),
        (b"\xb5b\x01\x07\x5c\x00", "bad_sentence"),  # a u-blox UBX frame, not text
        (nmea_sentence("GPRMC,123519,A,9907.038,N,01131.000,E,022.4,084.4,230394,,"),
         "bad_sentence"),
        (nmea_sentence("GPGGA,123519,4807.038,N,01131.000,E,x,08,0.9,545.4,M,46.9,M,,"),
         "bad_sentence"),
    ],
)  # fmt: skip
def test_a_bad_line_is_refused_with_its_reason_and_the_cycle_survives(
    line: bytes, counted_as: str
) -> None:
    reader = NmeaReader("VAN-1")
    reader.feed(GGA, NOW)
    with pytest.raises(NmeaError) as refused:
        reader.feed(line, NOW)
    assert refused.value.counted_as == counted_as
    assert refused.value.reason
    assert len(reader.feed(RMC, NOW)) == 1


SENTENCE_BODIES = st.builds(
    lambda talker, fields: talker + "," + ",".join(fields),
    st.sampled_from(["GPRMC", "GPGGA", "GPGLL", "GNRMC", "GPGSV", "PUBX"]),
    st.lists(st.one_of(st.text(alphabet="0123456789.NSEWAV-", max_size=12), st.text(max_size=5)),
             max_size=14),
)  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=120),
        st.text(max_size=120),
        SENTENCE_BODIES.map(nmea_sentence),
        SENTENCE_BODIES.map(lambda b: ("$" + b + "*00").encode("utf-8", "replace")),
    )
)
def test_any_line_is_read_or_refused_with_the_declared_error(line: bytes | str) -> None:
    with contextlib.suppress(NmeaError):
        read_sentence(line)
    reader = NmeaReader("X")
    with contextlib.suppress(NmeaError):
        reader.feed(line, NOW)
    reader.flush(NOW)
