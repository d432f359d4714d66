"""lnfusion.io's rules: inputs are never outputs, overwrite replaces only lnfusion's own folders,
a replaced folder is never missing (even after a crash), stale temporaries are cleaned, a full
disk gives one clean error and leaves nothing half-written."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lnfusion import io
from lnfusion.exceptions import DiskFullError, LnfusionError, OutputConflictError
from lnfusion.io import (
    OUTPUT_MARKER,
    atomic_dir,
    atomic_write_text,
    check_output,
    output_dir,
    protect_inputs,
    recover_output,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def study(tmp_path):
    """A user's study folder: manifest, images, no lnfusion marker."""
    root = tmp_path / "study"
    (root / "images").mkdir(parents=True)
    (root / "manifest.csv").write_text("patient_id,label\nP1,a\n")
    (root / "images" / "a.png").write_bytes(b"png")
    return root


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


# -- inputs are never outputs --------------------------------------------------------------
def test_output_that_is_contains_or_lies_inside_an_input_is_refused(study, tmp_path):
    manifest, image, model = study / "manifest.csv", study / "images" / "a.png", tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    before = _tree(study)
    with protect_inputs(manifest, [image], model, None):
        for out, why in [(manifest, "is the input"), (study, "contains the input"),
                         (study / "images", "contains the input"), (tmp_path, "contains the input"),
                         (model, "is the input"), (model / "preds.csv", "inside the input folder")]:
            with pytest.raises(OutputConflictError, match=why) as info:
                atomic_write_text(out, "x") if out.suffix else atomic_dir(out, overwrite=True).__enter__()
            assert isinstance(info.value, LnfusionError) and str(out) in str(info.value)
        with pytest.raises(OutputConflictError):
            output_dir(study)
        # a new file or folder beside the inputs is fine
        atomic_write_text(study / "preds.csv", "ok")
        with atomic_dir(study / "explanations") as tmp:
            (tmp / "a.txt").write_text("ok")
    assert _tree(study) == {**before, "preds.csv": b"ok", f"explanations/{OUTPUT_MARKER}":
                            (study / "explanations" / OUTPUT_MARKER).read_bytes(),
                            "explanations/a.txt": b"ok"}
    atomic_write_text(manifest, "replaced once no longer protected")   # released with the block


def test_links_to_an_input_are_refused(study, tmp_path):
    manifest = study / "manifest.csv"
    (tmp_path / "hard.csv").hardlink_to(manifest)
    (tmp_path / "soft.csv").symlink_to(manifest)
    (tmp_path / "dirlink").symlink_to(study)
    with protect_inputs(manifest):
        for out in (tmp_path / "hard.csv", tmp_path / "soft.csv", tmp_path / "dirlink"):
            with pytest.raises(OutputConflictError):
                check_output(out)
    check_output(tmp_path / "hard.csv", inputs=[tmp_path / "other.csv"])
    with pytest.raises(OutputConflictError, match="same file"):
        check_output(tmp_path / "hard.csv", inputs=[manifest])


# -- overwrite only replaces what lnfusion wrote ------------------------------------------
def test_overwrite_refuses_a_folder_lnfusion_did_not_write(study):
    before = _tree(study)
    with pytest.raises(OutputConflictError, match=rf"no {OUTPUT_MARKER}.*images, manifest.csv"):
        with atomic_dir(study, overwrite=True) as tmp:
            (tmp / "x").write_text("x")
    with pytest.raises(OutputConflictError, match="not a folder lnfusion wrote"):
        with atomic_dir(study / "manifest.csv", overwrite=True):
            pass
    assert _tree(study) == before
    assert sorted(p.name for p in study.parent.iterdir()) == ["study"]   # no temporary left


