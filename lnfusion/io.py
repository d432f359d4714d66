"""Writing outputs safely: nothing half-written, no input ever touched.

Every file lnfusion writes goes to a temporary file in the destination folder
first and is moved into place with :func:`os.replace`, which is atomic on POSIX
and Windows.  Every folder it writes (:func:`atomic_dir`) is built under a
temporary name and renamed when complete.  If writing fails, the temporary is
removed and the previous content (if any) is untouched.

Three more rules live here, so that every writer of every command follows them:

* **Inputs are never outputs.**  A command declares what it reads with
  :func:`protect_inputs`; any write whose destination *is* an input, *contains*
  one (a folder holding the manifest, the config file or an image) or lies
  *inside* an input folder (the model folder) is refused with
  :class:`~lnfusion.exceptions.OutputConflictError`, overwrite or not.
* **Overwrite replaces only lnfusion's own outputs.**  Every folder lnfusion
  creates holds a marker file, :data:`OUTPUT_MARKER` (the command and version
  that wrote it).  ``overwrite=True`` replaces an existing folder only when it
  holds that marker (or is empty); anything else is refused, naming what was
  found.
* **A replaced folder is never missing.**  The new folder and the previous one
  are swapped with one ``renameat2(RENAME_EXCHANGE)`` call where the system has
  it (Linux).  Elsewhere the previous folder is first renamed to a hidden
  ``.<name>.old``; a crash between the two renames is repaired by
  :func:`recover_output` (run by the next write of that folder and by the model
  loaders), which puts the previous folder back.

Temporaries left by a killed run (``.<name>.<random>.tmp``) are removed by the
first write of a later process into the same folder once they are older than :data:`STALE_AFTER_S`
seconds and the process that made them is gone; only temporaries that carry
lnfusion's marker (folders) or lnfusion's process tag in their name (files)
are ever removed.  A full disk raises
:class:`~lnfusion.exceptions.DiskFullError` naming the output.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import shlex
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from lnfusion._version import __version__
from lnfusion.exceptions import DiskFullError, OutputConflictError

__all__ = ["atomic_write_text", "atomic_write_bytes", "atomic_open", "atomic_dir", "output_dir",
           "protect_inputs", "check_output", "check_replaceable", "recover_output", "OUTPUT_MARKER", "STALE_AFTER_S"]

#: Name of the marker file lnfusion writes into every folder it creates.
OUTPUT_MARKER = ".lnfusion-output.json"

#: Age (seconds) after which a temporary of a process that is gone counts as stale.
STALE_AFTER_S = 3600.0

_HOST = socket.gethostname()
# ".<name>.<8 random characters>.tmp": folders made by mkdtemp in atomic_dir.
_TMP_DIR = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
# ".<name>.lnf<pid>-<random>.tmp": files made by mkstemp in atomic_open.
_TMP_FILE = re.compile(r"\..+\.lnf(\d+)-[a-z0-9_]{8}\.tmp")


# -- inputs a command must never write over ---------------------------------------------
def _real(path: str | os.PathLike) -> str:
    return os.path.realpath(os.path.abspath(os.fspath(path)))


def _folders_above(real: str) -> Iterator[str]:
    """The folders above the resolved path ``real``, nearest first, up to the root."""
    parent = os.path.dirname(real)
    while True:
        yield parent
        up = os.path.dirname(parent)
        if up == parent:
            return
        parent = up


class _Inputs:
    """One command's inputs, indexed so a check costs a few dictionary look-ups."""

    def __init__(self, paths: Iterable[str | os.PathLike]):
        self.inputs: dict[str, str] = {}    # resolved input -> as given
        self.above: dict[str, str] = {}     # every folder above an input -> that input
        self.folders: dict[str, str] = {}   # inputs that are folders (nothing inside may be written)
        self.inodes: dict[tuple[int, int], str] = {}
        for p in paths:
            shown, real = os.fspath(p), _real(p)
            self.inputs.setdefault(real, shown)
            for parent in _folders_above(real):
                if parent in self.above:  # and every folder above it too
                    break
                self.above[parent] = shown
            try:
                st = os.stat(real)
            except OSError:
                continue
            if os.path.isdir(real):
                self.folders[real] = shown
            else:
                self.inodes[(st.st_dev, st.st_ino)] = shown

    def conflict(self, real: str) -> str | None:
        """Why writing the resolved path ``real`` would touch an input (None: it would not)."""
        if real in self.inputs:
            return f"it is the input {self.inputs[real]!r} of this command"
        if real in self.above:
            return f"it contains the input {self.above[real]!r} of this command"
        for parent in _folders_above(real):
            if parent in self.folders:
                return f"it lies inside the input folder {self.folders[parent]!r} of this command"
        try:
            st = os.stat(real)
        except OSError:
            return None
        shown = self.inodes.get((st.st_dev, st.st_ino))
        return None if shown is None else f"it is the same file as the input {shown!r} of this command"


