"""Load a page in headless Chromium and report what a reader would see.

Talks the DevTools protocol over ``--remote-debugging-pipe`` (JSON messages
separated by NUL bytes on file descriptors 3 and 4), so it needs only the
standard library: no websocket client, no Selenium.
"""
from __future__ import annotations

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
    user_data = tempfile.mkdtemp(prefix="lnfusion-chromium-")
    to_r, to_w = os.pipe()      # we write commands into to_w; Chromium reads fd 3
    from_r, from_w = os.pipe()  # Chromium writes fd 4; we read from_r

    def child_fds() -> None:  # runs in the child before exec; dup2 makes 3, 4 inheritable
        high_r = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10)  # our ends may already sit on 3 or 4
        high_w = fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)
        os.dup2(high_r, 3)
        os.dup2(high_w, 4)

    proc = subprocess.Popen([chromium, *FLAGS, f"--user-data-dir={user_data}", "about:blank"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=child_fds,
                            close_fds=False)  # Python's own fds are non-inheritable anyway
    os.close(to_r)
    os.close(from_w)
    pipe = _Pipe(proc, to_w, from_r)
    try:
        target = pipe.send("Target.createTarget", {"url": "about:blank"}, timeout=timeout)
        session = pipe.send("Target.attachToTarget",
                            {"targetId": target["targetId"], "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            pipe.send(f"{domain}.enable", session=session)
        pipe.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        pipe.wait_for("Page.loadEventFired", timeout=timeout)
        result = pipe.send("Runtime.evaluate", {"expression": PROBE_JS, "returnByValue": True},
                           session=session)
        probe = json.loads(result["result"]["value"])
        try:
            pipe.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError):
            pass
        return PageReport(probe=probe, console_errors=_console_problems(pipe.events))
    finally:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(to_w)
        os.close(from_r)
        shutil.rmtree(user_data, ignore_errors=True)
