"""The executors of the fit plan: same results everywhere, retries, one clear error, no Ray."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from lnfusion.exceptions import FitTaskError, NotAvailableError, ParameterError
from lnfusion.fusion.executors import ExecutorSpec, resolve_executor, run_tasks


def _add(shared, x):
    return shared + x


def test_resolve_executor_forms():
    assert resolve_executor(None).kind == "sequential"
    assert resolve_executor(None, n_jobs=2).kind == "processes"
    assert resolve_executor("ray") == ExecutorSpec(kind="ray")
    spec = resolve_executor({"kind": "ray", "address": "auto", "num_gpus": 0.5, "max_retries": 1})
    assert (spec.address, spec.num_gpus, spec.max_retries) == ("auto", 0.5, 1)
    with pytest.raises(ParameterError, match="executor"):
        resolve_executor("spark")
    with pytest.raises(ParameterError, match="num_gpu"):
        resolve_executor({"kind": "ray", "num_gpu": 1})
    with pytest.raises(ParameterError, match="num_cpus"):
        resolve_executor({"kind": "ray", "num_cpus": -1})


def test_late_fusion_refuses_an_unknown_executor_before_reading_data():
    from lnfusion.fusion import LateFusionClassifier

    with pytest.raises(ParameterError, match="LateFusionClassifier parameter executor"):
        LateFusionClassifier(modalities=[], executor="spark")._validate_params()


def test_sequential_and_processes_keep_task_order():
    tasks = [(i,) for i in range(6)]
    labels = [str(i) for i in range(6)]
    assert run_tasks(_add, tasks, labels, shared=(10,)) == list(range(10, 16))
    assert run_tasks(_add, tasks, labels, shared=(10,), executor="processes", n_jobs=2) == \
        list(range(10, 16))


def test_ray_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(NotAvailableError, match=r"pip install lnfusion\[ray\]"):
        run_tasks(_add, [(1,)], ["one"], shared=(1,), executor="ray")


# -- a local Ray cluster ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_runs_tasks_in_order_with_shared_objects(ray_cluster):
    def add(shared, x):   # local: Ray ships it by value (the test module is not importable there)
        return shared + x

    big = np.arange(100_000)
    out = run_tasks(add, [(i,) for i in range(5)], [f"t{i}" for i in range(5)], shared=(big,),
                    executor="ray")
    for i, arr in enumerate(out):
        np.testing.assert_array_equal(arr, big + i)


def test_ray_retries_a_failed_task_and_names_one_that_fails_for_good(ray_cluster, tmp_path):
    marker = tmp_path / "tried"

    def flaky(folder, x):   # fails the first time it runs (a lost file server, an OOM...)
        import os

        path = os.path.join(folder, "tried")
        if not os.path.exists(path):
            open(path, "w").close()
            raise OSError("transient failure")
        return x * 2

    assert run_tasks(flaky, [(21,)], ["bmode, fold2"], shared=(str(tmp_path),),
                     executor={"kind": "ray", "max_retries": 1}) == [42]
    assert marker.exists()

    def broken(x):
        raise ValueError(f"bad input {x}")

    with pytest.raises(FitTaskError, match=r"branch fit cdfi, fold3 failed on Ray.*bad input 7"):
        run_tasks(broken, [(7,), (1,)], ["cdfi, fold3", "tabular, fold3"],
                  executor="ray")


def test_fit_plan_on_ray_equals_sequential_and_processes(ray_cluster, demo_small, tmp_path):
    """Same OOF predictions and same refit branches, bit for bit (one thread per fit)."""
    pytest.importorskip("torch")
    from lnfusion.fusion import LateFusionClassifier

    params = dict(modalities=["bmode"], backbone="test_resnet", cv=2, random_state=0, progress=False,
                  n_threads=1, image_params={"image_size": 32, "epochs": 1, "device": "cpu"})
    seq = LateFusionClassifier(**params).fit(demo_small)   # one thread per fit, wherever it runs
    runs = {"ray": LateFusionClassifier(**params, executor={"kind": "ray", "num_cpus": 1}),
            "processes": LateFusionClassifier(**params, executor="processes", n_jobs=2)}
    for kind, model in runs.items():
        model.fit(demo_small)
        for b in seq.branch_names_:
            np.testing.assert_array_equal(model.oof_proba_[b], seq.oof_proba_[b], err_msg=f"{kind} {b}")
        np.testing.assert_array_equal(model.predict_proba(demo_small), seq.predict_proba(demo_small))
        ref, got = seq.branches_["bmode"].model_.state_dict(), model.branches_["bmode"].model_.state_dict()
        assert all(np.array_equal(ref[k].numpy(), got[k].numpy()) for k in ref), kind


def test_validation_runners_set_the_executor_of_every_fold_model(demo_small):
    from sklearn.linear_model import LogisticRegression

    from lnfusion.evaluation.validation import _set_executor
    from lnfusion.exceptions import ConfigError
    from lnfusion.fusion import LateFusionClassifier

    model = LateFusionClassifier(modalities=[])
    _set_executor(model, "processes")
    assert model.get_params()["executor"] == "processes"
    with pytest.raises(ConfigError, match="has no executor parameter"):
        _set_executor(LogisticRegression(), "ray")