def test_overwrite_replaces_lnfusion_output_and_empty_folders(tmp_path):
    out = tmp_path / "run"
    out.mkdir()                      # empty: may be replaced
    with atomic_dir(out, overwrite=True) as tmp:
        (tmp / "a.txt").write_text("1")
    marker = json.loads((out / OUTPUT_MARKER).read_text())
    assert marker["written_by"] == "lnfusion" and marker["lnfusion_version"] and marker["command"]
    with atomic_dir(out, overwrite=True) as tmp:
        (tmp / "b.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == [OUTPUT_MARKER, "b.txt"]
    # a folder filled file by file (lnfusion demo) accepts only itself, empty, or lnfusion folders
    assert output_dir(tmp_path / "demo") == tmp_path / "demo"
    assert (tmp_path / "demo" / OUTPUT_MARKER).is_file()
    holder = tmp_path / "holder"
    holder.mkdir()
    (holder / "notes.txt").write_text("mine")
    with pytest.raises(OutputConflictError, match="notes.txt"):
        output_dir(holder)


def test_output_dot_is_refused_cleanly_not_with_a_traceback(study, monkeypatch):
    monkeypatch.chdir(study)
    with protect_inputs("manifest.csv"), pytest.raises(OutputConflictError):
        with atomic_dir(".", overwrite=True):
            pass
    with pytest.raises(OutputConflictError, match="no .lnfusion-output.json"):
        with atomic_dir(".", overwrite=True):
            pass
    assert (study / "manifest.csv").is_file()


# -- a replaced folder is never missing -----------------------------------------------------
def _old_output(path: Path, text: str = "old") -> None:
    with atomic_dir(path, overwrite=True) as tmp:
        (tmp / "v.txt").write_text(text)


def test_swap_uses_one_atomic_exchange_where_available(tmp_path, monkeypatch):
    target = tmp_path / "model"
    _old_output(target)
    probe_a, probe_b = tmp_path / "a", tmp_path / "b"
    probe_a.mkdir()
    probe_b.mkdir()
    if not io._exchange(probe_a, probe_b):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")

    def no_rename(*args, **kwargs):
        raise AssertionError("the existing folder was renamed away: a crash here would lose it")

    monkeypatch.setattr(os, "rename", no_rename)
    monkeypatch.setattr(os, "replace", no_rename)
    with atomic_dir(target, overwrite=True) as tmp:
        (tmp / "v.txt").write_text("new")
    assert (target / "v.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "model"]


def test_failure_between_the_two_renames_keeps_the_previous_folder(tmp_path, monkeypatch):
    target = tmp_path / "model"
    _old_output(target)
    monkeypatch.setattr(io, "_exchange", lambda a, b: False)
    real_rename, calls = os.rename, []

    def second_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(errno.EIO, "injected failure", str(dst))
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", second_fails)
    with pytest.raises(OSError, match="injected"):
        with atomic_dir(target, overwrite=True) as tmp:
            (tmp / "v.txt").write_text("new")
    assert (target / "v.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


_CRASH = textwrap.dedent('''
    import os, sys
    from lnfusion import io
    io._exchange = lambda a, b: False          # as on a system without renameat2
    calls = []
    def crashing(real):
        def rename(src, dst):
            calls.append(dst)
            if len(calls) == 2:                # between "model -> .model.old" and "tmp -> model"
                os._exit(9)                    # the process dies: no except, no finally
            return real(src, dst)
        return rename
    os.rename, os.replace = crashing(os.rename), crashing(os.replace)
    with io.atomic_dir(sys.argv[1], overwrite=True) as tmp:
        (tmp / "v.txt").write_text("new")
''')


def test_crash_between_the_two_renames_is_recovered(tmp_path):
    target = tmp_path / "model"
    _old_output(target)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _CRASH, str(target)], env=env, timeout=120)
    assert done.returncode == 9
    assert not target.exists() and (tmp_path / ".model.old" / "v.txt").read_text() == "old"
    assert recover_output(target) is True
    assert (target / "v.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".tmp")) == ["model"]
    # the next write of the folder recovers too
    subprocess.run([sys.executable, "-c", _CRASH, str(target)], env=env, timeout=120)
    assert not target.exists()
    _old_output(target, "newer")
    assert (target / "v.txt").read_text() == "newer" and not (tmp_path / ".model.old").exists()


# -- stale temporaries --------------------------------------------------------------------
def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    for p in [*path.rglob("*"), path] if path.is_dir() else [path]:
        os.utime(p, (then, then), follow_symlinks=False)


def _temp_dir(folder: Path, name: str, pid: int | None, age: float) -> Path:
    tmp = folder / name
    tmp.mkdir()
    (tmp / "half.bin").write_bytes(b"half")
    if pid is not None:
        (tmp / OUTPUT_MARKER).write_text(json.dumps({"written_by": "lnfusion", "pid": pid,
                                                     "host": io._HOST}))
    _age(tmp, age)
    return tmp


def test_stale_temporaries_of_lnfusion_are_removed_and_nothing_else(tmp_path):
    dead, hour = _dead_pid(), io.STALE_AFTER_S + 60
    stale = _temp_dir(tmp_path, ".run.abcd1234.tmp", dead, hour)
    young = _temp_dir(tmp_path, ".run.efgh5678.tmp", dead, 10)
    alive = _temp_dir(tmp_path, ".run.ijkl9012.tmp", os.getpid(), hour)
    unmarked = _temp_dir(tmp_path, ".run.mnop3456.tmp", None, hour)
    users = _temp_dir(tmp_path, ".cache.tmp", dead, hour)        # not lnfusion's naming
    stale_file = tmp_path / f".preds.csv.lnf{dead}-qrst7890.tmp"
    other_file = tmp_path / ".preds.csv.qrst7890.tmp"
    for f in (stale_file, other_file):
        f.write_text("half")
        _age(f, hour)
    atomic_write_text(tmp_path / "preds.csv", "ok")
    left = {p.name for p in tmp_path.iterdir()}
    assert stale.name not in left and stale_file.name not in left
    assert {young.name, alive.name, unmarked.name, users.name, other_file.name, "preds.csv"} == left


def test_killed_writer_leaves_a_temporary_the_next_run_removes(tmp_path):
    script = ("import sys, time\nfrom lnfusion.io import atomic_dir\n"
              "with atomic_dir(sys.argv[1]) as tmp:\n    (tmp / 'a').write_text('x')\n"
              "    print('ready', flush=True)\n    time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "out")],
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE)
    assert child.stdout.readline().strip() == b"ready"
    child.kill()
    child.wait()
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1 and not (tmp_path / "out").exists()
    _age(leftovers[0], io.STALE_AFTER_S + 60)
    with atomic_dir(tmp_path / "other") as tmp:
        (tmp / "b").write_text("y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]


# -- disk full ----------------------------------------------------------------------------
def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_names_the_output_and_keeps_the_previous_content(tmp_path, monkeypatch):
    target = tmp_path / "table.md"
    target.write_text("old")
    monkeypatch.setattr(os, "fsync", _disk_full)
    with pytest.raises(DiskFullError, match=r"no space left.*table\.md.*MB free") as info:
        atomic_write_text(target, "new")
    assert isinstance(info.value, LnfusionError)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["table.md"]
    with pytest.raises(DiskFullError, match=r"no space left.*'[^']*/run'"):
        with atomic_dir(tmp_path / "run") as tmp:
            atomic_write_text(tmp / "model" / "config.json", "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.md"]


def test_disk_full_says_how_much_the_output_needs_at_least(tmp_path, monkeypatch):
    """The message gives the space needed (at least what was written before the disk filled)
    beside the space free, so the user knows how much to free."""
    real_write = os.write
    written = {"n": 0}

    def write_until_full(fd, data):
        if written["n"] >= 3_000_000:
            raise OSError(errno.ENOSPC, "No space left on device")
        written["n"] += len(data)
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write_until_full)
    with pytest.raises(DiskFullError, match=r"needs more than the 3\.\d MB written.*MB free"):
        with atomic_dir(tmp_path / "run") as tmp:
            with open(tmp / "weights.bin", "wb", buffering=0) as fh:
                for _ in range(10):
                    os.write(fh.fileno(), b"\0" * 1_000_000)
    assert not [p for p in tmp_path.iterdir()]
