"""Label stock and PDF sheets of QR labels. Pure: label contents in, PDF bytes out.

Geometry is in millimetres from the top-left corner of the page, as label makers
publish it. Each label has its QR code on the left (with the 4-module quiet zone the
QR standard asks for, inside the square reserved for it) and, on the right, the asset
number or location name, a second line (description or parent location), the label's
short code and the site's name, shrunk or wrapped to fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

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
    # The PDF and QR libraries are loaded when labels are first printed, not with the
    # appliance: they are most of what this plugin would otherwise hold in memory.
    from floki_qr.label_drawing import draw_labels

    return draw_labels(labels, layout, skip=skip, error=error)


def code_square(layout: SheetLayout, box: Box) -> Box:
    """Where a label's QR code goes, quiet zone included: nothing else is drawn there."""
    side = min(box.height - 2 * layout.padding, box.width * 0.6)
    return Box(box.x + layout.padding, box.y + (box.height - side) / 2, side, side)
