"""Floor-plan images: uploaded, checked, stored under a generated name."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from pathlib import Path

from aiohttp import web
from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from floki_core.api.bodies import ApiError, json_response, path_id, principal, read_raw
from floki_core.api.keys import CORE
from floki_core.api.routing import ApiRoute, RouteTable
from floki_core.domain import Floor, Principal
from floki_core.storage.audit import write_audit
from floki_core.storage.models import FloorRow
from floki_core.storage.register import FLOORS

PLAN_TYPES = {"image/png": ("PNG", ".png"), "image/jpeg": ("JPEG", ".jpg")}
MAX_PIXELS = 40_000_000


def plans_dir(data_dir: Path) -> Path:
    path = data_dir / "plans"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _too_many_pixels(width: int, height: int) -> ApiError:
    return ApiError(413, f"image is {width}x{height}; at most {MAX_PIXELS // 1_000_000} megapixels")


def _claimed_size(raw: bytes, fmt: str) -> tuple[int, int] | None:
    """The size a header claims, read without Pillow's decompression-bomb refusal (which
    does not say the size); nothing is decoded."""
    try:
        factory = Image.OPEN[fmt][0]
        return factory(io.BytesIO(raw), "").size
    except Exception:
        return None


def check_image(raw: bytes, content_type: str) -> tuple[str, int, int]:
    """The image's extension and size, if it really is the type it claims to be."""
    expected = PLAN_TYPES.get(content_type)
    if expected is None:
        raise ApiError(415, f"floor plans must be {' or '.join(PLAN_TYPES)}, got {content_type}")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format != expected[0]:
                raise ApiError(415, f"body is {image.format}, not {content_type}")
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise _too_many_pixels(width, height)
            image.verify()
    except Image.DecompressionBombError:
        # The header claims far more pixels than any plan: Pillow will not even open it.
        claimed = _claimed_size(raw, expected[0])
        if claimed is not None:
            raise _too_many_pixels(*claimed) from None
        raise ApiError(
            413, f"image is too large; at most {MAX_PIXELS // 1_000_000} megapixels"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ApiError(415, f"body is not a readable {expected[0]} image: {exc}") from None
    return expected[1], width, height


def _store_plan(
    session: Session,
    floor_id: int,
    name: str,
    size: tuple[int, int],
    who: Principal,
    now: dt.datetime,
) -> tuple[Floor, str | None]:
    row = session.get(FloorRow, floor_id)
    if row is None:
        raise ApiError(404, f"floor {floor_id} not found")
    old = row.plan_file
    row.plan_file, (row.plan_width_px, row.plan_height_px) = name, size
    write_audit(
        session,
        at=now,
        actor=who.label,
        action="update",
        entity="floors",
        entity_id=floor_id,
        detail=f"floor plan uploaded ({size[0]}x{size[1]})",
    )
    return FLOORS.to_record(row), old


async def upload_plan(request: web.Request) -> web.Response:
    core = request.app[CORE]
    floor_id = path_id(request)
    raw = await read_raw(request, core.config.server.max_upload_bytes)
    ext, width, height = check_image(raw, request.content_type)
    # The stored name is ours alone: nothing the client sent becomes part of a path.
    name = f"{uuid.uuid4().hex}{ext}"
    target = plans_dir(core.data_dir) / name
    try:
        await core.db.run(target.write_bytes, raw)  # a full disk leaves no half-written file
        floor, old = await core.write_announcing(
            _store_plan,
            floor_id,
            name,
            (width, height),
            principal(request),
            core.clock.now(),
            type_="floor.updated",
            resource=FLOORS,
            record_id=floor_id,
            data={"plan": True},
        )
    except Exception:
        target.unlink(missing_ok=True)
        raise
    if old:
        (plans_dir(core.data_dir) / old).unlink(missing_ok=True)
    return json_response(floor)


async def get_plan(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    row = await core.read(lambda s, i: s.get(FloorRow, i), path_id(request))
    if row is None or row.plan_file is None:
        raise ApiError(404, "this floor has no plan")
    content_type = "image/png" if row.plan_file.endswith(".png") else "image/jpeg"
    return web.FileResponse(
        plans_dir(core.data_dir) / row.plan_file, headers={"Content-Type": content_type}
    )


def _plan_file(session: Session, floor_id: int) -> str | None:
    row = session.get(FloorRow, floor_id)
    return row.plan_file if row is not None else None


async def delete_floor(request: web.Request) -> web.Response:
    core = request.app[CORE]
    floor_id = path_id(request)
    plan = await core.read(_plan_file, floor_id)
    await core.delete(FLOORS, floor_id, principal(request))
    if plan:
        (plans_dir(core.data_dir) / plan).unlink(missing_ok=True)
    return web.Response(status=204)


def add_routes(app: web.Application, table: RouteTable) -> None:
    table.add(
        app,
        ApiRoute(
            "DELETE",
            "/api/v1/floors/{id}",
            "admin",
            "Delete a floor and its plan image",
            "floors",
            status=204,
            answers={409: "zones still refer to the floor"},
        ),
        delete_floor,
    )
    table.add(
        app,
        ApiRoute(
            "PUT",
            "/api/v1/floors/{id}/plan",
            "admin",
            "Upload the floor-plan image (PNG or JPEG, size-limited)",
            "floors",
            body_type="image/png, image/jpeg",
            response=Floor,
        ),
        upload_plan,
    )
    table.add(
        app,
        ApiRoute(
            "GET",
            "/api/v1/floors/{id}/plan",
            "viewer",
            "The floor-plan image",
            "floors",
            produces="image/*",
        ),
        get_plan,
    )
