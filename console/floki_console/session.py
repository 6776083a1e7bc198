"""A signed-in connection to one appliance, as the window sees it: live events, and whether
the appliance is there at all.

The live-event WebSocket doubles as the heartbeat. When it drops the session goes offline,
says why and when it will try again, and reconnects with backoff; views keep what they
show and what the user typed, and reload once the appliance is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from floki_console.api import (
    ApiError,
    ApplianceClient,
    ApplianceUnreachable,
    Backoff,
    CertificateMismatch,
    ConsoleError,
    Unauthorized,
)

log = logging.getLogger(__name__)


class ApplianceSession(QObject):
    """Owns the client of one signed-in appliance until :meth:`close`."""

    events_arrived = Signal(list)  # one batch of event dicts, in the appliance's order
    online_changed = Signal(bool)
    offline_status = Signal(str)  # what the offline banner says: why, and what happens next
    reconnected = Signal()  # back after being offline: views reload
    ended = Signal(str)  # cannot go on (session revoked or expired, certificate changed)

    def __init__(
        self,
        client: ApplianceClient,
        *,
        site: str,
        version: str,
        user: dict[str, Any],
        backoff: Backoff | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.client = client
        self.site = site
        self.version = version
        self.user = user
        self.backoff = backoff or Backoff()
        self.online = False
        self.reason = ""
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False
        self._was_offline = False

    @property
    def address(self) -> str:
        return str(self.client.address)

    @property
    def username(self) -> str:
        return str(self.user.get("username", ""))

    @property
    def role(self) -> str:
        return str(self.user.get("role") or "")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def retry_now(self) -> None:
        """Skip the rest of the wait and try to reconnect at once."""
        self._wake.set()

    def report_unreachable(self, exc: ApplianceUnreachable) -> None:
        """A view's request found the appliance gone; the event stream will notice too,
        but this says so at once."""
        if self.online and not self._closing:
            self._set_offline(str(exc), None)

    async def close(self, *, revoke: bool = False) -> None:
        """Stop listening; with ``revoke`` also revoke the token on the appliance."""
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        try:
            if revoke:
                with contextlib.suppress(ConsoleError):
                    await self.client.logout()
        finally:
            await self.client.close()

    async def _run(self) -> None:
        while not self._closing:
            try:
                async with self.client.events() as stream:
                    self._set_online()
                    async for batch in stream:
                        if batch:
                            self.events_arrived.emit(batch)
            except asyncio.CancelledError:
                raise
            except CertificateMismatch as exc:
                self._set_offline(str(exc), None)
                self.ended.emit(str(exc))
                return
            except Unauthorized:
                message = "Your session has ended (signed out or expired). Log in again."
                self._set_offline(message, None)
                self.ended.emit(message)
                return
            except (ApplianceUnreachable, ApiError) as exc:
                reason = str(exc)
            except Exception as exc:  # never let the heartbeat die silently
                log.exception("live events failed")
                reason = f"live updates stopped: {exc}"
            else:
                reason = f"{self.address} closed the connection"
            if self._closing:
                return
            delay = self.backoff.next()
            self._set_offline(reason, delay)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            if not self._closing:
                self.offline_status.emit(f"{reason}. Reconnecting\u2026")

    def _set_online(self) -> None:
        self.backoff.reset()
        was_offline = self._was_offline
        self.online, self.reason, self._was_offline = True, "", False
        self.online_changed.emit(True)
        if was_offline:
            self.reconnected.emit()

    def _set_offline(self, reason: str, retry_in: float | None) -> None:
        first = self.online or not self._was_offline
        self.online, self.reason, self._was_offline = False, reason, True
        if retry_in is None:
            message = reason
        else:
            when = "in a moment" if retry_in < 1.5 else f"in {retry_in:.0f} s"
            message = f"{reason}. Trying again {when}."
        self.offline_status.emit(message)
        if first:
            self.online_changed.emit(False)
