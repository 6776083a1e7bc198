"""The ``[plugin.wifi.radius]`` settings: where the copy of the network's RADIUS accounting
is received, and the NASes (controllers, access points, RADIUS servers replicating) it may
come from, each with its shared secret."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import msgspec

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]


class RadiusClient(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One NAS allowed to send accounting (``[[plugin.wifi.radius.clients]]``)."""

    # Its address ("10.20.0.5") or a network of them ("10.20.0.0/24"): a packet from an
    # address no client covers is dropped unanswered and counted as unknown_client.
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    # The shared secret configured for this server on the NAS (or on the RADIUS server
    # replicating to it): it proves each packet came from the NAS and signs the answer.
    secret: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    # What the NAS is called in the health listing (GET /api/v1/plugins); default: address.
    name: Annotated[str, msgspec.Meta(max_length=64)] = ""

    def __post_init__(self) -> None:
        try:
            ipaddress.ip_network(self.address, strict=False)
        except ValueError:
            raise ValueError(
                f"client address {self.address!r} is not an IP address or network "
                '(e.g. "10.20.0.5" or "10.20.0.0/24")'
            ) from None


class RadiusSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Off until configured: the listener opens when ``[plugin.wifi] listen_host`` is set
    and at least one client is listed."""

    # The UDP port accounting is received on (RFC 2866: 1813; some older NASes use 1646).
    port: Port = 1813
    # The NASes accounting is taken from, each with its shared secret.
    clients: list[RadiusClient] = []
    # Observations are handed to the core in batches this often (seconds).
    batch_seconds: Annotated[float, msgspec.Meta(gt=0, le=10)] = 0.25
    # A request received again within this many seconds (the same NAS, identifier and
    # authenticator: the NAS did not get the answer) is answered again, not used again.
    duplicate_seconds: Annotated[float, msgspec.Meta(ge=1, le=600)] = 30.0

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for client in self.clients:
            network = str(ipaddress.ip_network(client.address, strict=False))
            if network in seen:
                raise ValueError(f"clients lists {client.address} twice")
            seen.add(network)
