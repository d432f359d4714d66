"""Project-wide test settings: offline, headless, small thread pools."""
import os
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TIMM_FUSED_ATTN", "0")

import matplotlib  # noqa: E402
import pytest  # noqa: E402

matplotlib.use("Agg", force=True)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module of tiny-network tests: they gain little from a second
    thread, and threads spin badly on a busy machine.  Restores the previous count.

    ``OMP_NUM_THREADS=1`` too, so estimators whose ``n_threads`` is None (which set torch's
    thread count while they fit: the available cores, capped by that variable) keep to one."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    env = os.environ.get("OMP_NUM_THREADS")
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
    yield
    torch.set_num_threads(before)
    if env is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = env


# -- the small demo cohort and one model fitted on it, shared by the whole session -----------------
#
# Tests that are not about fitting (reports, CLI commands reading a saved model, explanations)
# use ``demo_fitted`` instead of fitting their own copy of the same small model.  Tests about
# fitting, and the end-to-end runs of notebooks, examples and documented code (marker ``e2e``),
# still fit for themselves.

@pytest.fixture(scope="session")
def demo_small(tmp_path_factory):
    """The ``small`` demo cohort (60 patients, 64 px, seed 0), built once per session."""
    from lnfusion.datasets import make_demo_cohort

    root = tmp_path_factory.mktemp("demo_small") / "cohort"
    return make_demo_cohort(root, preset="small")


@pytest.fixture(scope="session")
def demo_root(demo_small):
    """Folder of :func:`demo_small` (treat as read-only: copy it before changing anything)."""
    return demo_small.root


@dataclass(frozen=True)
class DemoFit:
    """A :class:`~lnfusion.fusion.LateFusionClassifier` fitted once on the small demo cohort."""

    cohort: object    #: the whole cohort (:func:`demo_small`)
    train: object     #: 70% of the patients, the model's training set
    test: object      #: the 30% held-out patients
    model: object     #: fitted on ``train`` (the "small" preset's model); do not refit or mutate
    model_dir: Path   #: ``model.save(...)`` of it, for commands that load a saved model


@pytest.fixture(scope="session")
def demo_fitted(demo_small, tmp_path_factory) -> DemoFit:
    """One small fused model on the demo cohort, fitted and saved once per session.

    The "small" demo preset's model (``demo_model_params("small")``: a tiny timm network at
    32 px, one epoch, one inner hold-out split) on 70% of the patients, as in the quickstart.
    """
    torch = pytest.importorskip("torch")
    pytest.importorskip("timm")
    pytest.importorskip("xgboost")
    from lnfusion.data import split_patients
    from lnfusion.datasets import demo_model_params
    from lnfusion.fusion import LateFusionClassifier

    split = split_patients(demo_small.y, demo_small.groups, test_size=0.3, random_state=0)
    train, test = demo_small.subset(split.train), demo_small.subset(split.test)
    before = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny networks (see one_torch_thread)
    try:
        model = LateFusionClassifier(**demo_model_params("small"), random_state=0,
                                     progress=False).fit(train)
    finally:
        torch.set_num_threads(before)
    model_dir = model.save(tmp_path_factory.mktemp("demo_fitted") / "model")
    return DemoFit(cohort=demo_small, train=train, test=test, model=model, model_dir=model_dir)
