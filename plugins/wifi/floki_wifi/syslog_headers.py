"""Syslog headers: RFC 5424 (``<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG``) and the
older RFC 3164 (``<PRI>Mmm dd hh:mm:ss HOST TAG: MSG``), as access points and controllers
send them.

Pure: bytes in, a ``Header`` out, or ``HeaderError`` naming the reason it is counted
under. Lenient where real senders are: the priority may be missing (RFC 3164 4.3.3), a
Cisco controller may send ``<134>WLC001: *task: ...`` with no timestamp in the header
(the record then has none: the appliance's clock stands in), and a Cisco IOS XE
timestamp may carry a year and milliseconds (``Jul 23 2024 14:31:54.468``).

An RFC 3164 timestamp has no year and no zone: the year is the appliance's (the one
before, for a December line read in January) and the zone the configured one.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

__all__ = ["Header", "HeaderError", "read_header"]

MAX_PRIORITY = 191  # facility 23, severity 7
# A line dated more than this ahead of the appliance's clock is taken as last year's.
FUTURE_SLACK = dt.timedelta(days=1)
MONTHS = {m: i for i, m in enumerate(b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_RFC3164_TIME = re.compile(
    rb"\*?(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2})(?: (?P<year>\d{4}))? "
    rb"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:\.(?P<frac>\d{1,6}))?(?: [A-Z]{3,4})?:? "
)
_SD_END = re.compile(rb"\](?= |\[|$)")


class HeaderError(ValueError):
    """A header that cannot be read; ``reason`` is what it is counted as."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Header:
    priority: int | None
    timestamp: dt.datetime | None  # aware; None: the record carries no time
    hostname: str  # "" when the sender gives none
    message: bytes  # what follows the header (RFC 3164: the tag and content)


def read_header(line: bytes, now: dt.datetime, zone: dt.tzinfo) -> Header:
    """The header of one syslog message (no framing, no trailing newline). ``now`` is
    the appliance's clock (aware) and ``zone`` the time zone of RFC 3164 timestamps."""
    priority: int | None = None
    rest = line
    if rest[:1] == b"<":
        end = rest.find(b">", 1, 5)
        digits = rest[1:end] if end > 0 else b""
        if not digits.isdigit() or int(digits) > MAX_PRIORITY:
            raise HeaderError("bad_priority")
        priority = int(digits)
        rest = rest[end + 1 :]
    if rest[:2] == b"1 ":
        return _rfc5424(priority, rest[2:])
    return _rfc3164(priority, rest, now, zone)


def _rfc5424(priority: int | None, rest: bytes) -> Header:
    parts = rest.split(b" ", 5)
    if len(parts) < 6:
        raise HeaderError("bad_header")
    stamp, host, _app, _procid, _msgid, tail = parts
    timestamp = None
    if stamp != b"-":
        try:
            timestamp = dt.datetime.fromisoformat(stamp.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise HeaderError("bad_timestamp") from None
        if timestamp.tzinfo is None:
            raise HeaderError("bad_timestamp")  # RFC 5424 requires the offset
    if tail[:1] == b"-":
        message = tail[2:]
    elif tail[:1] == b"[":
        at = 0
        while tail[at : at + 1] == b"[":
            end = _sd_element_end(tail, at)
            if end < 0:
                raise HeaderError("bad_structured_data")
            at = end + 1
        message = tail[at + 1 :]
    else:
        raise HeaderError("bad_structured_data")
    if message[:3] == b"\xef\xbb\xbf":
        message = message[3:]  # the BOM RFC 5424 puts before a UTF-8 message
    hostname = "" if host == b"-" else host.decode("utf-8", "replace")
    return Header(priority, timestamp, hostname, message)


def _sd_element_end(data: bytes, start: int) -> int:
    """Index of the ``]`` closing the element at ``start``, skipping escaped ``\\]``
    and ``]`` inside quoted values; -1 if it never closes."""
    quoted = False
    at = start + 1
    size = len(data)
    while at < size:
        byte = data[at]
        if byte == 0x5C:  # backslash: the next byte is taken as it is
            at += 2
            continue
        if byte == 0x22:
            quoted = not quoted
        elif byte == 0x5D and not quoted:
            return at
        at += 1
    return -1


def _rfc3164(priority: int | None, rest: bytes, now: dt.datetime, zone: dt.tzinfo) -> Header:
    found = _RFC3164_TIME.match(rest)
    if found is None:
        # No timestamp: "WLC001: *task: ..." (a controller) or bare content.
        token, space, tail = rest.partition(b" ")
        if space and token.endswith(b":") and len(token) > 1:
            if token[:-1].isdigit() and _RFC3164_TIME.match(tail):
                # Cisco IOS XE: a sequence number, then the timestamp.
                return _rfc3164(priority, tail, now, zone)
            return Header(priority, None, token[:-1].decode("utf-8", "replace"), tail)
        return Header(priority, None, "", rest)
    month = MONTHS.get(found["mon"])
    if month is None:
        raise HeaderError("bad_timestamp")
    frac = found["frac"] or b""
    micro = int(frac.ljust(6, b"0")) if frac else 0
    local_now = now.astimezone(zone)
    year = int(found["year"]) if found["year"] else local_now.year
    try:
        timestamp = dt.datetime(
            year,
            month,
            int(found["day"]),
            int(found["h"]),
            int(found["m"]),
            int(found["s"]),
            micro,
            tzinfo=zone,
        )
        if found["year"] is None and timestamp - local_now > FUTURE_SLACK:
            timestamp = timestamp.replace(year=year - 1)
    except ValueError:
        raise HeaderError("bad_timestamp") from None
    tail = rest[found.end() :]
    host, space, message = tail.partition(b" ")
    if not space or host.endswith(b":"):
        # No host name: the tag follows the timestamp directly.
        return Header(priority, timestamp, "", tail)
    return Header(priority, timestamp, host.decode("utf-8", "replace"), message)
