"""Simple floor-plan images for the demo floors, drawn from the same layout as the zones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from floki_core.demo.site import (
    METRES_PER_PIXEL,
    PLAN_HEIGHT,
    PLAN_WIDTH,
    FloorLayout,
    Rect,
)
from floki_core.domain import ZoneType

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

_PAPER = "#fbfbf8"
_CORRIDOR = "#e4e4e0"
_WALL = "#2b2b2b"
_PARTITION = "#555555"
_INK = "#1a1a1a"
_FEATURE = "#cfcfca"
_FILLS = {
    ZoneType.WARD: "#dbe8f5",
    ZoneType.BAY: "#f2f7fc",
    ZoneType.THEATRE: "#def0de",
    ZoneType.EMERGENCY: "#f7dede",
    ZoneType.DEPARTMENT: "#ecece6",
    ZoneType.ROOM: "#ffffff",
    ZoneType.STORE: "#efe5d2",
    ZoneType.DIRTY_UTILITY: "#e8dcec",
    ZoneType.EQUIPMENT_LIBRARY: "#fbf1c7",
    ZoneType.WORKSHOP: "#fde3cc",
    ZoneType.COMMUNITY_HUB: "#d5efec",
}
_SCALE_BAR_METRES = 10


def _font(size: int) -> Font:
    # Pillow's bundled font: the same glyphs on every appliance, no system fonts needed.
    return ImageFont.load_default(size=size)


def draw_floor_plan(floor: FloorLayout) -> Image.Image:
    image = Image.new("RGB", (PLAN_WIDTH, PLAN_HEIGHT), _PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle(floor.outline, fill=_CORRIDOR)
    parents = {z.parent for z in floor.zones if z.parent is not None}
    top_level = [z for z in floor.zones if z.parent is None]
    rooms = [z for z in floor.zones if z.parent is not None]
    # Departments and wards first, then what lies inside them (features, rooms) on top.
    for zone in top_level:
        draw.rectangle(
            zone.rect, fill=_FILLS.get(zone.type, "#ffffff"), outline=_PARTITION, width=3
        )
        if zone.name in parents:
            left, top, _, _ = zone.rect
            draw.text((left + 12, top + 10), zone.name, fill=_INK, font=_font(22))
        else:
            _label(draw, zone.rect, zone.name, _font(20))
    for feature in floor.features:
        _hatched(draw, feature.rect)
        _label(draw, feature.rect, feature.label, _font(18), backdrop=True)
    for zone in rooms:
        draw.rectangle(
            zone.rect, fill=_FILLS.get(zone.type, "#ffffff"), outline=_PARTITION, width=3
        )
        _label(draw, zone.rect, zone.name, _font(20))
    for text, (x, y) in floor.corridor_labels:
        draw.text((x, y), text, fill="#6b6b66", font=_font(18), anchor="mm")
    draw.rectangle(floor.outline, outline=_WALL, width=8)
    draw.text((40, 22), floor.title, fill=_INK, font=_font(26))
    _scale_bar(draw, floor.outline[0], floor.outline[3] + 18)
    _north_arrow(draw, floor.outline[2] - 20, 10)
    return image


def save_floor_plan(image: Image.Image, directory: Path, name: str) -> Path:
    target = directory / name
    image.save(target, format="PNG", optimize=True)
    return target


def _label(
    draw: ImageDraw.ImageDraw, rect: Rect, text: str, font: Font, *, backdrop: bool = False
) -> None:
    """The text centred in the rectangle, wrapped onto more lines if it is too wide."""
    left, top, right, bottom = rect
    centre = ((left + right) / 2, (top + bottom) / 2)
    text = "\n".join(_wrap(draw, text, font, right - left - 16))
    style: dict[str, Any] = {"font": font, "anchor": "mm", "align": "center", "spacing": 4}
    if backdrop:
        # Keeps the words readable over hatching.
        box = draw.multiline_textbbox(centre, text, **style)
        draw.rectangle((box[0] - 6, box[1] - 4, box[2] + 6, box[3] + 4), fill=_PAPER)
    draw.multiline_text(centre, text, fill=_INK, **style)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _hatched(draw: ImageDraw.ImageDraw, rect: Rect) -> None:
    left, top, right, bottom = rect
    draw.rectangle(rect, fill=_FEATURE)
    step = 24
    # Diagonals clipped to the rectangle: the usual mark for space that is not a room.
    for offset in range(-(bottom - top), right - left, step):
        x0, y0 = left + offset, top
        x1, y1 = x0 + (bottom - top), bottom
        if x0 < left:
            y0, x0 = top + (left - x0), left
        if x1 > right:
            y1, x1 = bottom - (x1 - right), right
        draw.line((x0, y0, x1, y1), fill="#b5b5af", width=2)
    draw.rectangle(rect, outline=_PARTITION, width=3)


def _scale_bar(draw: ImageDraw.ImageDraw, x: int, y: int) -> None:
    """A 10 m bar in four alternating blocks, labelled in metres."""
    length = round(_SCALE_BAR_METRES / METRES_PER_PIXEL)
    blocks = 4
    block = length / blocks
    for i in range(blocks):
        colour = _INK if i % 2 == 0 else _PAPER
        box = (x + i * block, y, x + (i + 1) * block, y + 10)
        draw.rectangle(box, fill=colour, outline=_INK, width=1)
    font = _font(16)
    draw.text((x, y + 14), "0", fill=_INK, font=font, anchor="mt")
    half = _SCALE_BAR_METRES // 2
    draw.text((x + length / 2, y + 14), f"{half} m", fill=_INK, font=font, anchor="mt")
    draw.text((x + length, y + 14), f"{_SCALE_BAR_METRES} m", fill=_INK, font=font, anchor="mt")


def _north_arrow(draw: ImageDraw.ImageDraw, x: int, y: int) -> None:
    draw.polygon([(x, y), (x - 10, y + 30), (x, y + 22), (x + 10, y + 30)], fill=_INK)
    draw.text((x, y + 34), "N", fill=_INK, font=_font(16), anchor="mt")
