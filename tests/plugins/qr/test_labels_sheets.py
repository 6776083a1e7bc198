"""Label sheets: the stock's geometry, and PDFs whose codes a camera reads back."""

from __future__ import annotations

from pathlib import Path

import pytest
import segno
from PIL import Image

from floki_qr.label_sheets import (
    LAYOUTS,
    QUIET_ZONE,
    LabelContent,
    code_square,
    label_boxes,
    render_labels,
    single_label,
)
from tests.plugins.qr.label_decoding import DPI, decode_labels, rasterise

LONG_NAME = "Paediatric High Dependency Unit Side Room 4 (Isolation) - Negative Pressure"


def _labels(count: int, *, title: str = "EQ-{i:05d}") -> list[LabelContent]:
    return [
        LabelContent(
            url=f"https://floki.example.nhs.uk:8443/q/7K3M{i:04d}",
            title=title.format(i=i),
            subtitle="Volumetric infusion pump, Alaris GP plus",
            code=f"7K3M{i:04d}",
            site="St Elsewhere University Hospitals NHS Foundation Trust",
        )
        for i in range(count)
    ]


# (layout, labels per page, label size, pitch, first label's top-left) from the makers'
# published templates: Avery L7160 and L7651 on A4.
STOCK = [
    ("21", 21, (63.5, 38.1), (66.04, 38.1), (7.21, 15.15)),
    ("65", 65, (38.1, 21.2), (40.64, 21.2), (4.67, 10.7)),
]


@pytest.mark.parametrize(("name", "per_page", "size", "pitch", "origin"), STOCK)
def test_sheet_geometry_follows_the_label_stock(
    name: str,
    per_page: int,
    size: tuple[float, float],
    pitch: tuple[float, float],
    origin: tuple[float, float],
) -> None:
    layout = LAYOUTS[name]
    assert (layout.page_width, layout.page_height) == (210.0, 297.0)
    assert layout.per_page == per_page
    boxes = [layout.slot(i) for i in range(per_page)]
    assert (boxes[0].x, boxes[0].y) == pytest.approx(origin, abs=0.01)
    assert {(b.width, b.height) for b in boxes} == {size}
    assert boxes[1].x - boxes[0].x == pytest.approx(pitch[0])
    assert boxes[layout.columns].y - boxes[0].y == pytest.approx(pitch[1])
    for box in boxes:
        assert box.x > 0 and box.right < layout.page_width
        assert box.y > 0 and box.bottom < layout.page_height
    # The grid is centred: the margins left and right (top and bottom) are equal.
    last = boxes[-1]
    assert layout.page_width - last.right == pytest.approx(boxes[0].x, abs=0.01)
    assert layout.page_height - last.bottom == pytest.approx(boxes[0].y, abs=0.01)


def test_a_single_label_is_a_page_of_its_own() -> None:
    layout = single_label(62, 29)
    assert (layout.page_width, layout.page_height, layout.per_page) == (62, 29, 1)
    assert layout.slot(0).x == 0 and layout.slot(0).width == 62


def test_skipping_used_labels_starts_further_into_the_first_sheet() -> None:
    layout = LAYOUTS["21"]
    places = label_boxes(layout, 5, skip=19)
    assert [page for page, _ in places] == [0, 0, 1, 1, 1]
    assert places[0][1] == layout.slot(19)
    assert places[2][1] == layout.slot(0)
    with pytest.raises(ValueError, match="skip must be between 0 and 20"):
        label_boxes(layout, 5, skip=21)


@pytest.mark.parametrize(
    ("name", "count", "skip"), [("21", 23, 2), ("65", 67, 3), ("single", 2, 0)]
)
def test_every_label_decodes_to_its_url(name: str, count: int, skip: int) -> None:
    layout = LAYOUTS[name]
    labels = _labels(count)
    pdf = render_labels(labels, layout, skip=skip)
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 1
    assert decode_labels(pdf, layout, count, skip) == [label.url for label in labels]


def test_long_names_still_leave_the_code_readable() -> None:
    layout = LAYOUTS["65"]
    labels = _labels(3, title=LONG_NAME + " {i}")
    pdf = render_labels(labels, layout, error="Q")
    assert decode_labels(pdf, layout, 3) == [label.url for label in labels]


def test_the_same_labels_give_the_same_pdf() -> None:
    labels = _labels(4)
    assert render_labels(labels, LAYOUTS["21"]) == render_labels(labels, LAYOUTS["21"])


@pytest.mark.parametrize("name", ["21", "65", "single"])
def test_the_quiet_zone_around_each_code_is_blank(name: str, tmp_path: Path) -> None:
    layout = LAYOUTS[name]
    url = _labels(1)[0].url
    pdf = render_labels(_labels(1), layout)
    page = Image.open(rasterise(pdf, tmp_path)[0])
    assert page.mode == "L"
    grey, width = page.tobytes(), page.width
    square = code_square(layout, layout.slot(0))
    modules = len(segno.make_qr(url, error="m").matrix) + 2 * QUIET_ZONE
    quiet = square.width / modules * QUIET_ZONE
    px = DPI / 25.4
    in_band = in_code = 0
    # The band of the square outside the code proper, a pixel short of the code's edge.
    outer = [round(v * px) for v in (square.x, square.y, square.right, square.bottom)]
    inner = [round(v * px) for v in (square.x + quiet, square.y + quiet)]
    inner += [round((square.right - quiet) * px), round((square.bottom - quiet) * px)]
    for y in range(outer[1], outer[3]):
        for x in range(outer[0], outer[2]):
            if grey[y * width + x] >= 128:
                continue
            if inner[0] - 1 <= x <= inner[2] and inner[1] - 1 <= y <= inner[3]:
                in_code += 1
            else:
                in_band += 1
    assert in_band == 0
    assert in_code > 0
    assert square.width / modules > 0.4  # mm a module: phone cameras read 0.33 and up
