"""Atomic writes leave nothing half-written; JSON configs round-trip and reject unknown keys."""
from dataclasses import dataclass

import pytest

from lnfusion.config import JsonConfig
from lnfusion.exceptions import ConfigError, LnfusionError
from lnfusion.io import OUTPUT_MARKER, atomic_dir, atomic_write_text


def test_atomic_write_replaces_content(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_failed_write_keeps_old_content_and_leaves_no_temp(tmp_path):
    from lnfusion.io import atomic_open

    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as fh:
            fh.write("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_atomic_dir_is_all_or_nothing(tmp_path):
    target = tmp_path / "model"
    with pytest.raises(ValueError):
        with atomic_dir(target) as tmp:
            (tmp / "x.json").write_text("{}")
            raise ValueError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    with atomic_dir(target) as tmp:
        (tmp / "x.json").write_text("{}")
    assert (target / "x.json").exists()
    with pytest.raises(FileExistsError):
        with atomic_dir(target):
            pass
    with atomic_dir(target, overwrite=True) as tmp:
        (tmp / "y.json").write_text("{}")
    assert sorted(p.name for p in target.iterdir()) == [OUTPUT_MARKER, "y.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


@dataclass(frozen=True)
class _Cfg(JsonConfig):
    seed: int = 0
    backbones: tuple = ("resnet18",)
    lr: float = 1e-3


def test_config_round_trip(tmp_path):
    cfg = _Cfg(seed=3, backbones=("resnet18", "resnet34"))
    path = cfg.save(tmp_path / "cfg.json")
    loaded = _Cfg.from_json(path)
    assert loaded.to_dict() == cfg.to_dict()
    assert loaded.seed == 3


def test_config_rejects_unknown_keys_by_name(tmp_path):
    with pytest.raises(ConfigError, match="unknown setting.*'sead'") as info:
        _Cfg.from_dict({"sead": 1})
    assert isinstance(info.value, LnfusionError)
    assert "seed" in str(info.value)  # lists the accepted keys


def test_config_missing_or_invalid_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        _Cfg.from_json(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json"):
        _Cfg.from_json(bad)


def test_atomic_outputs_get_ordinary_permissions(tmp_path):
    import os
    import stat

    mask = os.umask(0o022)
    try:
        f = atomic_write_text(tmp_path / "a.txt", "x")
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "b").write_text("y")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(f.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755
