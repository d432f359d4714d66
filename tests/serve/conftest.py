"""Fixtures of the serving tests: the session's small fitted demo model served by the real app."""
from __future__ import annotations

import socket
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@pytest.fixture(scope="session")
def predictor(demo_fitted):
    """The saved small demo model, loaded once, behind the server's lock."""
    from lnfusion.serve import Predictor

    return Predictor.load(demo_fitted.model_dir)


@pytest.fixture(scope="session")
def patients(demo_fitted):
    """Held-out patients as (image files per modality, descriptor text per field, manifest row)."""
    cohort = demo_fitted.test
    table = cohort.table
    out = []
    for i in range(len(cohort)):
        images = {m: [Path(p) for p in cohort.images(m)[i]] for m in cohort.modalities}
        values = {}
        for name in cohort.schema.descriptors:
            v = table[name].iloc[i]
            values[name] = "" if v is None or v != v else (
                f"{v:g}" if isinstance(v, float) else str(v))
        out.append((images, values, i))
    return out


def multipart(images: dict[str, list[Path]], values: dict[str, str]) -> tuple[list, dict]:
    """``files`` and ``data`` arguments of an httpx request for one patient."""
    files = [(m, (p.name, p.read_bytes(), "application/octet-stream"))
             for m, paths in images.items() for p in paths]
    return files, dict(values)


class ServerThread:
    """uvicorn serving ``app`` on a free loopback port in a daemon thread."""

    def __init__(self, app):
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG whose header declares ``width x height`` pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    rows = zlib.compress(b"\0" * (width + 1) * 64, 9)   # the first 64 rows; the rest is implied
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


from report.browser import Browser  # noqa: E402,F401  -- the project's Chromium harness
from report.conftest import chromium  # noqa: E402,F401  -- the fixture: skips without Chromium
