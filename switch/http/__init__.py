"""The switch's HTTP side: JSON API with bearer-token roles, Prometheus metrics, and two web pages
(operations monitor, merchant portal) served as static files - no build step.

Plug-in for `acqsim switch serve`:

    site = build_site(engine, switch=switch, tokens=None)     # tokens: None = fixtures/tokens.yaml
    host, port = start_http(reactor, site, "127.0.0.1", 8080)  # port 0: any free port
    print(f"listening http {host}:{port}")

`site.metrics` is the MetricsRegistry (wrap the pipeline's HSM with
`switch.http.metrics.timed_hsm(hsm, site.metrics)` for HSM latency). See docs/http-api.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from twisted.web import pages, resource, server, util

from switch.http.api import ROUTES, ApiResource
from switch.http.metrics import MetricsRegistry, timed_hsm
from switch.http.tokens import Principal, TokenError, TokenStore

STATIC_DIR = Path(__file__).resolve().parent / "static"

# The pages load only their own scripts and styles, and talk only to this origin (no inline script:
# a stored value that ever slipped through escaping still cannot run).
_SECURITY_HEADERS = {
    b"content-security-policy": b"default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                b"script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
}

_TYPES = {".html": b"text/html; charset=utf-8", ".css": b"text/css; charset=utf-8",
          ".js": b"text/javascript; charset=utf-8", ".svg": b"image/svg+xml", ".png": b"image/png"}


class AcqsimSite(server.Site):
    """A Site that puts security headers on every answer and carries the metrics registry."""

    metrics: MetricsRegistry

    def getResourceFor(self, request: server.Request):
        request.setHeader(b"server", b"acqsim")
        for name, value in _SECURITY_HEADERS.items():
            request.setHeader(name, value)
        return super().getResourceFor(request)


class StaticFile(resource.Resource):
    """One file of static/, read once; as a leaf it also answers every sub-path (the portal's
    /portal/<mid> URLs are one page whose script reads the MID from the location)."""

    isLeaf = True

    def __init__(self, name: str, leaf: bool = True) -> None:
        super().__init__()
        self.isLeaf = leaf
        path = STATIC_DIR / name
        self.body = path.read_bytes()
        self.content_type = _TYPES.get(path.suffix, b"application/octet-stream")

    def getChild(self, path: bytes, request: server.Request):
        return pages.notFound("Not found", "no such file")

    def render_GET(self, request: server.Request) -> bytes:
        request.setHeader(b"content-type", self.content_type)
        request.setHeader(b"cache-control", b"no-cache")
        return self.body


class StaticDir(resource.Resource):
    """/static/<name>: only the files that ship in static/ (no directory listing, no traversal)."""

    def __init__(self) -> None:
        super().__init__()
        for path in sorted(STATIC_DIR.iterdir()):
            if path.is_file() and path.suffix in _TYPES:
                self.putChild(path.name.encode(), StaticFile(path.name, leaf=False))

    def getChild(self, path: bytes, request: server.Request):
        return pages.notFound("Not found", "no such file")


class Root(resource.Resource):
    def getChild(self, path: bytes, request: server.Request):
        return pages.notFound("Not found", "no such page")


def build_site(engine: Engine, switch: Any = None, tokens: TokenStore | str | Path | None = None, *,
               metrics: MetricsRegistry | None = None) -> AcqsimSite:
    """The HTTP site: API (/api/..., /health, /ready, /metrics), /monitor, /portal and /static.

    `switch`: a switch.server.Switch whose answers and listener stats feed /metrics (optional).
    `tokens`: a TokenStore, a tokens YAML path, or None for the shipped fixtures/tokens.yaml.
    `metrics`: a registry made beforehand (e.g. to wrap the HSM with timed_hsm before the pipeline is
    built); default a new one.
    """
    store = tokens if isinstance(tokens, TokenStore) else TokenStore.load(tokens)
    metrics = metrics or MetricsRegistry()
    if switch is not None:
        metrics.attach(switch)
    api = ApiResource(engine, store, metrics)
    root = Root()
    for name in (b"api", b"health", b"ready", b"metrics"):
        root.putChild(name, api)
    root.putChild(b"", StaticFile("index.html", leaf=False))
    root.putChild(b"monitor", StaticFile("monitor.html"))
    root.putChild(b"portal", StaticFile("portal.html"))
    root.putChild(b"static", StaticDir())
    root.putChild(b"favicon.ico", util.Redirect(b"/static/favicon.svg"))
    site = AcqsimSite(root)
    site.displayTracebacks = False  # never show internals to a browser
    site.metrics = metrics
    site.tokens = store
    site.engine = engine
    return site


def start_http(reactor: Any, site: server.Site, host: str = "127.0.0.1", port: int = 8080) -> tuple[str, int]:
    """Listen on host:port (0: any free port); returns the bound (host, port)."""
    listening = reactor.listenTCP(port, site, interface=host)
    site.port = listening
    address = listening.getHost()
    return address.host, address.port


__all__ = ["ROUTES", "AcqsimSite", "MetricsRegistry", "Principal", "TokenError", "TokenStore", "build_site",
           "start_http", "timed_hsm"]
