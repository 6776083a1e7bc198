"""Cisco Meraki Scanning API v3: the receiver's two routes.

``GET /api/v1/wifi/meraki`` answers the validator string (text/plain), which is how the
dashboard checks a receiver before posting to it; ``POST`` takes the network's
observations (one post per network about every minute; a receiver that answers slowly
is dropped, so the post is decoded, filtered and queued without waiting for anything
but the queue). Meraki cannot present an appliance token: the routes are public and the
post's ``secret``, compared in constant time, is what authenticates it (403 and counted
as ``bad_secret`` otherwise).

Counted against the source ``wifi-meraki``. Only clients whose MAC an asset carries go
further than the decoder (issue 15 §2, ``privacy.DeviceFilter``); their nearest AP is
the observation's receiver and their position goes in its extras for
``positions.PositionPlacer``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from aiohttp import web

from floki_core.sdk import (
    Answer,
    Decoded,
    Extra,
    Observation,
    PluginContext,
    RouteRegistry,
    UploadReceipt,
    UploadRefused,
    accept_upload,
)
from floki_wifi import state
from floki_wifi.config import WifiSettings
from floki_wifi.meraki_config import MerakiSettings
from floki_wifi.meraki_decoder import ClientSeen, MerakiRefused, decode_post
from floki_wifi.positions import position_extras, shared_placer
from floki_wifi.privacy import DROPPED_BY_DESIGN, TECHNOLOGY, refusal

SOURCE = "wifi-meraki"
PATH = "/api/v1/wifi/meraki"


def observation_of(client: ClientSeen, settings: MerakiSettings, now: dt.datetime) -> Observation:
    """The observation of a bound client (already let through by the device filter)."""
    position = client.position
    if position is None:
        extras: dict[str, Extra] = {"feed": "meraki"}
        lat = lon = accuracy = None
    else:
        extras = position_extras(
            "meraki",
            settings.floor_plans,
            x=position.x,
            y=position.y,
            floor_plan=position.floor_plan,
            uncertainty_m=position.uncertainty_m,
        )
        lat, lon, accuracy = position.lat, position.lon, position.uncertainty_m
    return Observation(
        technology=TECHNOLOGY,
        tag=client.mac,
        observed_at=client.at or now,
        received_at=now,
        receiver=client.access_point,
        rssi=client.rssi,
        lat=lat,
        lon=lon,
        accuracy_m=accuracy if lat is not None else None,
        extras=extras,
    )


def _receive(context: PluginContext) -> Callable[[web.Request], Awaitable[web.Response]]:
    settings: WifiSettings = context.settings
    meraki = settings.meraki
    placer = shared_placer(context)

    async def receive(request: web.Request) -> web.Response:
        now = context.clock.now()
        # The zones the positions are placed in, read now if they changed: the locator
        # then places this post's positions without waiting.
        await placer.refresh()
        devices = state.device_filter(context)
        book = state.association_book(context)

        def decode(raw: bytes) -> Decoded:
            try:
                post = decode_post(raw, meraki.secret)
            except MerakiRefused as exc:
                # Counted against wifi-meraki, and logged once a minute by reason there.
                raise UploadRefused(exc.status, exc.reason, exc.counted_as) from None
            refused = dict(post.refused)
            batch: list[Observation] = []
            for client in post.clients:
                asset_id = devices.asset_for(client.mac)
                if asset_id is None:
                    reason = refusal(client.mac)
                    refused[reason] = refused.get(reason, 0) + 1
                    continue
                at = client.at or now
                if client.access_point is not None:
                    book.associated(client.mac, asset_id, client.access_point, at, SOURCE)
                batch.append(observation_of(client, meraki, now))
            return Decoded(batch, refused, expected=DROPPED_BY_DESIGN)

        return await accept_upload(request, SOURCE, decode)

    return receive


def _validator(context: PluginContext) -> Callable[[web.Request], Awaitable[web.Response]]:
    settings: WifiSettings = context.settings

    async def validator(request: web.Request) -> web.Response:
        if not settings.meraki.validator:
            return web.Response(
                status=404,
                text="no validator is set ([plugin.wifi.meraki] validator)",
                content_type="text/plain",
            )
        return web.Response(text=settings.meraki.validator, content_type="text/plain")

    return validator


def register_routes(
    registry: RouteRegistry, context: PluginContext, settings: WifiSettings
) -> None:
    """The receiver's routes, once a secret is set."""
    if not settings.meraki.secret:
        return
    registry.add(
        "GET",
        PATH,
        _validator(context),
        # Meraki's cloud calls it and has no token to send: the validator is no secret
        # (the dashboard shows it to anyone who sets up a receiver).
        policy="public",
        summary="The Meraki Scanning API validator string, as the dashboard checks a "
        "receiver before posting",
        produces="text/plain",
        answers={404: "no validator is set"},
    )
    registry.add(
        "POST",
        PATH,
        _receive(context),
        # Meraki cannot send a token: the post's shared secret authenticates it.
        policy="public",
        summary="A Meraki Scanning API v3 post (type WiFi; BLE posts are counted and "
        "ignored), authenticated by its shared secret; 202 with what was queued and the "
        "clients refused by reason (unknown_device, randomised_device, ...)",
        status=202,
        response=UploadReceipt,
        body_type="application/json",
        answers={
            400: "not a Scanning API v3 post (the reason says what)",
            403: Answer("the secret is wrong or missing (counted as bad_secret)"),
        },
    )
