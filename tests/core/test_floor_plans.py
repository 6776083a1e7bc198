"""Floor-plan uploads: type-checked, size-limited, stored under names the client cannot choose."""

from __future__ import annotations

import io
import logging
import random
import re
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from floki_core.config import AppConfig, parse_config
from floki_core.testing import Floki

UPLOAD_LIMIT = 64 * 1024
GENERATED = re.compile(r"^[0-9a-f]{32}\.(png|jpg)$")


@pytest.fixture
def floki_config() -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False, "max_upload_bytes": UPLOAD_LIMIT},
        }
    )


def image_bytes(fmt: str, size: tuple[int, int] = (320, 200), mode: str = "RGB") -> bytes:
    image = Image.new(mode, size, "white" if mode != "1" else 1)
    if mode == "RGB":
        for x in range(0, size[0], 16):  # a few walls, so it is not a blank page
            for y in range(size[1]):
                image.putpixel((x, y), (40, 40, 40))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def noise_png(size: tuple[int, int]) -> bytes:
    rng = random.Random(7)
    image = Image.frombytes(
        "RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3))
    )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")


def plan_files(floki: Floki) -> list[str]:
    plans = floki.core.data_dir / "plans"
    return sorted(p.name for p in plans.iterdir()) if plans.exists() else []


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.fixture
async def floor(floki: Floki) -> dict[str, Any]:
    admin = await floki.headers("admin")
    site = await (
        await floki.client.post("/api/v1/sites", json={"name": "GH"}, headers=admin)
    ).json()
    building = await (
        await floki.client.post(
            "/api/v1/buildings", json={"site_id": site["id"], "name": "Main"}, headers=admin
        )
    ).json()
    resp = await floki.client.post(
        "/api/v1/floors", json={"building_id": building["id"], "name": "Ground"}, headers=admin
    )
    assert resp.status == 201
    data: dict[str, Any] = await resp.json()
    assert data["has_plan"] is False
    return data


async def upload(
    floki: Floki, floor_id: int, body: bytes, content_type: str, role: str = "admin", **headers: str
):  # type: ignore[no-untyped-def]
    all_headers = {**await floki.headers(role), "Content-Type": content_type, **headers}
    return await floki.client.put(f"/api/v1/floors/{floor_id}/plan", data=body, headers=all_headers)


async def floor_now(floki: Floki, floor_id: int) -> dict[str, Any]:
    resp = await floki.client.get(
        f"/api/v1/floors/{floor_id}", headers=await floki.headers("viewer")
    )
    data: dict[str, Any] = await resp.json()
    return data


async def plan_audit(floki: Floki, floor_id: int) -> list[dict[str, Any]]:
    resp = await floki.client.get(
        "/api/v1/audit",
        params={"entity": "floors", "entity_id": str(floor_id), "action": "update"},
        headers=await floki.headers("admin"),
    )
    items: list[dict[str, Any]] = (await resp.json())["items"]
    return items


async def test_png_plan_round_trip(floki: Floki, floor: dict[str, Any]) -> None:
    resp = await upload(floki, floor["id"], PNG, "image/png")
    assert resp.status == 200
    body = await resp.json()
    assert (body["has_plan"], body["plan_width_px"], body["plan_height_px"]) == (True, 320, 200)
    assert await floor_now(floki, floor["id"]) == body

    resp = await floki.client.get(
        f"/api/v1/floors/{floor['id']}/plan", headers=await floki.headers("viewer")
    )
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "image/png"
    assert await resp.read() == PNG

    entries = await plan_audit(floki, floor["id"])
    assert len(entries) == 1
    assert entries[0]["actor"] == "test-admin"
    assert "320x200" in entries[0]["detail"]


async def test_jpeg_plan_is_served_as_jpeg(floki: Floki, floor: dict[str, Any]) -> None:
    resp = await upload(floki, floor["id"], JPEG, "image/jpeg")
    assert resp.status == 200
    resp = await floki.client.get(
        f"/api/v1/floors/{floor['id']}/plan", headers=await floki.headers("viewer")
    )
    assert resp.headers["Content-Type"] == "image/jpeg"
    assert await resp.read() == JPEG


