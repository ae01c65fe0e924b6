"""One real world per session (database, switch with the pipeline, traffic) and the HTTP site over it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest

from tests.http.world import World, build_world


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@pytest.fixture(scope="session")
def world(call_in_reactor, tmp_path_factory) -> World:
    w = build_world(call_in_reactor, tmp_path_factory.mktemp("http-world"))
    yield w
    call_in_reactor(w.site.port.stopListening)
    call_in_reactor(w.switch.stop)
    w.engine.dispose()


@pytest.fixture(scope="session")
def site(world):
    return world.site


@pytest.fixture(scope="session")
def http(world):
    """http(path, token=None, method="GET", headers=None) -> Answer (no exception on 4xx/5xx)."""

    site_url = world.base_url

    def get(path: str, token: str | None = None, method: str = "GET", headers: dict | None = None) -> Answer:
        req = urllib.request.Request(site_url + path, method=method, headers=dict(headers or {}))
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=20) as res:
                return Answer(res.status, {k.lower(): v for k, v in res.headers.items()}, res.read())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())

    return get