_PROTECTED: list[_Inputs] = []
_LOCK = threading.Lock()


@contextlib.contextmanager
def protect_inputs(*paths: str | os.PathLike | Iterable[str | os.PathLike] | None) -> Iterator[None]:
    """Refuse, while the block runs, any write over, around or into these inputs.

    Parameters
    ----------
    *paths : path-like, iterables of paths, or None
        The files and folders the command reads (manifest, config, images,
        model folder, ...).  A write is refused when its destination is one of
        them, contains one of them (for a file: the folder holding it, or any
        folder above) or lies inside one that is a folder.  ``None`` is skipped.

    Notes
    -----
    The inputs are registered process-wide (every thread's writes are checked)
    and released when the block ends; blocks nest.
    """
    flat: list[str | os.PathLike] = []
    for p in paths:
        if p is None:
            continue
        if isinstance(p, (str, os.PathLike)):
            flat.append(p)
        else:
            flat.extend(q for q in p if q is not None)
    entry = _Inputs(flat)
    with _LOCK:
        _PROTECTED.append(entry)
    try:
        yield
    finally:
        with _LOCK:
            _PROTECTED.remove(entry)


def check_output(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()) -> None:
    """Raise :class:`~lnfusion.exceptions.OutputConflictError` if writing ``path`` could touch an input.

    Checked against ``inputs`` and every input registered with
    :func:`protect_inputs`.  Every writer of :mod:`lnfusion.io` calls it; a
    command calls it early too, to refuse before any work is done.
    """
    real = _real(path)
    with _LOCK:
        sets = list(_PROTECTED)
    extra = list(inputs)
    if extra:
        sets.append(_Inputs(extra))
    for entry in sets:
        why = entry.conflict(real)
        if why is not None:
            raise OutputConflictError(
                f"refusing to write {os.fspath(path)!r}: {why}. An output may not be, contain or "
                "lie inside an input (--overwrite does not change this); choose another output path")


# -- the marker, stale temporaries, recovery of an interrupted swap ----------------------
def _command() -> str:
    argv = list(sys.argv) or ["python"]
    argv[0] = os.path.basename(argv[0]) or "python"
    return " ".join(shlex.quote(a) for a in argv)


