"""Announcing the appliance on the local network, and finding appliances there (mDNS/DNS-SD).

The console finds appliances by browsing ``_floki._tcp``; the TXT record carries what it
needs before the first request: the API path, whether to speak TLS and the certificate
fingerprint it is asked to confirm and pin.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
from dataclasses import dataclass

import ifaddr
from zeroconf import DNSQuestionType, InterfaceChoice, ServiceStateChange, Zeroconf
from zeroconf import Error as ZeroconfError
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from floki_core.errors import FlokiError

SERVICE_TYPE = "_floki._tcp.local."


def _interface_choice(interfaces: list[str] | None) -> list[str] | InterfaceChoice:
    # zeroconf takes an empty list literally and then listens nowhere, without complaint.
    return list(interfaces) if interfaces else InterfaceChoice.All


def _open(interfaces: list[str] | None) -> AsyncZeroconf:
    try:
        return AsyncZeroconf(interfaces=_interface_choice(interfaces))
    except (OSError, RuntimeError) as exc:
        # RuntimeError is zeroconf's "no interfaces to listen on"; OSError a bad address.
        where = ", ".join(interfaces) if interfaces else "all interfaces"
        raise FlokiError(f"discovery: cannot use the network on {where}: {exc}") from exc


def _lan_ipv4_addresses() -> list[str]:
    # Loopback is left out: an address only this machine can reach helps no console.
    found = {
        ip.ip
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if ip.is_IPv4 and isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback
    }
    return sorted(found)


def _host_name() -> str:
    # A name of its own per run: appliances cloned from one image share a hostname, and under
    # one name their A records would merge, sending consoles to either box.
    label = socket.gethostname().split(".", 1)[0][:40] or "floki"
    return f"{label}-{secrets.token_hex(4)}.local."


def _cannot_announce(instance_name: str, exc: Exception) -> FlokiError:
    # Several zeroconf exceptions carry no message; their class name is the message then.
    reason = str(exc) or type(exc).__name__
    return FlokiError(f"discovery: cannot announce {instance_name!r}: {reason}")


class ApplianceAdvertiser:
    """Announces one appliance as ``<instance_name>._floki._tcp.local.`` until stopped."""

    def __init__(
        self,
        *,
        instance_name: str,
        port: int,
        version: str,
        site: str,
        fingerprint: str | None,
        api_path: str = "/api/v1",
        tls: bool = True,
        interfaces: list[str] | None = None,
    ) -> None:
        self._instance_name = instance_name
        self._port = port
        self._properties = {
            "version": version,
            "site": site,
            "fp": fingerprint or "",
            "api": api_path,
            "tls": "1" if tls else "0",
        }
        self._interfaces = list(interfaces) if interfaces else None
        self._zc: AsyncZeroconf | None = None
        self._info: AsyncServiceInfo | None = None

    @property
    def service_name(self) -> str | None:
        """The full name announced, which differs from the asked-for one after a conflict."""
        return self._info.name if self._info else None

    async def start(self) -> None:
        if self._zc is not None:
            return
        addresses = self._interfaces or _lan_ipv4_addresses()
        if not addresses:
            raise FlokiError("discovery: no network interface with an IPv4 address to announce")
        try:
            info = AsyncServiceInfo(
                SERVICE_TYPE,
                f"{self._instance_name}.{SERVICE_TYPE}",
                port=self._port,
                properties=self._properties,
                server=_host_name(),
                parsed_addresses=addresses,
            )
        except (ZeroconfError, ValueError) as exc:
            raise _cannot_announce(self._instance_name, exc) from exc
        zc = _open(self._interfaces)
        try:
            # Probing takes a second or two; a clash renames us "<name>-2" rather than failing.
            announced = await zc.async_register_service(info, allow_name_change=True)
            await announced
        except (ZeroconfError, OSError, RuntimeError) as exc:
            await zc.async_close()
            raise _cannot_announce(self._instance_name, exc) from exc
        self._zc, self._info = zc, info

    async def stop(self) -> None:
        zc, info = self._zc, self._info
        self._zc = self._info = None
        if zc is None:
            return
        try:
            if info is not None:
                # Goodbyes let consoles drop the appliance now, not when the TTL runs out.
                await (await zc.async_unregister_service(info))
        finally:
            await zc.async_close()


@dataclass(frozen=True)
class DiscoveredAppliance:
    """One appliance as announced; ``name`` is the instance name, without the service type."""

    name: str
    host: str
    addresses: tuple[str, ...]
    port: int
    version: str
    site: str
    fingerprint: str | None
    api_path: str
    tls: bool


def _to_appliance(info: AsyncServiceInfo) -> DiscoveredAppliance | None:
    addresses = tuple(info.parsed_scoped_addresses())
    if not addresses or info.port is None:
        return None
    props = info.decoded_properties
    return DiscoveredAppliance(
        name=info.name.removesuffix(f".{SERVICE_TYPE}"),
        host=addresses[0],
        addresses=addresses,
        port=info.port,
        version=props.get("version") or "",
        site=props.get("site") or "",
        fingerprint=props.get("fp") or None,
        api_path=props.get("api") or "/api/v1",
        tls=props.get("tls", "1") != "0",
    )


# Answers are asked for by multicast: a unicast reply to port 5353 reaches only one of the
# sockets sharing it (avahi, a second browser, an appliance on the same host), maybe not ours.
_ASK = DNSQuestionType.QM


async def browse_appliances(
    timeout: float = 3.0, interfaces: list[str] | None = None
) -> list[DiscoveredAppliance]:
    """Appliances that answered within ``timeout`` seconds, sorted by name.

    mDNS answers a question at most once a second, so an appliance that has just answered
    another console may wait for our second query, about a second in: keep ``timeout`` above
    about 1.5 s.
    """
    zc = _open(interfaces)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    resolving: dict[str, asyncio.Task[bool]] = {}
    infos: dict[str, AsyncServiceInfo] = {}
    gone: set[str] = set()

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Removed:
            gone.add(name)
            return
        gone.discard(name)
        if name not in resolving:
            info = infos[name] = AsyncServiceInfo(SERVICE_TYPE, name)
            # Usually answered from the cache the browse just filled; never past the deadline.
            wait_ms = max(deadline - loop.time(), 0.0) * 1000
            resolving[name] = loop.create_task(info.async_request(zeroconf, wait_ms, _ASK))

    browser = AsyncServiceBrowser(
        zc.zeroconf, SERVICE_TYPE, handlers=[on_change], question_type=_ASK
    )
    try:
        await asyncio.sleep(timeout)
        await asyncio.gather(*resolving.values(), return_exceptions=True)
    finally:
        for task in resolving.values():
            task.cancel()
        await browser.async_cancel()
        await zc.async_close()
    found = [
        appliance
        for name, task in resolving.items()
        if name not in gone and task.done() and not task.cancelled()
        if task.exception() is None and task.result()
        if (appliance := _to_appliance(infos[name])) is not None
    ]
    return sorted(found, key=lambda a: a.name)
