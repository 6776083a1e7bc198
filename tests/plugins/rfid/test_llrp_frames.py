"""RO_ACCESS_REPORT frames decoded on the hot path: golden frames built by the LLRP client
library, decoded alike by both decoders; rejected frames named."""

from __future__ import annotations

import pytest
from floki_rfid.llrp_adapter import decode_frame_by_client
from floki_rfid.llrp_frames import decode_frame
from floki_rfid.llrp_reads import BadFrame, TagRead
from llrpkit.protocol import BitStr, impinj, messages, params

from tests.plugins.rfid.llrp_peer import READER_US, tag_report

SGTIN = "3034257BF400B7800004CB2F"
LONG_EPC = "E2801160600002054E9B3C1A0102ABCD"  # 128 bits: EPCData, not EPC-96


def report(*reads: params.TagReportData) -> bytes:
    return messages.RO_ACCESS_REPORT(tag_report_datas=list(reads)).to_bytes(message_id=7)


def impinj_read() -> params.TagReportData:
    read = tag_report(SGTIN, 4, -61)
    read.custom.append(impinj.ImpinjPeakRSSI(rssi=-6050))
    read.custom.append(impinj.ImpinjRFPhaseAngle(phase_angle=1024))
    return read


def bare_read() -> params.TagReportData:
    return params.TagReportData(epc_parameter=params.EPCData(epc=BitStr.from_bytes(b"")))


ACCEPTED = [
    (report(tag_report(SGTIN, 1, -58)), [TagRead(SGTIN, 1, -58.0, READER_US, READER_US, 1)]),
    (
        report(tag_report(LONG_EPC, 2, -70, seen=4), tag_report(SGTIN, None, 12)),
        [
            TagRead(LONG_EPC, 2, -70.0, READER_US, READER_US, 4),
            TagRead(SGTIN, None, 12.0, READER_US, READER_US, 1),
        ],
    ),
    (report(impinj_read()), [TagRead(SGTIN, 4, -60.5, READER_US, READER_US, 1)]),
    (report(bare_read()), [TagRead("", None, None, None, None, 1)]),
    (report(), []),
    (messages.KEEPALIVE().to_bytes(message_id=3), []),
]


@pytest.mark.parametrize(("frame", "reads"), ACCEPTED)
def test_accepted_frames_decode_alike_by_both_decoders(frame: bytes, reads: list[TagRead]) -> None:
    assert decode_frame(frame) == reads
    assert decode_frame_by_client(frame) == reads


GOOD = report(tag_report(SGTIN, 1, -58))

REJECTED = [
    (GOOD[:9], "9 bytes is shorter than an LLRP message header"),
    (GOOD[:-1], f"the header says {len(GOOD)} bytes; the frame has {len(GOOD) - 1}"),
    (GOOD + b"\x00", f"the header says {len(GOOD)} bytes; the frame has {len(GOOD) + 1}"),
    (
        GOOD[:12] + (0xFFFF).to_bytes(2, "big") + GOOD[14:],
        "parameter 240 at byte 10 has a length outside the frame",
    ),
    (
        GOOD[:14] + bytes([0x80 | 0x7E]) + GOOD[15:],
        "unknown TV parameter type 126 at byte 14",
    ),
    (
        GOOD[:10] + bytes([0x81]) + GOOD[11:],
        "a TV parameter at byte 10 of a report: only TLVs belong there",
    ),
]


@pytest.mark.parametrize(("frame", "reason"), REJECTED)
def test_rejected_frames_say_why(frame: bytes, reason: str) -> None:
    with pytest.raises(BadFrame) as refused:
        decode_frame(frame)
    assert str(refused.value) == reason