def _write_marker(folder: Path) -> None:
    doc = {"written_by": "lnfusion", "lnfusion_version": __version__, "command": _command(),
           "pid": os.getpid(), "host": _HOST,
           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with open(folder / OUTPUT_MARKER, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(doc, indent=1) + "\n")


def _read_marker(folder: str | os.PathLike) -> dict | None:
    try:
        with open(os.path.join(folder, OUTPUT_MARKER), encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("written_by") == "lnfusion" else None


def _pid_gone(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:   # PermissionError: it exists, owned by someone else
        return False
    return False


def _old_enough(path: str, now: float) -> bool:
    try:
        return now - os.lstat(path).st_mtime > STALE_AFTER_S
    except OSError:
        return False


_SWEPT: set[str] = set()


def _remove_stale_temporaries(folder: Path) -> None:
    """Remove lnfusion's own temporaries in ``folder`` left by processes that are gone."""
    key = _real(folder)
    if key in _SWEPT:
        return
    _SWEPT.add(key)
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False) and _TMP_DIR.fullmatch(name):
                marker = _read_marker(entry.path)
                if (marker is not None and marker.get("host") == _HOST
                        and _pid_gone(marker.get("pid")) and _old_enough(entry.path, now)
                        and _old_enough(os.path.join(entry.path, OUTPUT_MARKER), now)):
                    shutil.rmtree(entry.path, ignore_errors=True)
            elif entry.is_file(follow_symlinks=False):
                m = _TMP_FILE.fullmatch(name)
                if m and _pid_gone(int(m.group(1))) and _old_enough(entry.path, now):
                    os.unlink(entry.path)


def _old_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.old")


def recover_output(path: str | os.PathLike) -> bool:
    """Repair a folder swap that a crash interrupted; return True if something was restored.

    When ``path`` is missing and ``.<name>.old`` beside it is an lnfusion
    output, the crash happened between the two renames of an overwrite: the
    previous folder is renamed back to ``path``.  A leftover ``.<name>.old``
    beside an existing ``path`` is removed.  Called by :func:`atomic_dir` and
    by the model loaders; harmless when nothing is to be done.
    """
    path = Path(os.path.abspath(os.fspath(path)))
    old = _old_name(path)
    if not old.is_dir() or old.is_symlink() or _read_marker(old) is None:
        return False
    if not os.path.lexists(path):
        try:
            os.rename(old, path)
        except OSError:
            return False
        return True
    shutil.rmtree(old, ignore_errors=True)
    return False


# -- renameat2(RENAME_EXCHANGE) ----------------------------------------------------------
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_renameat2_fn: object = None


def _renameat2():
    global _renameat2_fn
    if _renameat2_fn is None:
        fn = False
        if sys.platform.startswith("linux"):
            try:
                fn = ctypes.CDLL(None, use_errno=True).renameat2
                fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                               ctypes.c_uint]
                fn.restype = ctypes.c_int
            except (AttributeError, OSError):
                fn = False
        _renameat2_fn = fn
    return _renameat2_fn or None


def _exchange(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Swap two paths in one atomic step; False where the system or file system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), os.fspath(b))


def _remove(path: str | os.PathLike) -> None:
    if os.path.islink(path) or os.path.isfile(path):
        with contextlib.suppress(OSError):
            os.unlink(path)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _swap_into_place(tmp: Path, path: Path) -> None:
    """Put the finished folder ``tmp`` at ``path``, which exists; remove the previous one."""
    if _exchange(tmp, path):
        _remove(tmp)          # tmp now holds the previous folder
        return
    old = _old_name(path)
    if os.path.lexists(old):
        _remove(old)
    os.rename(path, old)
    try:
        os.rename(tmp, path)
    except BaseException:
        if not os.path.lexists(path):
            os.rename(old, path)
        raise
    _remove(old)


# -- disk full -------------------------------------------------------------------------
def _is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, DiskFullError) or (isinstance(exc, OSError)
                                              and exc.errno in (errno.ENOSPC, errno.EDQUOT))


def _size_on_disk(path: str | os.PathLike) -> int:
    """Bytes held by a file or by every file below a folder (0 when it is gone)."""
    path = Path(path)
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return 0


def _disk_full(path: Path, exc: BaseException, written: int = 0) -> DiskFullError:
    """The error for a full disk; ``written``: bytes of the output written before it filled up."""
    where = path.parent if path.parent.exists() else Path.cwd()
    try:
        free = f"{shutil.disk_usage(where).free / 1e6:.1f} MB free"
    except OSError:
        free = "free space unknown"
    need = (f"the output needs more than the {written / 1e6:.1f} MB written before the disk "
            "filled up; " if written else "")
    return DiskFullError(
        f"no space left on the device while writing {os.fspath(path)!r} ({need}{free} on the "
        f"disk holding {os.fspath(where)!r}); nothing was written and any previous "
        f"{path.name!r} is untouched. Free some space (or choose an output on another disk) "
        "and run again")


