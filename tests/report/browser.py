"""Load a page in headless Chromium and report what a reader would see.

Talks the DevTools protocol over ``--remote-debugging-pipe`` (JSON messages
separated by NUL bytes on file descriptors 3 and 4), so it needs only the
standard library: no websocket client, no Selenium.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Flags for a quiet, sandbox-free, offline headless run (see issue 8).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-pipe")

#: Run in the page once it has loaded: sections, their images, and broken images.
PROBE_JS = """
(() => {
  const imgs = Array.from(document.images);
  return JSON.stringify({
    title: document.title,
    sections: Array.from(document.querySelectorAll('main > section')).map(s => ({
      id: s.id, title: (s.querySelector('h2') || {}).textContent || '',
      omitted: s.dataset.omitted === 'true',
      images: s.querySelectorAll('img').length,
      text: s.innerText.length})),
    images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0))
                .map(i => (i.alt || i.src.slice(0, 60))),
    external: Array.from(document.querySelectorAll('[src],link[href]'))
                .map(e => e.getAttribute('src') || e.getAttribute('href'))
                .filter(u => !u.startsWith('data:') && !u.startsWith('#')),
  });
})()
"""


@dataclass
class PageReport:
    """What the browser saw: the probe's result and every console problem."""

    probe: dict[str, Any]
    console_errors: list[str] = field(default_factory=list)


class _Pipe:
    def __init__(self, proc: subprocess.Popen, to_browser: int, from_browser: int):
        self.proc, self.to_browser, self.from_browser = proc, to_browser, from_browser
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                chunk = os.read(self.from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the pipe (exit {self.proc.poll()})")
                self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events[i]
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event


def _console_problems(events: list[dict[str, Any]]) -> list[str]:
    problems = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = params.get("args", [])
            problems.append("console." + params["type"] + ": " +
                            " ".join(str(a.get("value", a.get("description", ""))) for a in args))
        elif method == "Runtime.exceptionThrown":
            problems.append("exception: " + json.dumps(params.get("exceptionDetails", {}))[:500])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            problems.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.loadingFailed":
            problems.append(f"network: {params.get('errorText')} ({params.get('type')})")
    return problems


class Browser:
    """A headless Chromium with one page, driven over the DevTools pipe (a context manager).

    Parameters
    ----------
    chromium : str
        Path of the Chromium executable.
    timeout : float
        Seconds to wait for the browser to answer.
    """

    def __init__(self, chromium: str, timeout: float = 90.0):
        self.chromium, self.timeout = chromium, timeout

    def __enter__(self) -> Browser:
        self.user_data = tempfile.mkdtemp(prefix="lnfusion-chromium-")
        to_r, to_w = os.pipe()      # we write commands into to_w; Chromium reads fd 3
        from_r, from_w = os.pipe()  # Chromium writes fd 4; we read from_r

        def child_fds() -> None:  # runs in the child before exec; dup2 makes 3, 4 inheritable
            high_r = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10)  # our ends may already sit on 3 or 4
            high_w = fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [self.chromium, *FLAGS, f"--user-data-dir={self.user_data}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=child_fds, close_fds=False)  # Python's own fds are non-inheritable anyway
        os.close(to_r)
        os.close(from_w)
        self.pipe = _Pipe(self.proc, to_w, from_r)
        try:
            target = self.pipe.send("Target.createTarget", {"url": "about:blank"}, timeout=self.timeout)
            self.session = self.pipe.send("Target.attachToTarget", {"targetId": target["targetId"],
                                                                    "flatten": True})["sessionId"]
            for domain in ("Runtime", "Log", "Page", "Network", "DOM"):
                self.send(f"{domain}.enable")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def send(self, method: str, params: dict | None = None, timeout: float = 30.0) -> dict[str, Any]:
        """One DevTools command on the page."""
        return self.pipe.send(method, params, session=self.session, timeout=timeout)

    def open(self, url: str) -> None:
        """Navigate to ``url`` and wait for its ``load`` event."""
        self.pipe.events = [e for e in self.pipe.events if e.get("method") != "Page.loadEventFired"]
        self.send("Page.navigate", {"url": url})
        self.pipe.wait_for("Page.loadEventFired", timeout=self.timeout)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_until(self, expression: str, timeout: float = 60.0) -> Any:
        """Poll a JavaScript expression until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"not true after {timeout} s: {expression}")
            time.sleep(0.2)

    def set_files(self, selector: str, paths: list[Path]) -> None:
        """Choose ``paths`` in the file input ``selector``, as a user picking files would."""
        root = self.send("DOM.getDocument")["root"]["nodeId"]
        node = self.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        if not node:
            raise RuntimeError(f"no element matches {selector!r}")
        self.send("DOM.setFileInputFiles", {"nodeId": node, "files": [str(p) for p in paths]})

    def allow_downloads(self, folder: Path) -> None:
        """Save the page's downloads into ``folder`` under their suggested names."""
        self.pipe.send("Browser.setDownloadBehavior", {"behavior": "allow",
                                                       "downloadPath": str(folder)})

    def screenshot(self, path: Path, width: int = 1200) -> Path:
        """A PNG of the whole page, ``width`` CSS pixels wide."""
        metrics = {"width": width, "height": 600, "deviceScaleFactor": 1, "mobile": False}
        self.send("Emulation.setDeviceMetricsOverride", metrics)
        metrics["height"] = int(self.evaluate("document.documentElement.scrollHeight"))
        self.send("Emulation.setDeviceMetricsOverride", metrics)
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def problems(self) -> list[str]:
        """Console errors, exceptions, error log entries and failed requests so far."""
        return _console_problems(self.pipe.events)

    def __exit__(self, *exc: object) -> None:
        try:
            self.pipe.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.pipe.to_browser)
        os.close(self.pipe.from_browser)
        shutil.rmtree(self.user_data, ignore_errors=True)


def load_page(chromium: str, page: Path, timeout: float = 90.0) -> PageReport:
    """Open ``page`` in headless Chromium, wait for ``load``, probe it, close.

    Parameters
    ----------
    chromium : str
        Path of the Chromium executable.
    page : Path
        An HTML file.
    timeout : float
        Seconds to wait for the browser and the page.
    """
    with Browser(chromium, timeout) as browser:
        browser.open(page.resolve().as_uri())
        probe = json.loads(browser.evaluate(PROBE_JS))
        return PageReport(probe=probe, console_errors=browser.problems())
