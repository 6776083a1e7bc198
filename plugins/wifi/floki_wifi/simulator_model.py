"""What the simulated Wi-Fi network does: which access point each pump is on, and the
staff's and patients' devices that come and go around them.

The access points are the register's receivers of technology ``wifi``; the pumps are the
assets with a ``wifi`` identifier (a burnt-in MAC). Each pump stays on the access point
of its home zone (that zone's, or the nearest enclosing zone's), joining again every
``REJOIN_S``; the first ``ROAMERS`` pumps go to another access point now and then (a
pump taken down to ED, or to the workshop for a check) and come back. Around them
``PHONES`` phones with randomised MACs and ``LAPTOPS`` devices with burnt-in MACs that
no asset carries join and leave: the traffic a real controller sends, which the plugin
must count and drop.

Everything here is simulated seconds since the simulation began, from a seeded RNG, so a
test can say where a pump will be; the source turns it into syslog datagrams.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from floki_core.sdk import RegisterSnapshot, spell_mac

TECHNOLOGY = "wifi"
REJOIN_S = 120.0  # a pump joins its access point again this often (power save, rekey)
ROAMERS = 2  # how many pumps go to another access point now and then
FIRST_ROAM_S = 60.0  # the first roamer leaves this far in (a newcomer sees it move) ...
ROAM_APART_S = 240.0  # ... the next one this much later
ROAM_CYCLE_S = 1800.0  # how often a roamer goes away
AWAY_S = 600.0  # ... and how long it stays away
PHONES = 40  # phones with randomised MACs on the network
LAPTOPS = 12  # staff devices with burnt-in MACs that no asset carries
PASSING_EVERY_S = 15.0  # how often the phones and laptops come and go
PASSING_PER_TICK = 6  # ... how many of them each time

# Vendors' OUIs (universally administered) for the devices nobody tracks.
_LAPTOP_OUIS = ("3C:22:FB", "F0:18:98", "00:1B:63", "A4:83:E7")


@dataclass(frozen=True)
class AccessPoint:
    mac: str  # the receiver's identifier, spelt AA:BB:CC:DD:EE:FF
    name: str  # the receiver's name in the register
    zone_id: int


@dataclass(frozen=True)
class Pump:
    asset_id: int
    mac: str  # burnt-in, spelt AA:BB:CC:DD:EE:FF
    home: AccessPoint
    away: AccessPoint | None  # where a roamer goes; None: it stays at home
    phase_s: float  # when it first joins, and its rejoining rhythm's offset
    away_from_s: float = 0.0  # a roamer's first departure

    def access_point(self, t: float) -> AccessPoint | None:
        """The access point the pump is on at simulated time ``t`` (None before it joins)."""
        if t < self.phase_s:
            return None
        if self.away is not None and self.is_away(t):
            return self.away
        return self.home

    def is_away(self, t: float) -> bool:
        if self.away is None or t < self.away_from_s:
            return False
        return (t - self.away_from_s) % ROAM_CYCLE_S < AWAY_S

    def moves(self, since: float, t: float) -> list[float]:
        """The times in (``since``, ``t``] at which a roamer leaves or comes back."""
        if self.away is None:
            return []
        found = []
        k = max(0, int((since - self.away_from_s - AWAY_S) // ROAM_CYCLE_S))
        while (leave := self.away_from_s + k * ROAM_CYCLE_S) <= t:
            for at in (leave, leave + AWAY_S):
                if since < at <= t:
                    found.append(at)
            k += 1
        return found

    def joins(self, since: float | None, t: float) -> list[float]:
        """The times in (``since``, ``t``] at which the pump (re)joins its access point:
        its first join, then every ``REJOIN_S`` at its own phase, and each roaming move."""
        lo = -1.0 if since is None else since
        first = self.phase_s
        n = 0 if lo < first else int((lo - first) // REJOIN_S) + 1
        found = []
        while (at := first + n * REJOIN_S) <= t:
            found.append(at)
            n += 1
        found += self.moves(lo, t)
        return sorted(set(found))


@dataclass(frozen=True)
class Passer:
    """A phone or laptop nobody tracks: its MAC must never leave the plugin's decoder."""

    mac: str
    randomised: bool


@dataclass(frozen=True)
class Scene:
    access_points: tuple[AccessPoint, ...]
    pumps: tuple[Pump, ...]
    passers: tuple[Passer, ...]


def _random_mac(rng: random.Random, *, randomised: bool) -> str:
    if randomised:
        # A locally administered unicast address: second hex digit 2, 6, A or E.
        first = rng.choice("0123456789ABCDEF") + rng.choice("26AE")
        rest = [f"{rng.randrange(256):02X}" for _ in range(5)]
        return ":".join([first, *rest])
    oui = rng.choice(_LAPTOP_OUIS)
    return oui + "".join(f":{rng.randrange(256):02X}" for _ in range(3))


def _home_access_point(
    zone_id: int | None, parents: dict[int, int | None], by_zone: dict[int, AccessPoint]
) -> AccessPoint | None:
    seen: set[int] = set()
    while zone_id is not None and zone_id not in seen:
        if zone_id in by_zone:
            return by_zone[zone_id]
        seen.add(zone_id)
        zone_id = parents.get(zone_id)
    return None


def build_scene(snapshot: RegisterSnapshot, seed: int) -> Scene:
    """The simulated network for the register's Wi-Fi access points and pumps.

    Raises ValueError when there is nothing to simulate: no access point, or no asset
    with a ``wifi`` identifier."""
    access_points = tuple(
        AccessPoint(mac, r.name, r.zone_id)
        for r in sorted(snapshot.receivers, key=lambda r: r.id)
        if r.technology == TECHNOLOGY and (mac := spell_mac(r.identifier)) is not None
    )
    if not access_points:
        raise ValueError("no receiver of technology wifi (an access point) in the register")
    by_zone: dict[int, AccessPoint] = {}
    for ap in access_points:
        by_zone.setdefault(ap.zone_id, ap)
    parents = {z.id: z.parent_id for z in snapshot.zones}
    homes = {a.id: a.home_zone_id for a in snapshot.assets}
    rng = random.Random(seed)
    pumps: list[Pump] = []
    bound = sorted(
        (i.asset_id, mac)
        for i in snapshot.identifiers
        if i.technology == TECHNOLOGY and (mac := spell_mac(i.value)) is not None
    )
    if not bound:
        raise ValueError("no asset has a wifi identifier")
    for asset_id, mac in bound:
        home = _home_access_point(homes.get(asset_id), parents, by_zone) or access_points[0]
        away = None
        elsewhere = [ap for ap in access_points if ap.zone_id != home.zone_id]
        n_roaming = sum(p.away is not None for p in pumps)
        if elsewhere and n_roaming < ROAMERS:
            away = elsewhere[n_roaming % len(elsewhere)]
        pumps.append(
            Pump(
                asset_id,
                mac,
                home,
                away,
                phase_s=round(rng.uniform(0.0, 10.0), 1),
                away_from_s=FIRST_ROAM_S + n_roaming * ROAM_APART_S,
            )
        )
    passers = [Passer(_random_mac(rng, randomised=True), True) for _ in range(PHONES)]
    passers += [Passer(_random_mac(rng, randomised=False), False) for _ in range(LAPTOPS)]
    tracked = {p.mac for p in pumps}
    return Scene(access_points, tuple(pumps), tuple(p for p in passers if p.mac not in tracked))
