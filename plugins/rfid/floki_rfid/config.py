"""The ``[plugin.rfid]`` settings."""

from __future__ import annotations

from typing import Annotated

import msgspec

from floki_core.sdk import PluginSettings
from floki_rfid.zebra_config import DataWedgeSettings, ZebraReaderSettings

# Impinj's inventory search modes (Octane), by the names their documentation uses; empty:
# whatever the reader does by default. tag_focus (single target with suppression) keeps a
# read tag quiet, so a shelf of idle equipment does not drown out what moves.
SEARCH_MODES = ("", "reader_selected", "single_target", "dual_target", "tag_focus")


class LlrpReaderSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One fixed reader spoken to over LLRP (``[[plugin.rfid.readers]]``)."""

    # What the reader is called here: its antennas are the receivers "<name>:<port>"
    # ("library-door:1") that read zones are drawn with.
    name: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
    # The reader's address on the LAN, and its LLRP port (5084; 5085 is LLRP over TLS,
    # which is not spoken here).
    host: Annotated[str, msgspec.Meta(min_length=1, max_length=253)]
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 5084
    # The antenna ports to read with (1 = the first); empty: every port the reader has.
    # Reads from a port not listed are counted as unknown_antenna, not used.
    antennas: list[Annotated[int, msgspec.Meta(ge=1, le=32)]] = []
    # Transmit power, dBm; the reader uses the highest step of its power table not above
    # it. Unset: the reader's own setting.
    tx_power_dbm: Annotated[float, msgspec.Meta(ge=10.0, le=33.0)] | None = None
    # The Gen2 session tags are inventoried in (0-3): 1 suits fixed read zones (a tag
    # answers again a few seconds later), 2 or 3 quiet tags for longer.
    session: Annotated[int, msgspec.Meta(ge=0, le=3)] = 1
    # Impinj search mode (see SEARCH_MODES); ignored, with a warning, by other makes.
    search_mode: Annotated[
        str, msgspec.Meta(pattern=r"^(|reader_selected|single_target|dual_target|tag_focus)$")
    ] = ""
    # 0: the reader reports every read as it happens (lowest latency, for portals). Above
    # 0: it gathers reads and is asked for them this often (less traffic on busy shelves).
    report_every_ms: Annotated[int, msgspec.Meta(ge=0, le=60_000)] = 0
    # The reader sends a keepalive this often (so it notices a vanished appliance), and a
    # reader that has reported nothing for this long is asked whether it is still there:
    # one that does not answer is connected to again.
    keepalive_seconds: Annotated[float, msgspec.Meta(ge=1.0, le=300.0)] = 10.0
    # Connecting (and each request to the reader) gives up after this long.
    connect_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0

    def __post_init__(self) -> None:
        seen: set[int] = set()
        for port in self.antennas:
            if port in seen:
                raise ValueError(f"antennas lists port {port} twice")
            seen.add(port)
        if self.search_mode == "tag_focus" and self.session != 1:
            raise ValueError("search_mode tag_focus works in session 1 only")


class ImpinjReaderSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One Impinj reader whose IoT device interface (R700 and similar) is read as its NDJSON
    data stream (``[[plugin.rfid.impinj]]``)."""

    # What the reader is called here: its antennas are the receivers "<name>:<port>".
    name: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
    # Where the reader's IoT device interface answers: "https://impinj-14-46-36" (its
    # hostname or address; a port if not 443/80). The stream is <url>/api/v1/data/stream.
    url: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^https?://[^/\s?#]+/?$",
            max_length=300,
            description="the reader's IoT device interface, https://<host>[:port]",
        ),
    ]
    # The reader's user for HTTP basic auth, and its password (the reader's own; there is
    # no default, as the factory one should have been changed).
    username: Annotated[
        str, msgspec.Meta(min_length=1, max_length=100, description="the reader's user")
    ] = "root"
    password: Annotated[
        str, msgspec.Meta(min_length=1, max_length=200, description="that user's password")
    ]
    # The reader's certificate is checked unless this is false (the R700 ships with a
    # self-signed one: give its certificate or its CA in ca_file rather than switching this
    # off).
    verify_tls: Annotated[bool, msgspec.Meta(description="check the reader's TLS certificate")] = (
        True
    )
    ca_file: Annotated[
        str, msgspec.Meta(max_length=1000, description="PEM file of the reader's CA or cert")
    ] = ""
    # The antenna ports read (1 = the first); empty: every port. Reads from a port not
    # listed are counted as unknown_antenna, not used.
    antennas: list[Annotated[int, msgspec.Meta(ge=1, le=32)]] = []
    # Connecting gives up after this long.
    connect_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
    # The reader writes keepalive lines on an idle stream; one silent this long is taken
    # as lost and connected to again.
    idle_seconds: Annotated[
        float, msgspec.Meta(ge=1.0, le=3600.0, description="silence before reconnecting")
    ] = 60.0

    def __post_init__(self) -> None:
        if len(set(self.antennas)) != len(self.antennas):
            twice = next(p for p in self.antennas if self.antennas.count(p) > 1)
            raise ValueError(f"antennas lists port {twice} twice")
        if self.ca_file and not self.verify_tls:
            raise ValueError("ca_file is given but verify_tls is false: the CA would not be used")