async def test_floor_without_plan_is_404(floki: Floki, floor: dict[str, Any]) -> None:
    resp = await floki.client.get(
        f"/api/v1/floors/{floor['id']}/plan", headers=await floki.headers("viewer")
    )
    assert resp.status == 404
    assert (await resp.json())["error"] == "this floor has no plan"


TRUNCATED_PNG = PNG[: len(PNG) // 2]
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'

REFUSED = [
    ("jpeg claiming png", JPEG, "image/png", 415, "not image/png"),
    ("png claiming jpeg", PNG, "image/jpeg", 415, "not image/jpeg"),
    (
        "text claiming png",
        b"this is not a floor plan\n" * 20,
        "image/png",
        415,
        "not a readable PNG",
    ),
    ("truncated png", TRUNCATED_PNG, "image/png", 415, "PNG"),
    ("svg", SVG, "image/svg+xml", 415, "must be image/png or image/jpeg"),
    ("gif", image_bytes("GIF", mode="L"), "image/gif", 415, "must be image/png or image/jpeg"),
    ("json", b'{"plan": 1}', "application/json", 415, "must be image/png"),
    ("empty", b"", "image/png", 415, "PNG"),
]


@pytest.mark.parametrize(
    ("what", "body", "ctype", "status", "reason"), REFUSED, ids=[r[0] for r in REFUSED]
)
async def test_wrong_images_are_refused_and_nothing_is_kept(
    floki: Floki,
    floor: dict[str, Any],
    what: str,
    body: bytes,
    ctype: str,
    status: int,
    reason: str,
) -> None:
    data_dir = floki.core.data_dir
    before = files_under(data_dir)
    resp = await upload(floki, floor["id"], body, ctype)
    assert resp.status == status
    reply = await resp.json()
    assert reply["status"] == status
    assert reason in reply["error"]
    assert plan_files(floki) == []
    assert {p for p in files_under(data_dir) if "plans" in p.parts} == set()
    assert {
        p for p in files_under(data_dir) - before if p.suffix in (".png", ".jpg", ".svg")
    } == set()
    assert (await floor_now(floki, floor["id"]))["has_plan"] is False
    assert await plan_audit(floki, floor["id"]) == []


async def test_oversized_upload_is_413(floki: Floki, floor: dict[str, Any]) -> None:
    big = noise_png((160, 160))
    assert len(big) > UPLOAD_LIMIT
    resp = await upload(floki, floor["id"], big, "image/png")
    assert resp.status == 413
    assert str(UPLOAD_LIMIT) in (await resp.json())["error"]
    assert plan_files(floki) == []
    assert (await floor_now(floki, floor["id"]))["has_plan"] is False


async def test_image_with_too_many_pixels_is_413(floki: Floki, floor: dict[str, Any]) -> None:
    # A few kilobytes on the wire, 48 megapixels once decoded.
    bomb = image_bytes("PNG", size=(8000, 6000), mode="1")
    assert len(bomb) < UPLOAD_LIMIT
    resp = await upload(floki, floor["id"], bomb, "image/png")
    assert resp.status == 413
    assert "megapixels" in (await resp.json())["error"]
    assert plan_files(floki) == []


async def test_stored_name_is_generated_never_the_clients(
    floki: Floki, floor: dict[str, Any]
) -> None:
    data_dir = floki.core.data_dir
    outside = data_dir.parent
    before = files_under(outside)
    resp = await upload(
        floki,
        floor["id"],
        PNG,
        "image/png",
        **{"Content-Disposition": 'attachment; filename="../../etc/passwd"'},
    )
    assert resp.status == 200
    names = plan_files(floki)
    assert len(names) == 1
    assert GENERATED.match(names[0]), names
    assert names[0].endswith(".png")
    new = files_under(outside) - before
    assert new == {data_dir / "plans" / names[0]}
    assert all("passwd" not in str(p) for p in new)
    assert "passwd" not in (await resp.text())


async def test_second_upload_replaces_and_removes_the_old_file(
    floki: Floki, floor: dict[str, Any]
) -> None:
    assert (await upload(floki, floor["id"], PNG, "image/png")).status == 200
    [first] = plan_files(floki)
    resp = await upload(floki, floor["id"], JPEG, "image/jpeg")
    assert resp.status == 200
    [second] = plan_files(floki)
    assert second != first and second.endswith(".jpg")
    resp = await floki.client.get(
        f"/api/v1/floors/{floor['id']}/plan", headers=await floki.headers("viewer")
    )
    assert await resp.read() == JPEG
    assert len(await plan_audit(floki, floor["id"])) == 2


async def test_refused_replacement_keeps_the_current_plan(
    floki: Floki, floor: dict[str, Any]
) -> None:
    assert (await upload(floki, floor["id"], PNG, "image/png")).status == 200
    kept = plan_files(floki)
    assert (await upload(floki, floor["id"], JPEG, "image/png")).status == 415
    assert plan_files(floki) == kept
    resp = await floki.client.get(
        f"/api/v1/floors/{floor['id']}/plan", headers=await floki.headers("viewer")
    )
    assert await resp.read() == PNG


@pytest.mark.parametrize("role", ["viewer", "staff", "engineer"])
async def test_only_admins_upload_plans(floki: Floki, floor: dict[str, Any], role: str) -> None:
    resp = await upload(floki, floor["id"], PNG, "image/png", role=role)
    assert resp.status == 403
    assert plan_files(floki) == []
    assert (await floor_now(floki, floor["id"]))["has_plan"] is False


async def test_upload_to_a_missing_floor_leaves_no_file(
    floki: Floki, floor: dict[str, Any]
) -> None:
    resp = await upload(floki, 999, PNG, "image/png")
    assert resp.status == 404
    assert plan_files(floki) == []


async def test_deleting_a_floor_removes_its_plan_file(floki: Floki, floor: dict[str, Any]) -> None:
    """A deleted floor's drawing must not linger on disk where no API call can reach it."""
    assert (await upload(floki, floor["id"], PNG, "image/png")).status == 200
    assert len(plan_files(floki)) == 1
    resp = await floki.client.delete(
        f"/api/v1/floors/{floor['id']}", headers=await floki.headers("admin")
    )
    assert resp.status == 204
    assert plan_files(floki) == []


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header says it is ``width`` x ``height`` (a decompression bomb's
    calling card: Pillow refuses to open it at all)."""
    png = bytearray(PNG)
    ihdr = png.index(b"IHDR")
    png[ihdr + 4 : ihdr + 12] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    crc = zlib.crc32(bytes(png[ihdr : ihdr + 17]))
    png[ihdr + 17 : ihdr + 21] = crc.to_bytes(4, "big")
    return bytes(png)


def jpeg_claiming(width: int, height: int) -> bytes:
    jpeg = bytearray(JPEG)
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(jpeg)


@pytest.mark.parametrize(
    ("body", "ctype"),
    [(png_claiming(20000, 20000), "image/png"), (jpeg_claiming(20000, 20000), "image/jpeg")],
    ids=["png", "jpeg"],
)
async def test_a_header_claiming_a_huge_image_is_413_naming_the_limit(
    floki: Floki, floor: dict[str, Any], caplog: pytest.LogCaptureFixture, body: bytes, ctype: str
) -> None:
    resp = await upload(floki, floor["id"], body, ctype)
    assert resp.status == 413
    error = (await resp.json())["error"]
    assert "20000x20000" in error and "40 megapixels" in error, error
    assert plan_files(floki) == []
    assert (await floor_now(floki, floor["id"]))["has_plan"] is False
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
