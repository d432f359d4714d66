"""The on-disk image cache: same pixels as decoding, reused, stale entries and concurrent writers."""
from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
from PIL import Image  # noqa: E402

from lnfusion.data import CachedImages, ImageCache, default_cache_dir  # noqa: E402
from lnfusion.data import decode as decode_module  # noqa: E402
from lnfusion.data.decode import decode_uint8  # noqa: E402

SETTINGS = dict(image_size=24, colour=False, in_chans=1)


def _images(folder: Path, n: int = 5, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (30 + i, 40), dtype=np.uint8)).save(p)
        paths.append(str(p))
    return paths


def test_cached_pixels_equal_decoded_pixels_and_are_read_a_batch_at_a_time(tmp_path):
    paths = _images(tmp_path / "img")
    rois = [None, (2, 3, 20, 25), None, None, (0, 0, 10, 10)]
    cached = ImageCache(tmp_path / "cache").images(paths, rois, **SETTINGS)
    direct = decode_uint8(paths, rois, **SETTINGS)
    assert isinstance(cached, CachedImages) and cached.shape == direct.shape
    np.testing.assert_array_equal(np.asarray(cached), direct)
    np.testing.assert_array_equal(cached[1:4], direct[1:4])
    np.testing.assert_array_equal(cached[np.array([4, 0, 4])], direct[[4, 0, 4]])
    np.testing.assert_array_equal(cached[-1], direct[-1])
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 5   # one entry per (file, ROI)


def test_a_second_request_decodes_nothing(tmp_path, monkeypatch):
    paths = _images(tmp_path / "img")
    cache = ImageCache(tmp_path / "cache")
    first = np.asarray(cache.images(paths, **SETTINGS))

    def refuse(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(decode_module, "decode_uint8", refuse)
    np.testing.assert_array_equal(np.asarray(cache.images(paths, **SETTINGS)), first)
    with pytest.raises(AssertionError, match="decoded again"):  # other settings: a new entry
        cache.images(paths, image_size=32, colour=False, in_chans=1)


def test_a_changed_file_gets_a_new_entry_and_a_damaged_entry_is_rebuilt(tmp_path):
    paths = _images(tmp_path / "img", n=2)
    cache = ImageCache(tmp_path / "cache")
    before = cache.images(paths, **SETTINGS)
    Image.fromarray(np.full((30, 40), 200, np.uint8)).save(paths[0])   # same name, new content
    os.utime(paths[0], ns=(1, 1))                                      # even with an old mtime
    after = cache.images(paths, **SETTINGS)
    assert after.files[0] != before.files[0] and after.files[1] == before.files[1]
    np.testing.assert_array_equal(np.asarray(after), decode_uint8(paths, **SETTINGS))

    Path(after.files[1]).write_bytes(b"\x93NUMPY truncated")
    again = cache.images(paths, **SETTINGS)
    np.testing.assert_array_equal(np.asarray(again), decode_uint8(paths, **SETTINGS))


def _fill(args):
    root, paths = args
    return ImageCache(root).images(paths, **SETTINGS).digest()


def test_concurrent_writers_leave_whole_entries(tmp_path):
    paths = _images(tmp_path / "img", n=8)
    root = tmp_path / "cache"
    with mp.get_context("spawn").Pool(2) as pool:
        digests = pool.map(_fill, [(root, paths)] * 4)
    assert len(set(digests)) == 1
    entries = sorted(root.rglob("*"))
    assert not [e for e in entries if e.is_file() and not e.name.endswith(".npy")]  # no temporaries
    np.testing.assert_array_equal(np.asarray(ImageCache(root).images(paths, **SETTINGS)),
                                  decode_uint8(paths, **SETTINGS))


def test_default_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LNFUSION_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    assert ImageCache().folder.is_relative_to(tmp_path / "here")
    monkeypatch.delenv("LNFUSION_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if os.name == "posix" and not str(default_cache_dir()).startswith(str(Path.home() / "Library")):
        assert default_cache_dir() == tmp_path / "xdg" / "lnfusion"


def test_missing_file_is_named(tmp_path):
    from lnfusion.exceptions import MissingImageError

    with pytest.raises(MissingImageError, match="nope.png"):
        ImageCache(tmp_path / "cache").images([str(tmp_path / "nope.png")], **SETTINGS)


def test_a_frame_reference_is_keyed_by_its_file_content_and_frame(tmp_path):
    from lnfusion.data import frame_ref
    from lnfusion.data.image_cache import file_digest

    (path,) = _images(tmp_path / "img", n=1)
    cache = ImageCache(tmp_path / "cache")
    keys = {cache.key(ref, None, **SETTINGS) for ref in (path, frame_ref(path, 0), frame_ref(path, 1))}
    assert len(keys) == 3
    assert file_digest(frame_ref(path, 1)) == file_digest(path)
