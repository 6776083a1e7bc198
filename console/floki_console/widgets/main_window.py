"""The console window: connect (discover, trust, log in), then the views.

Connecting is a short conversation: pick or type an address; the certificate the appliance
presents is checked against the pin for that address (first use asks, a change refuses
with the reason); then a stored session is reused or the user logs in. Dialogs are opened
with ``open()``, never ``exec()``, so the event loop (and the network) keeps running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMainWindow,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from floki_console.api import (
    Address,
    ApplianceClient,
    ApplianceUnreachable,
    CertificateMismatch,
    ConsoleError,
    Unauthorized,
    presented_fingerprint,
)
from floki_console.context import ConsoleContext
from floki_console.discovery import ApplianceBrowser, DiscoveredAppliance
from floki_console.session import ApplianceSession
from floki_console.trust import Verdict
from floki_console.widgets.alerts_view import AlertsView
from floki_console.widgets.community_view import CommunityView
from floki_console.widgets.connect_dialog import ConnectDialog
from floki_console.widgets.find_view import FindView
from floki_console.widgets.health_view import HealthView
from floki_console.widgets.import_view import ImportView
from floki_console.widgets.loans_view import LoansView
from floki_console.widgets.login_dialog import LoginDialog
from floki_console.widgets.map_view import MapView
from floki_console.widgets.offline_banner import OfflineBanner
from floki_console.widgets.plans_view import PlansView
from floki_console.widgets.ppm_view import PpmView
from floki_console.widgets.reports_view import ReportsView
from floki_console.widgets.stocktake_view import StocktakeView
from floki_console.widgets.trust_dialog import TrustDialog
from floki_console.widgets.users_view import UsersView

log = logging.getLogger(__name__)


T = TypeVar("T")


def _settle(future: asyncio.Future[T], value: T) -> None:
    if not future.done():
        future.set_result(value)


class MainWindow(QMainWindow):
    signed_in = Signal()
    signed_out = Signal()

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.setWindowTitle("Floki console")
        self.resize(1280, 820)
        self.session: ApplianceSession | None = None
        self.connect_dialog: ConnectDialog | None = None
        self.trust_dialog: TrustDialog | None = None
        self.login_dialog: LoginDialog | None = None
        self._browser: ApplianceBrowser | None = None
        self._tasks: set[asyncio.Future[Any]] = set()

        self.banner = OfflineBanner()
        self.banner.retry_requested.connect(self._retry)
        self.tabs = QTabWidget()
        self.find_view = FindView()
        self.map_view = MapView()
        self.alerts_view = AlertsView()
        self.ppm_view = PpmView()
        self.loans_view = LoansView()
        self.community_view = CommunityView()
        self.reports_view = ReportsView()
        self.stocktake_view = StocktakeView()
        self.health_view = HealthView()
        # Tabs only while an administrator is signed in.
        self.users_view = UsersView()
        self.import_view = ImportView()
        self.plans_view = PlansView()
        self.admin_views: list[tuple[Any, str]] = [
            (self.users_view, "Users"),
            (self.import_view, "Import register"),
            (self.plans_view, "Plans"),
        ]
        self.tabs.addTab(self.find_view, "Find")
        self.tabs.addTab(self.map_view, "Map")
        self.tabs.addTab(self.alerts_view, "Alerts")
        self.tabs.addTab(self.ppm_view, "PPM queue")
        self.tabs.addTab(self.loans_view, "Loans")
        self.tabs.addTab(self.community_view, "Community")
        self.tabs.addTab(self.reports_view, "Reports")
        self.tabs.addTab(self.stocktake_view, "Stock-take")
        self.tabs.addTab(self.health_view, "Health")
        for view in (self.find_view, self.alerts_view, self.ppm_view):
            view.show_on_map.connect(self.show_on_map)
        self.alerts_view.open_count_changed.connect(self._alert_count)
        self.plans_view.changed.connect(self.map_view.reload)
        self.views: list[Any] = [
            self.find_view,
            self.map_view,
            self.alerts_view,
            self.ppm_view,
            self.loans_view,
            self.community_view,
            self.reports_view,
            self.stocktake_view,
            self.health_view,
        ]

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.who = QLabel("Not connected")
        self.statusBar().addPermanentWidget(self.who)
        menu = self.menuBar().addMenu("&Appliance")
        self.connect_action = QAction("&Connect\u2026", self)
        self.connect_action.triggered.connect(lambda *_: self.open_connect())
        self.logout_action = QAction("&Log out", self)
        self.logout_action.setEnabled(False)
        self.logout_action.triggered.connect(lambda *_: self._spawn(self.logout()))
        self.forget_pin_action = QAction("&Forget this appliance's pin", self)
        self.forget_pin_action.setEnabled(False)
        self.forget_pin_action.setToolTip(
            "Remove the pinned certificate fingerprint; the next connection asks again"
        )
        self.forget_pin_action.triggered.connect(lambda *_: self.forget_pin())
        menu.addAction(self.connect_action)
        menu.addAction(self.logout_action)
        menu.addSeparator()
        menu.addAction(self.forget_pin_action)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("console task failed", exc_info=task.exception())

    # --- connecting ------------------------------------------------------------------

    def open_connect(self) -> ConnectDialog:
        if self.connect_dialog is not None:
            self.connect_dialog.raise_()
            return self.connect_dialog
        dialog = ConnectDialog(self)
        dialog.connect_requested.connect(
            lambda address, found: self._spawn(self.connect_to(address, found))
        )
        dialog.finished.connect(lambda *_: self._connect_closed())
        self.connect_dialog = dialog
        dialog.open()
        if self.context.discover:
            self._spawn(self._discover(dialog))
        else:
            dialog.set_search_status("Network search is off; type the appliance's address.")
        return dialog

    def _connect_closed(self) -> None:
        self.connect_dialog = None
        browser, self._browser = self._browser, None
        if browser is not None:
            self._spawn(browser.stop())

    async def _discover(self, dialog: ConnectDialog) -> None:
        browser = ApplianceBrowser(
            dialog.add_appliance,
            dialog.remove_appliance,
            interfaces=self.context.discovery_interfaces,
        )
        self._browser = browser
        await browser.start()
        if browser.error:
            dialog.set_search_status(f"{browser.error}. Type the appliance's address instead.")
        if self.connect_dialog is not dialog:
            await browser.stop()

    async def connect_to(self, address: Address, found: DiscoveredAppliance | None) -> None:
        dialog = self.connect_dialog
        if dialog is None:
            return
        dialog.set_busy(f"Connecting to {address}\u2026")
        name = (found.site or found.name) if found is not None else ""
        try:
            presented = await presented_fingerprint(address) if address.tls else None
        except ConsoleError as exc:
            dialog.show_error(str(exc))
            return
        pins = self.context.pins
        if presented is not None:
            verdict = pins.verdict(address.key, presented)
            if verdict is Verdict.CHANGED:
                pinned = pins.get(address.key)
                expected = pinned.fingerprint if pinned is not None else ""
                dialog.show_error(str(CertificateMismatch(address, expected, presented)))
                return
            trusted = verdict is Verdict.TRUSTED
        else:
            trusted = False
        if not trusted:
            announced = found.fingerprint if found is not None else None
            if not await self._confirm_trust(address, presented, name, announced):
                dialog.show_error("Not connected: the certificate was not trusted.")
                return
            if presented is not None:
                pins.pin(address.key, presented, name)
        client = ApplianceClient(address, presented, timeout=self.context.request_timeout)
        try:
            health = await client.health()
        except ConsoleError as exc:
            await client.close()
            dialog.show_error(str(exc))
            return
        user = await self._resume(client)
        if user is None:
            user = await self._log_in(client, health)
        if user is None:
            await client.close()
            dialog.show_error("Not connected: not logged in.")
            return
        self.context.tokens.set(address.key, client.token or "")
        self._begin(client, health, user)

    async def _confirm_trust(
        self, address: Address, presented: str | None, name: str, announced: str | None
    ) -> bool:
        dialog = TrustDialog(address, presented, name=name, announced=announced, parent=self)
        self.trust_dialog = dialog
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        dialog.finished.connect(lambda result: _settle(answer, result))
        dialog.open()
        try:
            return await answer == QDialog.DialogCode.Accepted.value
        finally:
            self.trust_dialog = None
            dialog.deleteLater()

    async def _resume(self, client: ApplianceClient) -> dict[str, Any] | None:
        """Reuse the stored session for this appliance if it is still good."""
        token = self.context.tokens.get(client.address.key)
        if not token:
            return None
        client.token = token
        try:
            me = await client.me()
        except Unauthorized:
            self.context.tokens.delete(client.address.key)
            client.token = None
            return None
        except ConsoleError:
            client.token = None
            return None
        return me

    async def _log_in(
        self, client: ApplianceClient, health: dict[str, Any]
    ) -> dict[str, Any] | None:
        site = str(health.get("site") or client.address)
        dialog = LoginDialog(f"{site} ({client.address})", self.context.tokens.where, self)
        self.login_dialog = dialog
        outcome: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()

        async def attempt(username: str, password: str) -> None:
            try:
                result = await client.login(username, password)
            except Unauthorized:
                dialog.show_error("Wrong user name or password.")
                return
            except ConsoleError as exc:
                dialog.show_error(str(exc))
                return
            _settle(outcome, result.user)
            dialog.accept()

        dialog.submitted.connect(lambda u, p: self._spawn(attempt(u, p)))
        dialog.rejected.connect(lambda: _settle(outcome, None))
        dialog.open()
        try:
            return await outcome
        finally:
            self.login_dialog = None
            dialog.deleteLater()

    def _begin(self, client: ApplianceClient, health: dict[str, Any], user: dict[str, Any]) -> None:
        session = ApplianceSession(
            client,
            site=str(health.get("site") or ""),
            version=str(health.get("version") or ""),
            user=user,
            backoff=self.context.backoff(),
            parent=self,
        )
        self.session = session
        session.online_changed.connect(self._online_changed)
        session.offline_status.connect(self.banner.show_offline)
        session.ended.connect(self._session_ended)
        if self.connect_dialog is not None:
            self.connect_dialog.accept()
        for view in self.views:
            if hasattr(view, "attach"):
                view.attach(session)
        if session.role == "admin":
            for view, title in self.admin_views:
                self.tabs.addTab(view, title)
                view.attach(session)
        self.logout_action.setEnabled(True)
        self.forget_pin_action.setEnabled(True)
        self.who.setText(
            f"Signed in as {session.username} ({session.role}) \u2014 {session.site} "
            f"\u00b7 Floki {session.version} \u00b7 {session.address}"
        )
        self.setWindowTitle(f"Floki console \u2014 {session.site}")
        session.start()
        self.signed_in.emit()

    # --- while connected -------------------------------------------------------------

    def _online_changed(self, online: bool) -> None:
        if online:
            self.banner.show_online()

    def _retry(self) -> None:
        if self.session is not None:
            self.session.retry_now()

    def _session_ended(self, reason: str) -> None:
        if self.session is not None:
            self.context.tokens.delete(self.session.client.address.key)
        self._spawn(self._end_session(revoke=False))
        dialog = self.open_connect()
        dialog.show_error(reason)

    def _alert_count(self, count: int) -> None:
        index = self.tabs.indexOf(self.alerts_view)
        self.tabs.setTabText(index, f"Alerts ({count})" if count else "Alerts")

    def show_on_map(self, asset_id: int) -> None:
        self.tabs.setCurrentWidget(self.map_view)
        self.map_view.show_asset(asset_id)

    def forget_pin(self) -> None:
        """Forget the pinned certificate of the appliance in use: this connection goes on,
        and the next one shows the fingerprint for checking again."""
        if self.session is None:
            return
        address = self.session.client.address
        self.context.pins.forget(address.key)
        self.forget_pin_action.setEnabled(False)
        self.statusBar().showMessage(
            f"Forgot the certificate pinned for {address}; the next connection will ask "
            "you to check its fingerprint again.",
            15_000,
        )

    async def logout(self) -> None:
        """Revoke the session on the appliance, forget it here, and offer to connect."""
        if self.session is not None:
            self.context.tokens.delete(self.session.client.address.key)
        await self._end_session(revoke=True)
        self.open_connect()

    async def _end_session(self, *, revoke: bool) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        for view in self.views:
            if hasattr(view, "detach"):
                try:
                    view.detach()
                except Exception:  # a view's bug must not keep the session open
                    log.exception("a view failed to let go of the session")
        for view, _title in self.admin_views:
            if view.session is not None:
                try:
                    view.detach()
                except Exception:
                    log.exception("a view failed to let go of the session")
            index = self.tabs.indexOf(view)
            if index >= 0:
                self.tabs.removeTab(index)
        self.banner.show_online()
        self.logout_action.setEnabled(False)
        self.forget_pin_action.setEnabled(False)
        self.who.setText("Not connected")
        self.setWindowTitle("Floki console")
        try:
            await session.close(revoke=revoke)
        except ApplianceUnreachable:
            log.warning("could not revoke the session: the appliance is not answering")
        session.deleteLater()
        self.signed_out.emit()

    async def shutdown(self) -> None:
        """Close the connection and stop discovery (the session stays valid for next time)."""
        browser, self._browser = self._browser, None
        if browser is not None:
            await browser.stop()
        await self._end_session(revoke=False)
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._spawn(self.shutdown())
        super().closeEvent(event)
