"""Decoded images on disk, once per file content and preprocessing (needs torch when decoding).

:func:`lnfusion.data.decode.decode_uint8` turns an image file into the
network's ``uint8`` input (ROI crop, aspect-preserving resize, padding).  Kept
in memory, a cohort of 100,000 images at 224 px needs tens of GiB before
training starts.  :class:`ImageCache` stores each decoded image once, as a
``.npy`` file, keyed by a hash of

* the file's content (SHA-256 of its bytes: an edited or replaced file gets a
  new entry; the old one is stale and never read again) and, for a multi-frame
  file, the frame (the modality's frame policy, as a frame reference; a DICOM
  ultrasound region and grey-level mapping follow from the content),
* the ROI box, the output size, the colour mode and channels, and
  :data:`CACHE_VERSION` (bumped whenever the preprocessing changes its pixels),

so every fold, branch, refit, evaluation, explanation and worker process that
needs the same pixels reads the same entry.  :class:`CachedImages` is the
array-like the training loop and prediction read batches from: each batch
memory-maps only its own entries, so peak memory does not grow with the cohort.

An entry is written to a temporary file and renamed into place
(:func:`lnfusion.io.atomic_open`): processes that decode the same image at the
same time each write a whole entry, and a reader never sees half of one.
Delete the folder to reclaim the space; it is rebuilt on demand.

The cache lives under :func:`default_cache_dir` (``$LNFUSION_CACHE_DIR``, else
the user's cache folder, e.g. ``~/.cache/lnfusion``) unless a folder is given;
for several machines, give one on storage they all see.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lnfusion.data.manifest import Roi
from lnfusion.exceptions import MissingImageError

__all__ = ["ImageCache", "CachedImages", "default_cache_dir", "file_digest", "CACHE_ENV", "CACHE_VERSION"]

#: Environment variable naming the cache folder.
CACHE_ENV = "LNFUSION_CACHE_DIR"
#: Version of the preprocessing whose output is cached; part of every key.
CACHE_VERSION = 1
#: Images decoded per chunk while filling the cache (bounds the memory of a build).
CHUNK = 256


def default_cache_dir() -> Path:
    """``$LNFUSION_CACHE_DIR``, else ``$XDG_CACHE_HOME/lnfusion``, else the platform's user cache.

    ``~/.cache/lnfusion`` on Linux, ``~/Library/Caches/lnfusion`` on macOS,
    ``%LOCALAPPDATA%\\lnfusion\\Cache`` on Windows.
    """
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "lnfusion" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "lnfusion"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lnfusion"


_HASHES: dict[tuple[str, int, int, int], str] = {}


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (remembered per process while its size and mtime are unchanged).

    ``path`` may be a frame reference (:func:`~lnfusion.data.frame_ref`): the file's digest.
    """
    from lnfusion.data.imageio import split_frame_ref

    path = split_frame_ref(path)[0]
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise MissingImageError(f"{path}: no such image file", path=os.fspath(path)) from None
    memo = (os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino)
    digest = _HASHES.get(memo)
    if digest is None:
        from lnfusion.data.pretrain_data import file_sha256

        digest = _HASHES[memo] = file_sha256(path)
    return digest


