"""Responses of the phone pages: the page frame, strict security headers, static files."""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
from collections.abc import Sequence

from aiohttp import web

from floki_qr.pages.markup import Markup, join, render
from floki_qr.pages.sessions import Notice, PageSession

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
}
STATIC_PREFIX = "/phone/static"
_STATIC_TYPES = {"floki-pages.css": "text/css", "floki-pages.js": "text/javascript"}


@functools.cache
def static_file(name: str) -> tuple[bytes, str]:
    """The file's bytes and a short digest of them (the URL's version)."""
    data = importlib.resources.files(__package__).joinpath("static", name).read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:12]


def static_url(name: str) -> str:
    return f"{STATIC_PREFIX}/{name}?v={static_file(name)[1]}"


async def serve_static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    kind = _STATIC_TYPES.get(name)  # a fixed list: a request never names a path
    if kind is None:
        return message_page("Not found", "There is no such file.", status=404)
    data, _ = static_file(name)
    response = web.Response(body=data, content_type=kind, charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    # The URL carries the digest, so a changed file is a new URL.
    response.headers["Cache-Control"] = "public, max-age=604800, immutable"
    return response


def secured(response: web.StreamResponse) -> web.StreamResponse:
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    return response


def notices_markup(notices: Sequence[Notice]) -> Markup:
    return join(
        render(
            "notice.html",
            kind="error" if n.error else "ok",
            role="alert" if n.error else "status",
            text=n.text,
        )
        for n in notices
    )


def page(
    title: str,
    body: Markup,
    *,
    session: PageSession | None = None,
    notices: Sequence[Notice] = (),
    status: int = 200,
) -> web.Response:
    if session is not None:
        account = render(
            "account.html", name=session.name, role=session.role.value, csrf=session.csrf
        )
    else:
        account = Markup("")
    text = render(
        "layout.html",
        title=title,
        css=static_url("floki-pages.css"),
        js=static_url("floki-pages.js"),
        account=account,
        notices=notices_markup(notices),
        body=body,
    )
    response = web.Response(text=text, content_type="text/html", charset="utf-8", status=status)
    secured(response)
    return response


def message_page(
    title: str,
    text: str,
    *,
    status: int,
    session: PageSession | None = None,
    link: tuple[str, str] | None = None,
) -> web.Response:
    """A page that says one thing (an error, a refusal), with an optional way on."""
    onward = render("link.html", href=link[0], text=link[1]) if link else Markup("")
    body = render("message.html", title=title, text=text, link=onward)
    return page(title, body, session=session, status=status)


def redirect(location: str) -> web.Response:
    response = web.Response(status=303, headers={"Location": location})
    secured(response)
    return response
