"""Label stock and PDF sheets of QR labels. Pure: label contents in, PDF bytes out.

Geometry is in millimetres from the top-left corner of the page, as label makers
publish it. Each label has its QR code on the left (with the 4-module quiet zone the
QR standard asks for, inside the square reserved for it) and, on the right, the asset
number or location name, a second line (description or parent location), the label's
short code and the site's name, shrunk or wrapped to fit.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import segno
from reportlab.lib.units import mm  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "LAYOUTS",
    "QUIET_ZONE",
    "Box",
    "ErrorCorrection",
    "LabelContent",
    "SheetLayout",
    "code_square",
    "label_boxes",
    "render_labels",
    "single_label",
]

ErrorCorrection = Literal["M", "Q"]
QUIET_ZONE = 4  # modules of blank margin around a QR code (ISO/IEC 18004)
PT = 25.4 / 72  # millimetres per point
A4 = (210.0, 297.0)
BOLD, REGULAR, MONO = "Helvetica-Bold", "Helvetica", "Courier-Bold"
ELLIPSIS = "\u2026"


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass(frozen=True)
class SheetLayout:
    name: str
    description: str
    page_width: float
    page_height: float
    label_width: float
    label_height: float
    columns: int
    rows: int
    left: float  # page edge to the first label
    top: float
    pitch_x: float  # one label's left edge to the next one's
    pitch_y: float
    padding: float
    title_pt: float
    text_pt: float
    small_pt: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def slot(self, index: int) -> Box:
        """The label at ``index`` (0 top-left, row by row) on one page."""
        if not 0 <= index < self.per_page:
            raise ValueError(f"label {index} is not on a {self.per_page}-label page")
        row, column = divmod(index, self.columns)
        return Box(
            self.left + column * self.pitch_x,
            self.top + row * self.pitch_y,
            self.label_width,
            self.label_height,
        )


def _a4_sheet(
    name: str,
    description: str,
    size: tuple[float, float],
    grid: tuple[int, int],
    *,
    pitch_x: float,
    padding: float,
    fonts: tuple[float, float, float],
) -> SheetLayout:
    # Label makers centre the grid on the page; the margins follow from the pitch.
    (width, height), (columns, rows) = size, grid
    used_x = (columns - 1) * pitch_x + width
    return SheetLayout(
        name=name,
        description=description,
        page_width=A4[0],
        page_height=A4[1],
        label_width=width,
        label_height=height,
        columns=columns,
        rows=rows,
        left=round((A4[0] - used_x) / 2, 3),
        top=round((A4[1] - rows * height) / 2, 3),
        pitch_x=pitch_x,
        pitch_y=height,
        padding=padding,
        title_pt=fonts[0],
        text_pt=fonts[1],
        small_pt=fonts[2],
    )


def single_label(width: float = 62.0, height: float = 29.0) -> SheetLayout:
    """One label per page, the page the size of the label (label printers)."""
    title = min(12.0, max(6.0, height * 0.38))
    return SheetLayout(
        name="single",
        description=f"single {width:g} x {height:g} mm labels for a label printer",
        page_width=width,
        page_height=height,
        label_width=width,
        label_height=height,
        columns=1,
        rows=1,
        left=0.0,
        top=0.0,
        pitch_x=width,
        pitch_y=height,
        padding=min(2.0, height * 0.06),
        title_pt=title,
        text_pt=title * 0.7,
        small_pt=max(5.0, title * 0.6),
    )


LAYOUTS: dict[str, SheetLayout] = {
    "21": _a4_sheet(
        "21",
        "A4, 21 labels of 63.5 x 38.1 mm (Avery L7160 and equivalents)",
        (63.5, 38.1),
        (3, 7),
        pitch_x=66.04,
        padding=1.5,
        fonts=(12, 8, 7),
    ),
    "65": _a4_sheet(
        "65",
        "A4, 65 labels of 38.1 x 21.2 mm (Avery L7651 and equivalents)",
        (38.1, 21.2),
        (5, 13),
        pitch_x=40.64,
        padding=1.0,
        fonts=(7, 5.5, 5),
    ),
    "single": single_label(),
}


@dataclass(frozen=True)
class LabelContent:
    url: str  # what the QR code carries
    title: str  # asset number or location name
    subtitle: str  # description, or the location's parent
    code: str  # the short code, for typing in when a camera cannot read the label
    site: str


def label_boxes(layout: SheetLayout, count: int, skip: int = 0) -> list[tuple[int, Box]]:
    """(page, box) of each of ``count`` labels, starting ``skip`` labels into the first page."""
    if not 0 <= skip < layout.per_page:
        raise ValueError(f"skip must be between 0 and {layout.per_page - 1} for this layout")
    places = (divmod(skip + i, layout.per_page) for i in range(count))
    return [(page, layout.slot(index)) for page, index in places]


def render_labels(
    labels: Sequence[LabelContent],
    layout: SheetLayout,
    *,
    skip: int = 0,
    error: ErrorCorrection = "M",
) -> bytes:
    """A PDF of the labels, page after page; the same labels give the same bytes."""
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer, pagesize=(layout.page_width * mm, layout.page_height * mm), invariant=True
    )
    canvas.setTitle("Floki labels")
    canvas.setCreator("Floki")
    current = 0
    for (page, box), label in zip(label_boxes(layout, len(labels), skip), labels, strict=True):
        if page != current:
            canvas.showPage()
            current = page
        _draw_label(canvas, layout, box, label, error)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def code_square(layout: SheetLayout, box: Box) -> Box:
    """Where a label's QR code goes, quiet zone included: nothing else is drawn there."""
    side = min(box.height - 2 * layout.padding, box.width * 0.6)
    return Box(box.x + layout.padding, box.y + (box.height - side) / 2, side, side)