def _antenna(description: str) -> msgspec.Meta:
    """A receiver's identifier as a portal names it: "<reader>:<antenna port>" for a fixed
    reader, though any rfid receiver's identifier is taken."""
    return msgspec.Meta(min_length=1, max_length=200, description=description)


class PlacementSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """How read zones place equipment (``[plugin.rfid.placement]``; docs/rfid-placement.md)."""

    # A tag read at another read zone moves there once it has been read there for this
    # long; at once if it has not been read at its current zone for this long. 0: at once.
    dwell_seconds: Annotated[
        float, msgspec.Meta(ge=0, le=3600, description="seconds read at a new zone before moving")
    ] = 5.0
    # Two read zones hearing one tag together: the other zone's antenna must read it this
    # many dB stronger (peak RSSI) to win; within this margin the read counts decide.
    hysteresis_db: Annotated[
        float, msgspec.Meta(ge=0, le=40, description="dB another zone must lead by to win")
    ] = 6.0
    # On a near tie in RSSI, the other zone wins only if it read the tag at least this many
    # times as often as the current one; nearer than that the current zone keeps it.
    count_ratio: Annotated[
        float, msgspec.Meta(ge=1, le=100, description="reads ratio that wins a near tie")
    ] = 2.0
    # Reads at two zones' antennas this close in time were heard together, and compared.
    together_seconds: Annotated[
        float, msgspec.Meta(gt=0, le=60, description="reads this close are compared")
    ] = 2.0
    # How sure a read-zone placement or a portal crossing is (the fixed-point locator's).
    confidence: Annotated[
        float, msgspec.Meta(gt=0, le=1, description="confidence of a placement")
    ] = 0.95


class PortalSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A doorway read by two antennas (``[[plugin.rfid.portals]]``): the order of its reads
    says whether a tag entered or left the inner antenna's zone."""

    # What the portal is called in its events ("library-door").
    name: Annotated[
        str, msgspec.Meta(min_length=1, max_length=100, description="the portal's name")
    ]
    # The antenna on the inside of the door, as the receiver's identifier
    # ("library-door:1"); its zone is the zone the portal leads into.
    inner: Annotated[str, _antenna("the inner antenna's receiver identifier")]
    # The antenna on the outside ("library-door:2"); its zone is where a tag that left is.
    outer: Annotated[str, _antenna("the outer antenna's receiver identifier")]
    # Reads at the two antennas further apart than this are not one passage.
    window_seconds: Annotated[
        float, msgspec.Meta(gt=0, le=60, description="longest gap within one passage")
    ] = 3.0
    # The order is clear once the tag has been read at the second antenna this long after
    # its last read at the first (reads at both, interleaved, are no crossing).
    clear_seconds: Annotated[
        float, msgspec.Meta(ge=0, le=60, description="read at the second antenna this long after")
    ] = 0.3

    def __post_init__(self) -> None:
        if self.inner == self.outer:
            raise ValueError(f"inner and outer are the same antenna {self.inner}")
        if self.clear_seconds >= self.window_seconds:
            raise ValueError(
                f"clear_seconds ({self.clear_seconds:g}) must be less than window_seconds "
                f"({self.window_seconds:g})"
            )


