"""The framed channel between the appliance and a worker process, over a real
socketpair: frames arrive whole and in order however the bytes are cut, and a frame its
reader cannot take ends the link instead of being taken twice or skipped."""

from __future__ import annotations

import asyncio
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floki_core.sdk import ChannelClosed, FrameChannel, open_channel


async def _pair(received: list[bytes]) -> tuple[socket.socket, FrameChannel]:
    ours, theirs = socket.socketpair()
    channel = await open_channel(ours, received.append)
    return theirs, channel


@settings(max_examples=60, deadline=None)
@given(
    frames=st.lists(st.binary(max_size=300), max_size=12),
    cuts=st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=20),
)
def test_frames_arrive_whole_and_in_order_however_the_bytes_are_cut(
    frames: list[bytes], cuts: list[int]
) -> None:
    async def run() -> list[bytes]:
        received: list[bytes] = []
        theirs, channel = await _pair(received)
        stream = b"".join(len(f).to_bytes(4, "big") + f for f in frames)
        theirs.setblocking(False)
        loop = asyncio.get_running_loop()
        at, i = 0, 0
        while at < len(stream):
            size = cuts[i % len(cuts)]
            await loop.sock_sendall(theirs, stream[at : at + size])
            at, i = at + size, i + 1
        for _ in range(200):
            if len(received) == len(frames):
                break
            await asyncio.sleep(0.005)
        theirs.close()
        channel.close()
        return received

    assert asyncio.run(run()) == frames


async def test_a_frame_the_reader_cannot_take_ends_the_link() -> None:
    taken: list[bytes] = []

    def take(frame: bytes) -> None:
        if frame == b"bad":
            raise ValueError("not a message of ours")
        taken.append(frame)

    ours, theirs = socket.socketpair()
    channel = await open_channel(ours, take)
    theirs.sendall(b"".join(len(f).to_bytes(4, "big") + f for f in (b"one", b"bad", b"two")))
    await asyncio.wait_for(channel.closed, 5)
    assert taken == [b"one"]  # never the frames after it, never one twice
    with pytest.raises(ChannelClosed):
        channel.send(b"three")
    theirs.close()


async def test_a_frame_longer_than_any_of_ours_ends_the_link() -> None:
    ours, theirs = socket.socketpair()
    channel = await open_channel(ours, lambda frame: None)
    theirs.sendall((2**31).to_bytes(4, "big") + b"x")
    await asyncio.wait_for(channel.closed, 5)
    theirs.close()
