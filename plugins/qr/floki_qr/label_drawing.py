"""Drawing label sheets as PDF (reportlab) with their QR codes (segno): loaded only when
labels are printed (``label_sheets.render_labels``)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import segno
from reportlab.lib.units import mm  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped, unused-ignore]

from floki_qr.label_sheets import (
    BOLD,
    ELLIPSIS,
    MONO,
    PT,
    QUIET_ZONE,
    REGULAR,
    Box,
    ErrorCorrection,
    LabelContent,
    SheetLayout,
    code_square,
    label_boxes,
)

__all__ = ["draw_labels"]


def draw_labels(
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
