"""``python -m floki_console.bench``: how quickly the window appears, and how many live map
updates a second the map keeps up with at hospital scale. Prints one JSON line.

Runs offscreen with no appliance: the map is fed a synthetic floor (zones in a grid) and
asset moves shaped like the ``location.changed`` events the appliance sends. Each update
applies one batch of moves and repaints the map, as a frame of the live map does.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()


def synthetic_site(markers: int, zones: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """One 1600 x 1000 px floor with ``zones`` rooms in a grid and ``markers`` assets."""
    rng = random.Random(seed)
    cols = max(int(zones**0.5), 1)
    rows = -(-zones // cols)
    width, height = 1600 / cols, 1000 / rows
    zone_items = [
        {
            "id": 100 + n,
            "name": f"Room {n + 1}",
            "type": "room",
            "floor_id": 1,
            "polygon": [
                [c * width + 4, r * height + 4],
                [(c + 1) * width - 4, r * height + 4],
                [(c + 1) * width - 4, (r + 1) * height - 4],
                [c * width + 4, (r + 1) * height - 4],
            ],
        }
        for n, (r, c) in enumerate((r, c) for r in range(rows) for c in range(cols))
        if n < zones
    ]
    classes = [{"id": i, "name": name} for i, name in enumerate(["Pump", "Scanner", "Hoist"], 1)]
    states = ["available", "in_use", "dirty", "faulty"]
    assets = [
        {
            "id": i,
            "asset_number": f"E{i:05d}",
            "description": "Benchmark asset",
            "class_id": rng.randint(1, 3),
            "state": rng.choice(states),
            "location": {
                "zone": {"id": rng.choice(zone_items)["id"], "name": "Room"},
                "stale": rng.random() < 0.1,
                "last_seen": "2026-01-05T09:00:00Z",
            },
        }
        for i in range(1, markers + 1)
    ]
    return {
        "buildings": [{"id": 1, "name": "Main"}],
        "floors": [
            {
                "id": 1,
                "building_id": 1,
                "name": "Level 1",
                "has_plan": False,
                "plan_width_px": 1600,
                "plan_height_px": 1000,
            }
        ],
        "zones": zone_items,
        "classes": classes,
        "assets": assets,
    }


def synthetic_plan() -> Any:
    """A drawn floor plan of the synthetic floor's size, so each frame paints a plan too."""
    from PySide6.QtGui import QColor, QPainter, QPen, QPixmap

    plan = QPixmap(1600, 1000)
    plan.fill(QColor("white"))
    painter = QPainter(plan)
    painter.setPen(QPen(QColor("#444444"), 3))
    for x in range(0, 1601, 80):
        painter.drawLine(x, 0, x, 1000)
    for y in range(0, 1001, 50):
        painter.drawLine(0, y, 1600, y)
    painter.end()
    return plan


def run(markers: int, zones: int, seconds: float, moves: int) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from floki_console.binding import guard_qt_binding
    from floki_console.context import ConsoleContext
    from floki_console.credentials import TokenStore
    from floki_console.map_data import MapData
    from floki_console.trust import PinStore
    from floki_console.widgets.main_window import MainWindow

    class PaintCounter(QObject):
        """Counts a widget's paints: an update is only real once it is on screen."""

        def __init__(self, widget: QObject) -> None:
            super().__init__(widget)
            self.count = 0
            widget.installEventFilter(self)

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.count += 1
            return False

    app = QApplication.instance() or QApplication(sys.argv[:1])
    guarded = guard_qt_binding()
    with tempfile.TemporaryDirectory() as tmp:
        context = ConsoleContext(
            pins=PinStore(Path(tmp) / "pins.json"), tokens=TokenStore(use_keyring=False)
        )
        context.discover = False
        window = MainWindow(context)
        window.show()
        window.repaint()
        app.processEvents()
        first_window = time.perf_counter() - STARTED

        site = synthetic_site(markers, zones)
        map_view = window.map_view
        window.tabs.setCurrentWidget(map_view)
        paints = PaintCounter(map_view.view.viewport())
        began = time.perf_counter()
        map_view.set_data(MapData.from_api(**site))
        map_view.scene.set_plan(synthetic_plan())
        map_view.view.fit()
        app.processEvents()
        first_map = time.perf_counter() - began

        rng = random.Random(11)
        zone_ids = [z["id"] for z in site["zones"]]
        asset_ids = [a["id"] for a in site["assets"]]
        frames = 0
        moved = 0
        painted_before = paints.count
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            batch = [
                {
                    "type": "location.changed",
                    "at": "2026-01-05T09:00:01Z",
                    "entity_id": asset_id,
                    "data": {"asset_id": asset_id, "to_zone_id": rng.choice(zone_ids)},
                }
                for asset_id in rng.sample(asset_ids, moves)
            ]
            map_view.on_events(batch)
            map_view.apply_pending()
            app.processEvents()
            frames += 1
            moved += moves
        elapsed = time.perf_counter() - began
        # An update counts once it is on screen: never more than the frames painted.
        updates = min(frames, paints.count - painted_before)
        shown = len(map_view.scene.markers)
        window.close()
    return {
        "scenario": "console",
        "first_window_seconds": round(first_window, 3),
        "markers": shown,
        "zones": zones,
        "first_map_seconds": round(first_map, 3),
        "moves_per_update": moves,
        "map_updates_per_s": round(updates / elapsed, 1),
        "moves_per_s": round(moved / elapsed),
        "qt_binding_workaround": guarded,
        "targets": {"first_window_seconds": 2.0, "map_updates_per_s": 10.0},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m floki_console.bench", description=__doc__)
    parser.add_argument("--markers", type=int, default=5000)
    parser.add_argument("--zones", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--moves", type=int, default=250, help="asset moves in each update")
    args = parser.parse_args(argv)
    result = run(args.markers, args.zones, args.seconds, min(args.moves, args.markers))
    print(json.dumps(result))
    met = result["first_window_seconds"] <= 2.0 and result["map_updates_per_s"] >= 10.0
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