# -- writers ---------------------------------------------------------------------------
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _default_mode(path: str | os.PathLike, directory: bool) -> None:
    """Give a mkstemp/mkdtemp result the permissions a plain open/mkdir would (they use 0600/0700)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def _destination(path: str | os.PathLike) -> Path:
    """``path`` made absolute and normalised (so ``.`` has a name), after the input check."""
    check_output(path)
    absolute = Path(os.path.abspath(os.fspath(path)))
    if not absolute.name:
        raise OutputConflictError(f"refusing to write {os.fspath(path)!r}: it is the file "
                                  "system root; choose an output folder")
    return absolute


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

    Raises
    ------
    OutputConflictError
        ``path`` is, contains or lies inside an input (:func:`protect_inputs`).
    DiskFullError
        The disk filled up; ``path`` is untouched.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open supports mode 'w' or 'wb', got {mode!r}")
    target = _destination(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.lnf{os.getpid()}-", suffix=".tmp",
                               dir=target.parent)
    try:
        if mode == "w":
            kwargs.setdefault("encoding", "utf-8")
        _default_mode(tmp, directory=False)
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        written = _size_on_disk(tmp) if _is_disk_full(exc) else 0
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if _is_disk_full(exc) and not isinstance(exc, DiskFullError):
            raise _disk_full(Path(path), exc, written) from exc
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


def _foreign(path: Path) -> str | None:
    """Why the existing ``path`` may not be replaced or written into (None: it may).

    It may when it is an lnfusion output (it holds the marker), an empty folder,
    or a folder holding nothing but lnfusion outputs.
    """
    if path.is_symlink() and not path.is_dir():
        return "it is a link to something that is not a folder"
    if not path.is_dir():
        return "it is a file, not a folder lnfusion wrote"
    if _read_marker(path) is not None:
        return None
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        return f"it cannot be listed ({exc.strerror})"
    if all(os.path.isdir(path / n) and _read_marker(path / n) is not None for n in names):
        return None   # empty, or holding only folders lnfusion wrote
    shown = ", ".join(names[:5]) + (f", ... ({len(names)} entries)" if len(names) > 5 else "")
    return f"it holds no {OUTPUT_MARKER} (so lnfusion did not write it); found: {shown}"


def check_replaceable(path: str | os.PathLike, overwrite: bool) -> None:
    """Refuse to replace ``path`` unless ``overwrite`` and it is one of lnfusion's outputs.

    Raises
    ------
    OutputConflictError
        ``path`` is, contains or lies inside an input, or exists but was not
        written by lnfusion.
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    target = _destination(path)
    if not os.path.lexists(target):
        return
    if not overwrite:
        raise FileExistsError(f"{os.fspath(path)} already exists; pass overwrite=True "
                              "(--overwrite) to replace it")
    why = _foreign(target)
    if why is not None:
        raise OutputConflictError(
            f"refusing to replace {os.fspath(path)!r}: {why}. Overwrite only ever replaces a "
            "folder lnfusion wrote; remove or rename it yourself, or choose another output")


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Build a folder under a temporary name; rename it to ``path`` on success.

    Yields the temporary folder to write into.  On failure it is removed and
    ``path`` is untouched.  With ``overwrite=True`` an existing ``path`` is
    replaced only after the new folder is complete, and only if lnfusion wrote
    it (it holds :data:`OUTPUT_MARKER`) or it is empty.  The new folder gets the
    marker.

    Raises
    ------
    OutputConflictError
        ``path`` is, contains or lies inside an input (:func:`protect_inputs`),
        or exists and was not written by lnfusion.
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    DiskFullError
        The disk filled up; ``path`` is untouched.
    """
    target = _destination(path)
    recover_output(target)
    check_replaceable(path, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        _default_mode(tmp, directory=True)
        _write_marker(tmp)
        yield tmp
        if os.path.lexists(target):
            check_replaceable(path, overwrite)
            _swap_into_place(tmp, target)
        else:
            os.rename(tmp, target)
    except BaseException as exc:
        written = _size_on_disk(tmp) if _is_disk_full(exc) else 0
        _remove(tmp)
        if _is_disk_full(exc):
            raise _disk_full(Path(path), exc, written) from exc
        raise


def output_dir(path: str | os.PathLike) -> Path:
    """Create (or reuse) a folder that a command fills file by file, and mark it as lnfusion's.

    An existing folder is reused only if lnfusion wrote it or it is empty, so
    that a command writing several files into it never mixes them with a
    user's own files.

    Raises
    ------
    OutputConflictError
        ``path`` is, contains or lies inside an input, or exists and was not
        written by lnfusion.
    """
    target = _destination(path)
    if os.path.lexists(target):
        why = _foreign(target)
        if why is not None:
            raise OutputConflictError(
                f"refusing to write into {os.fspath(path)!r}: {why}. Choose a new or empty "
                "folder, or one an earlier lnfusion run wrote")
    target.mkdir(parents=True, exist_ok=True)
    if _read_marker(target) is None:
        _write_marker(target)
    return Path(path)