class RfidSettings(PluginSettings):
    # Readers' tag reports are aggregated per (tag, antenna) and handed to the core in
    # batches this often.
    batch_seconds: Annotated[float, msgspec.Meta(gt=0, le=10)] = 0.25
    # The fixed readers read over LLRP; none by default.
    readers: list[LlrpReaderSettings] = []
    # The Impinj readers whose IoT device interface data stream is read; none by default.
    impinj: Annotated[
        list[ImpinjReaderSettings],
        msgspec.Meta(description="Impinj readers read over their IoT device interface"),
    ] = []
    # Impinj readers may instead post their events to POST /api/v1/rfid/impinj?reader=<name>
    # (with a device token); the route is there only when this is true.
    impinj_webhook: Annotated[
        bool, msgspec.Meta(description="serve POST /api/v1/rfid/impinj for reader webhooks")
    ] = False
    # Zebra fixed readers heard through their IoT Connector over MQTT; none by default.
    zebra_readers: Annotated[
        list[ZebraReaderSettings],
        msgspec.Meta(description="Zebra fixed readers heard over MQTT (IoT Connector)"),
    ] = []
    # Zebra handhelds' DataWedge IP output, read as lines over TCP/UDP; none by default.
    handhelds: Annotated[
        list[DataWedgeSettings],
        msgspec.Meta(description="Zebra handhelds whose DataWedge output is read as lines"),
    ] = []
    # At most this many (tag, antenna) pairs are held per reader between hand-overs; a
    # window that fills is handed over at once (memory stays bounded, nothing is dropped).
    max_tags_per_window: Annotated[int, msgspec.Meta(ge=100, le=1_000_000)] = 50_000
    # How reads at read zones place equipment: dwell and hysteresis.
    placement: Annotated[
        PlacementSettings, msgspec.Meta(description="read zones: dwell and hysteresis")
    ] = msgspec.field(default_factory=PlacementSettings)
    # Doorways read by an inner and an outer antenna; none by default.
    portals: Annotated[
        list[PortalSettings],
        msgspec.Meta(description="doorways whose two antennas tell entering from leaving"),
    ] = []

    # The demo (docs/rfid-demo.md): emulated LLRP readers "library" and "stores" on free
    # 127.0.0.1 ports, read by this plugin's own LLRP sources, with the two door portals,
    # kit passing through the doors and a sample stock-take of Main Stores. Loopback only.
    simulate: Annotated[
        bool, msgspec.Meta(description="emulate the demo's readers on loopback")
    ] = False
    # Which kit goes out of the doors (the same seed, the same items).
    simulate_seed: Annotated[
        int, msgspec.Meta(ge=0, description="which simulated kit goes in and out")
    ] = 1
    # How many times faster than real time the simulated kit goes in and out.
    simulate_speedup: Annotated[
        float, msgspec.Meta(ge=0.1, le=100, description="simulated kit moves this much faster")
    ] = 1.0

    def __post_init__(self) -> None:
        # One name, one reader: the receivers "<name>:<port>" of two would be the same.
        names: set[str] = set()
        every: list[
            LlrpReaderSettings | ImpinjReaderSettings | ZebraReaderSettings | DataWedgeSettings
        ] = [*self.readers, *self.impinj, *self.zebra_readers, *self.handhelds]
        for name in [r.name for r in every]:
            if name in names:
                raise ValueError(f"two readers are named {name}")
            names.add(name)
        portals: dict[str, str] = {}  # antenna -> portal
        for portal in self.portals:
            if portal.name in portals.values():
                raise ValueError(f"two portals are named {portal.name}")
            for antenna in (portal.inner, portal.outer):
                if antenna in portals:
                    raise ValueError(
                        f"antenna {antenna} is in two portals ({portals[antenna]} and "
                        f"{portal.name})"
                    )
                portals[antenna] = portal.name
