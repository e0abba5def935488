"""The page server: the agency's "Resolve your account" page and the embeddable chat widget's files.

The chat itself goes straight from the browser to the Rasa server's socket.io channel
(`bot/channels/webchat.py`); this server only hands out the page and the widget, so it holds no
conversation and no debt data.
"""
from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from bot.config import agency_name, agency_phone

STATIC = Path(__file__).resolve().parent / "static"
SOCKETIO_JS = Path(__file__).resolve().parent / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"

# The only files served under /widget/; anything else is a 404 (no directory is exposed).
WIDGET_FILES: dict[str, Path] = {
    "widget.js": STATIC / "widget.js",
    "widget.css": STATIC / "widget.css",
    "socket.io.min.js": SOCKETIO_JS,
}
PAGE_FILES: dict[str, Path] = {"page.css": STATIC / "page.css", "favicon.svg": STATIC / "favicon.svg"}
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
RASA_URL_KEY = web.AppKey("rasa_url", str)
PAGE_KEY = web.AppKey("page", str)
CSP_KEY = web.AppKey("csp", str)


def rasa_origin(rasa_url: str) -> str:
    """The Rasa server's origin; refuses anything but a plain http(s) URL (it ends up in HTML and a CSP)."""
    parts = urlsplit(rasa_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise ValueError(f"the Rasa URL must be an http(s) URL with a host, not {rasa_url!r}")
    if not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+", parts.netloc):
        raise ValueError(f"unexpected characters in the Rasa URL's host: {rasa_url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(rasa_url: str) -> str:
    """Scripts and styles from this server only, no inline code, and connections to Rasa only."""
    origin = rasa_origin(rasa_url)
    websocket_origin = "ws" + origin.removeprefix("http")  # http -> ws, https -> wss
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        f"connect-src 'self' {origin} {websocket_origin}",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        # No string ever reaches an HTML sink (innerHTML and the like): the browser enforces it.
        "require-trusted-types-for 'script'",
        "trusted-types collections-chat",  # widget.js's policy: vouches for the socket.io client's URL only
    ])


def render(template: str, values: dict[str, str]) -> str:
    """Fills {{name}} placeholders with HTML-escaped values; an unknown placeholder is an error, not blank."""
    def fill(match: re.Match[str]) -> str:
        return html.escape(values[match.group(1)], quote=True)

    return _PLACEHOLDER.sub(fill, template)


def render_page(rasa_url: str) -> str:
    """The chat page, with the agency's name and phone and the Rasa server's address filled in."""
    phone = agency_phone()
    return render((STATIC / "index.html").read_text(encoding="utf-8"), {
        "agency_name": agency_name(),
        "agency_phone": phone,
        "agency_phone_uri": "tel:" + re.sub(r"[^0-9+]", "", phone),
        "rasa_url": rasa_url.rstrip("/"),
    })


async def page(request: web.Request) -> web.Response:
    """GET /: the chat page, under its content security policy, never cached."""
    return web.Response(text=request.app[PAGE_KEY], content_type="text/html", headers={
        "Content-Security-Policy": request.app[CSP_KEY],
        "Cache-Control": "no-store",  # opened from reminder links carrying an account reference
        "X-Frame-Options": "DENY",
    })


def _file(path: Path, *, embeddable: bool) -> web.FileResponse:
    headers = {"Content-Type": CONTENT_TYPES[path.suffix], "Cache-Control": "no-cache"}
    if embeddable:  # other sites' pages load the widget with <script src>
        headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        headers["Access-Control-Allow-Origin"] = "*"
    return web.FileResponse(path, headers=headers)


async def widget_file(request: web.Request) -> web.FileResponse:
    """GET /widget/{name}: a file of the embeddable widget, which other sites' pages may load."""
    path = WIDGET_FILES.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    return _file(path, embeddable=True)


async def page_file(request: web.Request) -> web.FileResponse:
    """GET /page.css or /favicon.svg: the page's own files, for this site only."""
    path = PAGE_FILES.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    return _file(path, embeddable=False)


async def healthz(_request: web.Request) -> web.Response:
    """GET /healthz: the server is up."""
    return web.json_response({"status": "ok"})


async def _common_headers(_request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")  # keeps ?ref= out of other servers' logs


def create_app(rasa_url: str) -> web.Application:
    """The page server's application; FileNotFoundError if the widget has not been built."""
    missing = [str(path) for path in WIDGET_FILES.values() if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"missing {', '.join(missing)}: run `make widget` (npm ci --prefix bot/web)")
    app = web.Application()
    app[RASA_URL_KEY] = rasa_url
    app[CSP_KEY] = content_security_policy(rasa_url)
    app[PAGE_KEY] = render_page(rasa_url)
    # aiohttp 3.9 types its signals as Signal[handler], aiosignal 1.4 as Signal[*handler arguments]: they disagree.
    app.on_response_prepare.append(_common_headers)  # type: ignore[arg-type]
    app.router.add_get("/", page)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/widget/{name}", widget_file)
    app.router.add_get("/{name:page\\.css|favicon\\.svg}", page_file)
    return app
