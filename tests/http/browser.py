"""A minimal W3C WebDriver client over urllib, driving Debian's chromium through chromedriver.

No selenium or browser download: the chromium and chromium-driver packages (installed by .ci/run) and
plain HTTP/JSON. Enough for the page tests and the README screenshots.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER_CANDIDATES = ("/usr/bin/chromedriver",)
# Flags that work on these machines (root, no GPU, no network beyond loopback).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1"]


def find_chromium() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, or None when either is missing."""
    chromium = next((p for p in CHROMIUM_CANDIDATES if os.access(p, os.X_OK)), None) or shutil.which("chromium")
    driver = next((p for p in DRIVER_CANDIDATES if os.access(p, os.X_OK)), None) or shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


class WebDriverError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """One headless Chromium session. Use as a context manager."""

    def __init__(self, chromium: str, driver: str, width: int = 1280, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="acqsim-chromium-")
        self.port = _free_port()
        self.proc = subprocess.Popen([driver, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        self._wait_driver()
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium, "args": [*CHROMIUM_ARGS, f"--user-data-dir={self.profile}",
                                         f"--window-size={width},{height}"]}}}}
        self.session = self._call("POST", "/session", caps)["sessionId"]
        self.path = f"/session/{self.session}"

    def _wait_driver(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/status", timeout=2) as res:
                    if json.load(res)["value"].get("ready"):
                        return
            except (OSError, ValueError, KeyError):
                pass
            if self.proc.poll() is not None:
                raise WebDriverError("chromedriver exited at start")
            time.sleep(0.1)
        raise WebDriverError("chromedriver did not start")

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else (b"{}" if method == "POST" else None)
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as res:
                payload = json.load(res)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise WebDriverError(f"{method} {path}: {exc.code} {detail}") from None
        value = payload.get("value")
        return value if path != "/session" else {"sessionId": payload.get("sessionId") or value["sessionId"]}

    # -- commands ---------------------------------------------------------------------------------------
    def get(self, url: str) -> None:
        self._call("POST", self.path + "/url", {"url": url})

    def url(self) -> str:
        return self._call("GET", self.path + "/url")

    def js(self, script: str, *args: Any) -> Any:
        return self._call("POST", self.path + "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css: str) -> str:
        return self._call("POST", self.path + "/element", {"using": "css selector", "value": css})[ELEMENT]

    def type(self, css: str, text: str) -> None:
        self._call("POST", f"{self.path}/element/{self.find(css)}/value", {"text": text})

    def click(self, css: str) -> None:
        self._call("POST", f"{self.path}/element/{self.find(css)}/click", {})

    def text(self, css: str) -> str:
        return self._call("GET", f"{self.path}/element/{self.find(css)}/text")

    def wait(self, script: str, timeout: float = 15.0, *args: Any) -> Any:
        """Poll a JS expression (`return ...`) until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(script, *args)
            if value:
                return value
            if time.monotonic() > deadline:
                raise WebDriverError(f"timed out waiting for: {script}")
            time.sleep(0.1)

    def resize(self, width: int, height: int) -> None:
        self._call("POST", self.path + "/window/rect", {"width": width, "height": height})

    def screenshot(self, path: str) -> None:
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(self._call("GET", self.path + "/screenshot")))

    def close(self) -> None:
        try:
            self._call("DELETE", self.path)
        except (WebDriverError, OSError):
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
