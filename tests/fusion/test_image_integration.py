"""LateFusionClassifier with real image branches (tiny: 32 px, one epoch) on the demo cohort."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from sklearn.base import clone  # noqa: E402

from lnfusion.fusion import LateFusionClassifier  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = dict(image_size=32, epochs=1, batch_size=32, val_size=0.0, patience=None, warmup_epochs=0.5,
            lr=2e-3)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from lnfusion.datasets import make_demo_cohort

    return make_demo_cohort(tmp_path_factory.mktemp("demo") / "cohort", n_patients=30, image_size=32,
                            missing_rate=0.3, n_jobs=1)


def test_image_and_tabular_branches_fit_predict_and_round_trip(tmp_path, demo):
    model = LateFusionClassifier(modalities=("cdfi",), image_params=FAST, cv=2,
                                 progress=False).fit(demo)
    assert model.branch_names_ == ["cdfi", "tabular"]
    assert model.branches_["cdfi"].get_params()["progress"] is False        # inherited
    no_cdfi = ~demo.modality_mask()["cdfi"].to_numpy()
    assert no_cdfi.any()
    assert model.missing_counts_["cdfi"] == no_cdfi.sum()
    proba, branch = model.predict_with_branches(demo)
    assert np.all(np.isnan(branch["cdfi"][no_cdfi])) and np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    model.save(tmp_path / "model")
    assert (tmp_path / "model" / "branches" / "cdfi" / "weights.safetensors").is_file()
    loaded = LateFusionClassifier.load(tmp_path / "model")
    assert np.array_equal(loaded.predict_proba(demo), proba)


def test_a_branch_parameter_set_on_the_fused_model_is_the_one_fit_uses(demo):
    model = LateFusionClassifier(modalities=("bmode", "cdfi"), image_params=FAST, tabular=None,
                                 cv="holdout", progress=False)
    model.set_params(bmode__epochs=5)
    twin = clone(model)
    assert twin.get_params()["bmode__epochs"] == 5 and twin.get_params()["cdfi__epochs"] == 1
    twin.fit(demo)
    assert len(twin.branches_["bmode"].history_) == 5        # one row per epoch
    assert len(twin.branches_["cdfi"].history_) == 1
    assert twin.branches_["bmode"].get_params()["image_size"] == 32
