"""Atomic file writing: nothing half-written is ever left behind.

Every file lnfusion writes goes to a temporary file in the destination folder
first and is moved into place with :func:`os.replace`, which is atomic on POSIX
and Windows.  If writing fails, the temporary file is removed and the previous
content (if any) is untouched.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_write_text", "atomic_write_bytes", "atomic_open", "atomic_dir"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _default_mode(path: str | os.PathLike, directory: bool) -> None:
    """Give a mkstemp/mkdtemp result the permissions a plain open/mkdir would (they use 0600/0700)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; move it onto ``path`` on success.

    Parameters
    ----------
    path : path-like
        Final destination.  Parent folders are created.
    mode : {"w", "wb"}
        Text or binary mode.
    **kwargs
        Passed to :func:`open` (e.g. ``encoding``, ``newline``).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open supports mode 'w' or 'wb', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if mode == "w":
            kwargs.setdefault("encoding", "utf-8")
        _default_mode(tmp, directory=False)
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_open(path, "w", encoding=encoding) as fh:
        fh.write(text)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Build a folder under a temporary name; rename it to ``path`` on success.

    Yields the temporary folder to write into.  On failure it is removed and
    ``path`` is untouched.  With ``overwrite=True`` an existing ``path`` is
    replaced only after the new folder is complete.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        _default_mode(tmp, directory=True)
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
