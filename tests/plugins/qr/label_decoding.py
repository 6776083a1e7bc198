"""Reading printed labels back as a camera would: the PDF rasterised by Ghostscript, each
label cut out at its place on the page and decoded by zbar."""

from __future__ import annotations

import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from PIL import Image

from floki_qr.label_sheets import SheetLayout, label_boxes
from tests.fixtures.requirements import require_binary

DPI = 300
_ZBAR = "{http://zbar.sourceforge.net/2008/barcode}"


def rasterise(pdf: bytes, folder: Path, dpi: int = DPI) -> list[Path]:
    """One greyscale PNG per page of the PDF."""
    gs = require_binary("gs")
    source = folder / "labels.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            gs,
            "-q",
            "-dSAFER",
            "-dBATCH",
            "-dNOPAUSE",
            "-sDEVICE=pnggray",
            f"-r{dpi}",
            f"-sOutputFile={folder}/page-%03d.png",
            str(source),
        ],
        check=True,
        timeout=120,
    )
    return sorted(folder.glob("page-*.png"))


def decode_images(paths: list[Path]) -> dict[Path, list[str]]:
    """What zbar reads in each image (one zbarimg run for all of them)."""
    zbarimg = require_binary("zbarimg")
    done = subprocess.run(
        [zbarimg, "--xml", "-q", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 4), done.stderr  # 4: some image had no code
    found: dict[Path, list[str]] = {p: [] for p in paths}
    for source in ET.fromstring(done.stdout).iter(f"{_ZBAR}source"):
        path = Path(source.attrib["href"])
        found[path] = [d.text or "" for d in source.iter(f"{_ZBAR}data")]
    return found


def decode_labels(pdf: bytes, layout: SheetLayout, count: int, skip: int = 0) -> list[str]:
    """The code on each of ``count`` labels, in order; "" where none could be read."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pages = [Image.open(p) for p in rasterise(pdf, folder)]
        px = DPI / 25.4
        crops: list[Path] = []
        for i, (page, box) in enumerate(label_boxes(layout, count, skip)):
            image = pages[page]
            crop = image.crop(
                (
                    max(0, round(box.x * px)),
                    max(0, round(box.y * px)),
                    min(image.width, round(box.right * px)),
                    min(image.height, round(box.bottom * px)),
                )
            )
            path = folder / f"label-{i:04d}.png"
            crop.save(path)
            crops.append(path)
        read = decode_images(crops)
        return ["\n".join(read[p]) for p in crops]