def _draw_label(
    canvas: Canvas, layout: SheetLayout, box: Box, label: LabelContent, error: ErrorCorrection
) -> None:
    pad = layout.padding
    square = code_square(layout, box)
    _draw_qr(canvas, layout, label.url, square, error)
    text = Box(square.right, box.y + pad, box.right - pad - square.right, box.height - 2 * pad)
    ink = _TextColumn(canvas, layout, text)
    title = _fit(label.title, BOLD, layout.title_pt, layout.title_pt * 0.7, text.width)
    if title is not None:
        ink.line(*title)
    else:
        for line in _wrap(label.title, BOLD, layout.title_pt * 0.7, text.width, 2):
            ink.line(line, BOLD, layout.title_pt * 0.7)
    bottom = [(label.site, REGULAR, layout.small_pt)]
    if label.code:
        bottom.insert(0, (label.code, MONO, layout.small_pt))
    reserved = sum(size * 1.15 * PT for _, _, size in bottom)
    room = int((text.bottom - reserved - ink.y) / (layout.text_pt * 1.15 * PT))
    for line in _wrap(label.subtitle, REGULAR, layout.text_pt, text.width, min(room, 3)):
        ink.line(line, REGULAR, layout.text_pt)
    ink.y = text.bottom - reserved
    for value, font, size in bottom:
        fitted = _fit(value, font, size, size * 0.8, text.width)
        ink.line(*(fitted or (_ellipsised(value, font, size * 0.8, text.width), font, size * 0.8)))


class _TextColumn:
    """Lines of text set top-down in a box (mm, from the page's top-left)."""

    def __init__(self, canvas: Canvas, layout: SheetLayout, box: Box) -> None:
        self.canvas, self.layout, self.box = canvas, layout, box
        self.y = box.y

    def line(self, text: str, font: str, size: float) -> None:
        baseline = self.y + size * 0.9 * PT
        self.canvas.setFont(font, size)
        self.canvas.drawString(
            self.box.x * mm, (self.layout.page_height - baseline) * mm, _printable(text)
        )
        self.y += size * 1.15 * PT


def _draw_qr(
    canvas: Canvas, layout: SheetLayout, url: str, square: Box, error: ErrorCorrection
) -> None:
    """The code as vector squares, one path (no hairline seams between modules)."""
    matrix = segno.make_qr(url, error=error.lower()).matrix
    x, y = square.x, square.y
    module = square.width / (len(matrix) + 2 * QUIET_ZONE)
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        top = y + (r + QUIET_ZONE) * module
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            left = x + (start + QUIET_ZONE) * module
            path.rect(
                left * mm,
                (layout.page_height - top - module) * mm,
                (c - start) * module * mm,
                module * mm,
            )
    canvas.drawPath(path, stroke=0, fill=1)


def _printable(text: str) -> str:
    # The PDF base fonts cover Windows-1252; anything else would print as a blank box.
    return text.encode("cp1252", "replace").decode("cp1252")


def _width(text: str, font: str, size: float) -> float:
    return float(stringWidth(_printable(text), font, size)) * PT


def _fit(
    text: str, font: str, size: float, smallest: float, width: float
) -> tuple[str, str, float] | None:
    """The text on one line at the largest size from ``size`` down to ``smallest``."""
    while size >= smallest:
        if _width(text, font, size) <= width:
            return text, font, size
        size -= 0.25
    return None


def _ellipsised(text: str, font: str, size: float, width: float) -> str:
    while text and _width(text + ELLIPSIS, font, size) > width:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS if text else ""


def _wrap(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """Words on lines no wider than ``width``; a word too long is broken; the last line
    ends in an ellipsis if the text does not fit in ``max_lines``."""
    if max_lines <= 0 or not text.strip():
        return []
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if _width(candidate, font, size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while _width(word, font, size) > width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and _width(word[:cut], font, size) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        kept = lines[:max_lines]
        kept[-1] = _ellipsised(kept[-1] + " " + lines[max_lines], font, size, width)
        return kept
    return lines
