"""What a tracker worker process (``tcp_worker``) and the appliance say to each other,
as msgpack over the worker's channel.

worker -> appliance
  ``Open``     a connection arrived: may it stay? (the connection cap is the appliance's,
               shared with every tracker protocol's listener)
  ``Ask``      a tracker logged in: is it registered? (the appliance's register decides,
               with every spelling of the id, exactly as in-process)
  ``Batch``    the packets decoded since the last batch, the refusals counted, the
               trackers that hung up and how many admitted connections have ended

appliance -> worker
  ``Answer``   the answer to an ``Open`` (``kind`` "open") or an ``Ask`` ("login")
  ``Taken``    a batch is in the core: its packets may now be acknowledged to the trackers
"""

from __future__ import annotations

from typing import TypeAlias

import msgspec

from floki_gps.fixes import Fix

__all__ = ["Answer", "Ask", "Batch", "FromWorker", "Open", "Taken", "ToWorker"]


class Open(msgspec.Struct, tag="open", array_like=True, gc=False):
    connection: int  # the worker's number for the connection


class Ask(msgspec.Struct, tag="ask", array_like=True, gc=False):
    connection: int  # the worker's number for the connection
    device: str
    peer: str


class Answer(msgspec.Struct, tag="answer", array_like=True, gc=False):
    connection: int
    kind: str  # "open": the connection may stay; "login": the tracker is registered
    yes: bool


class Batch(msgspec.Struct, tag="batch", array_like=True, gc=False):
    seq: int  # 1, 2, 3 ... per worker process
    # (peer, the packet's fixes): a packet's fixes are all one tracker's
    packets: list[tuple[str, list[Fix]]]
    rejected: dict[str, int]
    hung_up: list[str]  # trackers (logged in) whose connection ended
    ended: int  # connections admitted by an ``Open`` that have ended


class Taken(msgspec.Struct, tag="taken", array_like=True, gc=False):
    seq: int


FromWorker: TypeAlias = Open | Ask | Batch
ToWorker: TypeAlias = Answer | Taken

ENCODER = msgspec.msgpack.Encoder()
FROM_WORKER = msgspec.msgpack.Decoder(FromWorker)
TO_WORKER = msgspec.msgpack.Decoder(ToWorker)
