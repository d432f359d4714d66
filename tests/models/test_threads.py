"""CPU threads: the default is the cores the process may use (its affinity), shared between
parallel fits, so that parallel fits never oversubscribe the cores by default."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from lnfusion.exceptions import ParameterError
from lnfusion.models import default_threads
from lnfusion.models.hardware import available_cores, parallel_workers

ROOT = Path(__file__).resolve().parents[2]
needs_affinity = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"),
                                    reason="no CPU affinity on this platform")


def _probe(code: str, affinity: int | None) -> dict:
    """Run ``code`` (which prints JSON) in a fresh interpreter pinned to ``affinity`` cores."""
    pin = "" if affinity is None else (
        f"import os; os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:{affinity}])\n")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", pin + textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@needs_affinity
def test_default_follows_the_affinity_not_the_machine():
    """Pinned to one core, every default is one thread, whatever os.cpu_count() says; and an
    image branch fits with one torch thread, then gives the previous count back."""
    out = _probe("""
        import json, os
        import torch
        from lnfusion.models import available_cores, default_threads
        torch.set_num_threads(3)
        seen = []
        from lnfusion.models.hardware import resolve_threads, torch_threads
        with torch_threads(resolve_threads(None)):
            seen.append(torch.get_num_threads())
        print(json.dumps({"cores": available_cores(), "one": default_threads(1),
                          "two": default_threads(2), "all": default_threads(-1),
                          "inside": seen[0], "after": torch.get_num_threads(),
                          "cpu_count": os.cpu_count()}))
    """, affinity=1)
    assert out["cores"] == 1
    assert out["one"] == out["two"] == out["all"] == 1
    assert out["inside"] == 1 and out["after"] == 3


@needs_affinity
def test_n_jobs_two_splits_the_cores():
    cores = len(os.sched_getaffinity(0))
    if cores < 2:
        pytest.skip("needs two cores")
    out = _probe("""
        import json
        from lnfusion.models import available_cores, default_threads
        print(json.dumps({"cores": available_cores(), "one": default_threads(1),
                          "two": default_threads(2), "all": default_threads(-1)}))
    """, affinity=2)
    assert out == {"cores": 2, "one": 2, "two": 1, "all": 1}


def test_omp_num_threads_caps_the_default(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert available_cores() == 1 and default_threads(1) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    assert available_cores() >= 1


@pytest.mark.parametrize("n_jobs, cores, workers", [(None, 8, 1), (1, 8, 1), (3, 8, 3), (-1, 8, 8),
                                                    (-2, 8, 7), (-20, 8, 1)])
def test_parallel_workers_follows_joblib(n_jobs, cores, workers):
    assert parallel_workers(n_jobs, cores) == workers


def test_xgboost_threads_follow_n_threads(monkeypatch):
    pytest.importorskip("xgboost")
    import pandas as pd

    from lnfusion.models import TabularClassifier

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    y = (X["a"] > 0).astype(int).to_numpy()
    fit = TabularClassifier(xgb_params={"n_estimators": 5}).fit(X, y)
    assert fit.model_.get_params()["n_jobs"] == default_threads(1)
    assert TabularClassifier(n_threads=1, xgb_params={"n_estimators": 5}).fit(X, y) \
        .model_.get_params()["n_jobs"] == 1
    own = TabularClassifier(n_threads=1, xgb_params={"n_estimators": 5, "n_jobs": 2}).fit(X, y)
    assert own.model_.get_params()["n_jobs"] == 2  # xgb_params wins
    with pytest.raises(ParameterError, match="n_threads=0"):
        TabularClassifier(n_threads=0).fit(X, y)


class ThreadRecorder(ClassifierMixin, BaseEstimator):
    """A branch that records the ``n_threads`` it was fitted with (predicts the class prior)."""

    def __init__(self, n_threads=None):
        self.n_threads = n_threads

    def fit(self, cohort, y):
        self.threads_seen_ = self.n_threads
        self.prior_ = np.bincount(np.asarray(y), minlength=3) / len(y)
        return self

    def predict_proba(self, cohort):
        return np.tile(self.prior_, (len(cohort), 1))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_cross_fit_gives_each_parallel_fit_its_share(n_jobs, monkeypatch):
    sys.path.insert(0, str(ROOT / "tests" / "fusion"))
    from fusion_standins import make_cohort

    from lnfusion.fusion.oof import cross_fit, inner_splits

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cohort = make_cohort(30, seed=1)
    y = cohort.y
    splits = inner_splits(y, cohort.groups, 2, 0.25, 0)
    branches = {"free": ThreadRecorder(), "fixed": ThreadRecorder(n_threads=5)}
    _, fitted = cross_fit(branches, cohort, y, 3, splits, n_jobs=n_jobs, progress=False)
    assert fitted["free"].threads_seen_ == default_threads(n_jobs)
    assert fitted["free"].n_threads is None  # the fitted branch keeps the setting it was given
    assert fitted["fixed"].threads_seen_ == 5


def test_late_fusion_passes_n_threads_to_its_branches():
    from lnfusion.fusion import LateFusionClassifier

    model = LateFusionClassifier(modalities=("bmode",), n_threads=2, n_jobs=2)
    params = model.get_params()
    assert params["bmode__n_threads"] == 2 and params["tabular__n_threads"] == 2
    with pytest.raises(ParameterError, match="n_threads"):
        LateFusionClassifier(n_threads=-1)._validate_params()


def test_image_branch_trains_with_n_threads_and_restores_the_count(toy_cohort, fast):
    import torch

    from lnfusion.models import ImageBranchClassifier

    seen = []
    before = torch.get_num_threads()
    clf = ImageBranchClassifier("bmode", **{**fast, "epochs": 1}, n_threads=2)
    clf.fit(toy_cohort, callbacks=[lambda info: seen.append(torch.get_num_threads())])
    assert seen == [2]
    assert torch.get_num_threads() == before
    with pytest.raises(ParameterError, match="n_threads=1.5"):
        ImageBranchClassifier("bmode", n_threads=1.5)._validate_params()
