"""Saving and loading a LateFusionClassifier: bit-for-bit, integrity, versions, no pickle."""
import json
import pickle

import numpy as np
import pytest
from fusion_standins import SignalBranch, make_cohort

from lnfusion import __version__
from lnfusion.exceptions import (
    FormatVersionError,
    IntegrityError,
    NotAvailableError,
    NotFittedError,
    PersistenceError,
)
from lnfusion.fusion import LateFusionClassifier, MLPHead, verify_model_dir
from lnfusion.io import OUTPUT_MARKER
from lnfusion.models.tabular import TabularClassifier


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(90, seed=2)


def _tabular_branches():
    return {"xgb": TabularClassifier("xgboost", xgb_params={"n_estimators": 30}),
            "logistic": TabularClassifier("logistic", descriptors=["age", "shape"])}


@pytest.fixture(scope="module")
def fitted(cohort):
    return LateFusionClassifier(branches=_tabular_branches(), cv=3, progress=False).fit(cohort)


class _Bomb:
    """Unpickling this creates the marker file: proof that something unpickled it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("head", ["stacking", "shrunk", "shrunk_weighted", "mean", "weighted", "mlp"])
def test_round_trip_is_bit_for_bit(tmp_path, cohort, head):
    model = LateFusionClassifier(branches=_tabular_branches(),
                                 head=MLPHead(epochs=30) if head == "mlp" else head,
                                 cv=2, progress=False).fit(cohort)
    before = model.predict_proba(cohort)
    model.save(tmp_path / "model")
    loaded = LateFusionClassifier.load(tmp_path / "model")
    after = loaded.predict_proba(cohort)
    assert np.array_equal(before, after)
    for b, p in model.predict_branch_proba(cohort).items():
        assert np.array_equal(p, loaded.predict_branch_proba(cohort)[b])
    assert list(loaded.classes_) == list(model.classes_)
    assert loaded.branch_names_ == model.branch_names_
    assert loaded.missing_counts_ == model.missing_counts_
    assert np.array_equal(loaded.oof_folds_, model.oof_folds_)
    for b in model.branch_names_:
        assert np.array_equal(loaded.oof_proba_[b], model.oof_proba_[b], equal_nan=True)
    assert loaded.schema_ == cohort.schema
    assert loaded.get_params()["cv"] == 2


def test_saved_folder_layout(tmp_path, fitted):
    fitted.save(tmp_path / "m")
    files = sorted(p.relative_to(tmp_path / "m").as_posix() for p in (tmp_path / "m").rglob("*")
                   if p.is_file())
    assert {"config.json", "manifest.json", "head.json", "schema.json", "oof.safetensors",
            "branches/xgb/xgboost_model.json", "branches/logistic/logistic.safetensors"} <= set(files)
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".pt", ".pth", ".joblib"))]
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["format_version"] == 1 and config["lnfusion_version"] == __version__
    assert config["branch_names"] == ["xgb", "logistic"] and config["head_type"] == "shrunk"
    assert config["classes"] == list(fitted.classes_)
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    markers = {f for f in files if f.rsplit("/", 1)[-1] == OUTPUT_MARKER}   # one per folder written
    assert markers == {OUTPUT_MARKER, f"branches/xgb/{OUTPUT_MARKER}", f"branches/logistic/{OUTPUT_MARKER}"}
    assert set(manifest["files"]) == set(files) - {"manifest.json"} - markers
    assert not list(tmp_path.glob(".*tmp"))           # atomic: no temporary left over


def test_planted_pickles_are_never_loaded_or_executed(tmp_path, cohort, fitted, monkeypatch):
    folder = fitted.save(tmp_path / "m")
    marker = tmp_path / "unpickled.txt"
    payload = pickle.dumps(_Bomb(marker))
    for name in ("model.pkl", "head.pickle", "branches/xgb/model.pt", "branches/logistic/weights.pth"):
        (folder / name).write_bytes(payload)
    # make sure the payload really would fire if anything unpickled it
    pickle.loads(payload)
    assert marker.exists()
    marker.unlink()

    def refuse(*args, **kwargs):
        raise AssertionError("something tried to unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    import torch

    monkeypatch.setattr(torch, "load", refuse)
    # in a branch folder (read by the branch's own loader) an unlisted file is refused outright
    with pytest.raises(IntegrityError, match="does not list.*branches/logistic/weights.pth"):
        LateFusionClassifier.load(folder)
    assert not marker.exists()
    for name in ("branches/xgb/model.pt", "branches/logistic/weights.pth"):
        (folder / name).unlink()
    # elsewhere it is ignored (never opened) with a warning
    with pytest.warns(UserWarning, match="model.pkl"):
        loaded = LateFusionClassifier.load(folder)
    assert np.array_equal(loaded.predict_proba(cohort), fitted.predict_proba(cohort))
    assert not marker.exists()


@pytest.mark.parametrize("rel", ["head.json", "oof.safetensors", "schema.json",
                                 "branches/xgb/xgboost_model.json", "branches/xgb/tabular.json",
                                 "branches/logistic/logistic.safetensors"])
def test_a_file_the_loader_reads_must_be_listed(tmp_path, cohort, fitted, rel):
    """Altering a file and deleting its manifest entry must not get it loaded unverified."""
    folder = fitted.save(tmp_path / "m")
    file = folder / rel
    if rel.endswith(".json"):
        text = file.read_text()
        file.write_text(text.replace("1", "2", 1))
    else:
        file.write_bytes(file.read_bytes()[:-8] + bytes(8))
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["files"][rel]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match=f"does not list \\['{rel}'\\], which loading the model reads"):
        LateFusionClassifier.load(folder)
    with pytest.raises(IntegrityError):
        verify_model_dir(folder)


def test_altered_or_missing_file_raises_integrity_error_naming_it(tmp_path, fitted):
    folder = fitted.save(tmp_path / "m")
    head = folder / "head.json"
    head.write_text(head.read_text().replace('"C": 1.0', '"C": 2.0'))
    with pytest.raises(IntegrityError, match="head.json.*altered"):
        LateFusionClassifier.load(folder)
    folder = fitted.save(tmp_path / "m2")
    (folder / "branches" / "xgb" / "xgboost_model.json").unlink()
    with pytest.raises(IntegrityError, match="xgboost_model.json: missing"):
        LateFusionClassifier.load(folder)
    folder = fitted.save(tmp_path / "m3")
    (folder / "manifest.json").unlink()
    with pytest.raises(IntegrityError, match="manifest.json: missing"):
        LateFusionClassifier.load(folder)
    with pytest.raises(PersistenceError, match="not a folder"):
        LateFusionClassifier.load(tmp_path / "nowhere")


def test_incompatible_format_version_is_refused(tmp_path, fitted):
    folder = fitted.save(tmp_path / "m")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = 99
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FormatVersionError, match="format version 99.*reads format version 1"):
        LateFusionClassifier.load(folder)
    assert issubclass(FormatVersionError, PersistenceError)


def test_save_refuses_unfitted_unsavable_and_existing(tmp_path, cohort, fitted):
    with pytest.raises(NotFittedError, match="call fit first"):
        LateFusionClassifier().save(tmp_path / "x")
    standin = LateFusionClassifier(branches={"bmode": SignalBranch("bmode"),
                                             "tabular": TabularClassifier("logistic")},
                                   cv=2, progress=False).fit(cohort)
    with pytest.raises(NotAvailableError, match="'bmode' is a SignalBranch"):
        standin.save(tmp_path / "s")
    assert not (tmp_path / "s").exists()
    fitted.save(tmp_path / "m")
    with pytest.raises(FileExistsError):
        fitted.save(tmp_path / "m")
    fitted.save(tmp_path / "m", overwrite=True)
    assert verify_model_dir(tmp_path / "m")["format_version"] == 1


def test_settings_objects_in_params_are_saved_as_json(tmp_path, cohort):
    from lnfusion.data.augment import AugmentConfig

    aug = AugmentConfig()
    model = LateFusionClassifier(branches=_tabular_branches(), cv=2, progress=False,
                                 image_params={"augment": aug, "pretrained": tmp_path}).fit(cohort)
    loaded = LateFusionClassifier.load(model.save(tmp_path / "m"))
    params = loaded.get_params()["image_params"]
    assert params == {"augment": aug.to_dict(), "pretrained": str(tmp_path)}
    assert AugmentConfig.from_dict(params["augment"]) == aug


_CRASHING_SAVE = """if True:
    import os, sys
    from lnfusion import io
    from lnfusion.fusion import LateFusionClassifier
    model = LateFusionClassifier.load(sys.argv[1])
    io._exchange = lambda a, b: False          # as on a system without renameat2
    target = os.path.abspath(sys.argv[1])
    old = os.path.join(os.path.dirname(target), "." + os.path.basename(target) + ".old")
    def crashing(real):
        def rename(src, dst):
            if os.path.abspath(dst) == target and os.path.exists(old):
                os._exit(9)                    # dies between "m -> .m.old" and "tmp -> m"
            return real(src, dst)
        return rename
    os.rename, os.replace = crashing(os.rename), crashing(os.replace)
    model.save(sys.argv[1], overwrite=True)
