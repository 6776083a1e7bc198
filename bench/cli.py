"""``floki-core bench``: one scenario against a real appliance, or the query benchmark.

    floki-core bench --scenario hospital --rate max --seconds 20 --json
    floki-core bench --scenario espresense --rate max --seconds 10 --json
    floki-core bench --scenario rfid --rate max --json
    floki-core bench --scenario wifi --json
    floki-core bench --queries --json

Prints one JSON object (``--json``) or the same figures one per line.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace
from types import FrameType
from typing import Any

from bench.product import BenchError, ProductOptions, run_product
from bench.scenarios import SCENARIOS

ESPRESENSE = "espresense"  # through a real MQTT broker: bench/espresense.py
COMMUNITY = "community"  # GPS trackers through the GPS plugin's listeners: bench/community.py
RFID = "rfid"  # LLRP readers through the RFID plugin's sources: bench/rfid.py
WIFI = "wifi"  # a controller's syslog through the Wi-Fi plugin's listener: bench/wifi.py
ESTATE = "estate"  # memory per tracked asset, 10,000 to 100,000 assets: bench/estate.py


def _rate(text: str) -> float | str:
    if text == "max":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a number of observations per second, or max") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the rate must be positive")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="floki-core bench",
        description="Drive a real appliance (its own process, loopback only) and print figures.",
    )
    parser.add_argument(
        "--scenario",
        choices=sorted([*SCENARIOS, ESPRESENSE, COMMUNITY, RFID, WIFI, ESTATE]),
        default="ward",
    )
    parser.add_argument(
        "--rate",
        type=_rate,
        default=None,
        help="observations (espresense: MQTT messages) per second offered, or max "
        "(default: the scenario's nominal rate)",
    )
    parser.add_argument("--seconds", type=_positive, help="run length (default per scenario)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--connections", type=int, default=8, help="concurrent HTTP connections")
    parser.add_argument("--tls", action="store_true", help="HTTPS, as deployed (default: HTTP)")
    parser.add_argument(
        "--profile", action="store_true", help="run the appliance under cProfile; top to stderr"
    )
    parser.add_argument("--seed", type=int, help="scenario seed (default per scenario)")
    parser.add_argument(
        "--drain-timeout", type=_positive, default=180.0, help="seconds to wait for the backlog"
    )
    parser.add_argument(
        "--backlog-seconds",
        type=int,
        default=0,
        help="storm: seconds of backlog per POST (default 0: each gateway's whole backlog)",
    )
    parser.add_argument("--tags", type=int, help="tags (and assets) instead of the scenario's")
    parser.add_argument(
        "--warmup", type=float, help="espresense: seconds published before the window (40)"
    )
    parser.add_argument(
        "--publishers",
        type=int,
        default=2,
        help="espresense: publisher processes (each with its share of the rooms' connections)",
    )
    parser.add_argument(
        "--memory",
        action="store_true",
        help="measure the hot path's memory per part in-process (no appliance)",
    )
    community = parser.add_argument_group("community scenario (GPS trackers)")
    community.add_argument(
        "--trackers", type=int, default=400, help="Teltonika TCP connections held open (400)"
    )
    community.add_argument(
        "--posters", type=int, default=100, help="phones posting to the OsmAnd listener (100)"
    )
    community.add_argument(
        "--idle", type=int, default=1000, help="silent connections held for the memory figure"
    )
    community.add_argument(
        "--baseline-seconds",
        type=_positive,
        default=3.0,
        help="community, rfid, wifi: seconds the bare decode baseline runs (3; the best of three)",
    )
    community.add_argument(
        "--records",
        type=int,
        default=4,
        help="records per max-phase AVL packet, 1 to 255 (4: a fix every 30 s sent every 120 s)",
    )
    community.add_argument(
        "--backlog", type=int, default=20, help="trackers replaying 255 buffered fixes each"
    )
    community.add_argument(
        "--tcp-workers",
        default="auto",
        help='[plugin.gps] tcp_workers: worker processes holding the trackers ("auto", or 0 '
        "to hold them in the appliance's own process)",
    )
    rfid = parser.add_argument_group("rfid scenario (LLRP readers; --tags: tags in view, 2000)")
    rfid.add_argument(
        "--readers", type=int, default=20, help="emulated LLRP readers, 4 antennas each"
    )
    rfid.add_argument(
        "--read-rate", type=float, default=200.0, help="nominal reads a second per reader (200)"
    )
    rfid.add_argument(
        "--movers", type=int, default=100, help="tags coming into view in the nominal phase"
    )
    rfid.add_argument(
        "--reports-per-frame",
        type=int,
        default=100,
        help="tag reports per RO_ACCESS_REPORT in the max phase (100)",
    )
    rfid.add_argument(
        "--batch-seconds", type=float, default=0.25, help="[plugin.rfid] batch_seconds (0.25)"
    )
    wifi = parser.add_argument_group(
        "wifi scenario (a controller's syslog; --rate: UDP lines a second, 50000)"
    )
    wifi.add_argument("--pumps", type=int, default=500, help="devices bound to assets (500)")
    wifi.add_argument("--phones", type=int, default=20_000, help="devices no asset carries (20000)")
    wifi.add_argument("--access-points", type=int, default=60, help="access points registered (60)")
    wifi.add_argument(
        "--known-share",
        type=float,
        default=0.05,
        help="the bound devices' share of the lines (0.05: 95%% are phones)",
    )
    wifi.add_argument(
        "--streams", type=int, default=4, help="TCP syslog streams in the max phase (4)"
    )
    queries = parser.add_argument_group("query benchmark")
    queries.add_argument(
        "--queries", action="store_true", help="where-is / assets-in-zone latency instead"
    )
    queries.add_argument(
        "--assets", type=int, default=100_000, help="query benchmark, estate: assets (100,000)"
    )
    queries.add_argument(
        "--tracked-first",
        type=int,
        default=10_000,
        help="estate: assets tracked before the first RSS reading (10,000)",
    )
    queries.add_argument("--history", type=int, default=10_000_000, help="history rows")
    queries.add_argument("--requests", type=int, default=2000, help="requests per query kind")
    return parser


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result), flush=True)
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}", flush=True)


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl+C, so the appliance is stopped and its temp dir removed.
    raise SystemExit(128 + signum)


def _espresense(args: argparse.Namespace) -> dict[str, Any]:
    from bench.espresense import (
        SPEC,
        TARGET_PER_S,
        WARMUP_S,
        EspresenseOptions,
        run_espresense,
    )

    if args.memory or args.tls:
        raise BenchError("--memory and --tls do not apply to the espresense scenario")
    spec = SPEC
    if args.seed is not None:
        spec = replace(spec, seed=args.seed)
    if args.tags is not None:
        spec = replace(spec, tags=args.tags)
    return run_espresense(
        EspresenseOptions(
            spec=spec,
            rate=None if args.rate == "max" else (args.rate or TARGET_PER_S),
            seconds=args.seconds or spec.seconds,
            publishers=max(args.publishers, 1),
            warmup_s=WARMUP_S if args.warmup is None else args.warmup,
            profile=args.profile,
            drain_timeout_s=args.drain_timeout,
        )
    )


def _community(args: argparse.Namespace) -> dict[str, Any]:
    from bench.community import CommunityOptions, run_community

    if args.memory or args.tls:
        raise BenchError("--memory and --tls do not apply to the community scenario")
    for name in ("trackers", "posters", "idle", "backlog"):
        if getattr(args, name) < 0:
            raise BenchError(f"--{name} must be 0 or more")
    if args.trackers == 0:
        raise BenchError("--trackers must be at least 1")
    if not 1 <= args.records <= 255:
        raise BenchError("--records must be 1 to 255 (an AVL packet's records)")
    workers = args.tcp_workers
    if workers != "auto" and not (workers.isdigit() and int(workers) <= 16):
        raise BenchError('--tcp-workers must be "auto" or 0 to 16')
    return run_community(
        CommunityOptions(
            trackers=args.trackers,
            posters=args.posters,
            seconds=args.seconds or 10.0,
            rate_max=args.rate == "max",
            backlog=args.backlog,
            idle=args.idle,
            records=args.records,
            baseline_budget_s=args.baseline_seconds,
            profile=args.profile,
            tcp_workers=workers if workers == "auto" else int(workers),
        )
    )


def _rfid(args: argparse.Namespace) -> dict[str, Any]:
    from bench.rfid import RfidOptions, run_rfid

    if args.memory or args.tls:
        raise BenchError("--memory and --tls do not apply to the rfid scenario")
    tags = 2000 if args.tags is None else args.tags
    if args.readers < 1:
        raise BenchError("--readers must be at least 1")
    if tags < args.readers:
        raise BenchError("--tags must be at least --readers (each reader has tags in view)")
    if args.movers < 0:
        raise BenchError("--movers must be 0 or more")
    if args.read_rate <= 0:
        raise BenchError("--read-rate must be positive")
    if args.rate not in (None, "max"):
        raise BenchError("--rate is max for the rfid scenario (the nominal rate is --read-rate)")
    if not 1 <= args.reports_per_frame <= 1000:
        raise BenchError("--reports-per-frame must be 1 to 1000")
    if not 0 < args.batch_seconds <= 10:
        raise BenchError("--batch-seconds must be above 0 and at most 10")
    return run_rfid(
        RfidOptions(
            readers=args.readers,
            tags=tags,
            seconds=args.seconds or 10.0,
            read_rate=args.read_rate,
            movers=args.movers,
            reports_per_frame=args.reports_per_frame,
            batch_seconds=args.batch_seconds,
            baseline_budget_s=args.baseline_seconds,
            profile=args.profile,
        )
    )


def _wifi(args: argparse.Namespace) -> dict[str, Any]:
    from bench.wifi import WifiOptions, run_wifi

    if args.memory or args.tls:
        raise BenchError("--memory and --tls do not apply to the wifi scenario")
    if args.rate == "max":
        raise BenchError("--rate is the UDP phase's lines a second for the wifi scenario")
    for name in ("pumps", "phones", "access_points", "streams"):
        if getattr(args, name) < 1:
            raise BenchError(f"--{name.replace('_', '-')} must be at least 1")
    if not 0 < args.known_share <= 1:
        raise BenchError("--known-share must be above 0 and at most 1")
    return run_wifi(
        WifiOptions(
            seconds=args.seconds or 10.0,
            rate=args.rate or 50_000.0,
            known_share=args.known_share,
            pumps=args.pumps,
            phones=args.phones,
            access_points=args.access_points,
            connections=args.streams,
            baseline_budget_s=args.baseline_seconds,
            profile=args.profile,
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main else None
    try:
        if args.queries:
            from bench.queries import QueryOptions, run_queries

            result = run_queries(
                QueryOptions(
                    assets=args.assets,
                    history=args.history,
                    requests=args.requests,
                    tls=args.tls,
                    profile=args.profile,
                )
            )
        elif args.scenario == ESPRESENSE:
            result = _espresense(args)
        elif args.scenario == COMMUNITY:
            result = _community(args)
        elif args.scenario == RFID:
            result = _rfid(args)
        elif args.scenario == WIFI:
            result = _wifi(args)
        elif args.scenario == ESTATE:
            from bench.estate import EstateOptions, run_estate

            if args.memory or args.tls or args.rate is not None:
                raise BenchError("--memory, --tls and --rate do not apply to the estate scenario")
            result = run_estate(EstateOptions(assets=args.assets, tracked_first=args.tracked_first))
        elif args.memory:
            from bench.memory import run_memory

            spec = SCENARIOS[args.scenario]
            result = run_memory(spec, int(args.seconds or 10))
        else:
            spec = SCENARIOS[args.scenario]
            if args.seed is not None:
                spec = replace(spec, seed=args.seed)
            if args.tags is not None:
                spec = replace(spec, tags=args.tags)
            rate = args.rate
            result = run_product(
                ProductOptions(
                    spec=spec,
                    rate=None if rate == "max" else (rate or spec.nominal_per_s),
                    seconds=args.seconds or spec.seconds,
                    connections=max(args.connections, 1),
                    tls=args.tls,
                    profile=args.profile,
                    drain_timeout_s=args.drain_timeout,
                    backlog_seconds_per_post=args.backlog_seconds,
                )
            )
    except BenchError as exc:
        print(f"floki-core bench: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    _print(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