class CachedImages:
    """Cached images as a read-only ``uint8`` array ``(N, C, H, W)`` read a batch at a time.

    Indexing with an int, a slice or an integer array returns a NumPy array
    of just those images (each entry memory-mapped, copied, released);
    ``np.asarray`` reads them all.

    Parameters
    ----------
    files : sequence of path
        The ``.npy`` entry of each image.
    image_shape : (C, H, W)
        Shape of every entry.
    """

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __init__(self, files: Sequence[str | os.PathLike], image_shape: tuple[int, int, int]):
        self.files = [os.fspath(f) for f in files]
        self.image_shape = tuple(int(s) for s in image_shape)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.files), *self.image_shape)

    def __len__(self) -> int:
        return len(self.files)

    def _read(self, i: int, out: np.ndarray) -> None:
        out[...] = np.load(self.files[i], mmap_mode="r", allow_pickle=False)

    def __getitem__(self, index: Any) -> np.ndarray:
        if isinstance(index, (int, np.integer)):
            out = np.empty(self.image_shape, dtype=np.uint8)
            self._read(range(len(self))[index], out)
            return out
        rows = range(len(self))[index] if isinstance(index, slice) else np.asarray(index).ravel()
        out = np.empty((len(rows), *self.image_shape), dtype=np.uint8)
        for j, i in enumerate(rows):
            self._read(int(i), out[j])
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    def digest(self) -> str:
        """SHA-256 naming these images (their entries are named by content hashes)."""
        h = hashlib.sha256(repr(self.image_shape).encode())
        for f in self.files:
            h.update(os.path.basename(f).encode())
        return h.hexdigest()


class ImageCache:
    """A folder of decoded images (see the module docstring).

    Parameters
    ----------
    root : path-like, optional
        The cache folder (default :func:`default_cache_dir`); entries go to
        ``<root>/images/v<CACHE_VERSION>/``.
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self.folder = self.root / "images" / f"v{CACHE_VERSION}"

    def key(self, path: str | os.PathLike, roi: Roi | None, *, image_size: int, colour: bool,
            in_chans: int) -> str:
        """The entry name of one image (a file, or a frame reference) decoded with these settings."""
        from lnfusion.data.imageio import split_frame_ref

        material = {"sha256": file_digest(path), "frame": split_frame_ref(path)[1],
                    "roi": None if roi is None else [float(v) for v in roi],
                    "size": int(image_size), "colour": bool(colour), "in_chans": int(in_chans),
                    "version": CACHE_VERSION}
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:40]

    def entry(self, key: str) -> Path:
        """Path of the entry ``key``."""
        return self.folder / key[:2] / f"{key}.npy"

    def _valid(self, file: Path, shape: tuple[int, ...]) -> bool:
        try:
            arr = np.load(file, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            return False
        return arr.shape == shape and arr.dtype == np.uint8

    def images(self, paths: Sequence[str | os.PathLike], rois: Sequence[Roi | None] | None = None, *,
               image_size: int, colour: bool, in_chans: int, num_workers: int = 0,
               progress: bool = False, desc: str = "decode") -> CachedImages:
        """The images decoded as :func:`~lnfusion.data.decode.decode_uint8` does, from the cache.

        Entries missing (or unreadable) are decoded, ``CHUNK`` images at a
        time, and written; the others are only hashed.

        Returns
        -------
        CachedImages
            ``(len(paths), in_chans, image_size, image_size)``.
        """
        from lnfusion.data.decode import decode_uint8
        from lnfusion.io import atomic_open

        rois = [None] * len(paths) if rois is None else list(rois)
        shape = (int(in_chans), int(image_size), int(image_size))
        files = [self.entry(self.key(p, r, image_size=image_size, colour=colour, in_chans=in_chans))
                 for p, r in zip(paths, rois)]
        todo = sorted({i for i, f in enumerate(files) if not self._valid(f, shape)},
                      key=lambda i: files[i])
        first: dict[Path, int] = {}
        for i in todo:  # the same file listed twice is decoded once
            first.setdefault(files[i], i)
        todo = list(first.values())
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start:start + CHUNK]
            decoded = decode_uint8([paths[i] for i in chunk], [rois[i] for i in chunk],
                                   image_size=image_size, colour=colour, in_chans=in_chans,
                                   num_workers=num_workers, progress=progress,
                                   desc=f"{desc} ({start + len(chunk)}/{len(todo)} to cache)")
            for i, arr in zip(chunk, decoded):
                with atomic_open(files[i], "wb") as fh:
                    np.save(fh, arr)
        return CachedImages(files, shape)