"""


def test_crash_during_save_overwrite_is_recovered_at_load(tmp_path, fitted):
    import os
    import subprocess
    import sys
    from pathlib import Path

    target = fitted.save(tmp_path / "m")
    expected = fitted.predict_proba(make_cohort(20, seed=9))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", _CRASHING_SAVE, str(target)], env=env, timeout=300)
    assert done.returncode == 9
    assert not target.exists() and (tmp_path / ".m.old" / "config.json").is_file()
    loaded = LateFusionClassifier.load(target)          # puts the previous model back first
    assert np.array_equal(loaded.predict_proba(make_cohort(20, seed=9)), expected)
    assert not (tmp_path / ".m.old").exists()


def test_save_overwrite_never_leaves_the_path_empty(tmp_path, fitted, monkeypatch):
    import os

    from lnfusion import io

    target = fitted.save(tmp_path / "m")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    if not io._exchange(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available on this file system")
    seen = []

    def watched(real):
        def rename(src, dst):    # new folders may be renamed into place; the model never moves
            assert os.path.abspath(src) != str(target), "the previous model was renamed away"
            seen.append(dst)
            return real(src, dst)
        return rename

    monkeypatch.setattr(os, "rename", watched(os.rename))
    monkeypatch.setattr(os, "replace", watched(os.replace))
    fitted.save(target, overwrite=True)
    assert verify_model_dir(target)["format_version"] == 1
    assert seen and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_save_overwrite_refuses_a_folder_lnfusion_did_not_write(tmp_path, fitted):
    from lnfusion.exceptions import OutputConflictError

    study = tmp_path / "study"
    study.mkdir()
    (study / "manifest.csv").write_text("patient_id\nP1\n")
    with pytest.raises(OutputConflictError, match="manifest.csv"):
        fitted.save(study, overwrite=True)
    assert (study / "manifest.csv").read_text() == "patient_id\nP1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]
