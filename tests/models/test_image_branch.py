"""ImageBranchClassifier: the estimator contract, node aggregation, determinism, resume, persistence."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.base import clone  # noqa: E402

from lnfusion.exceptions import ConfigError, DataError, NotFittedError, PersistenceError  # noqa: E402
from lnfusion.io import OUTPUT_MARKER  # noqa: E402
from lnfusion.models import ImageBranchClassifier, TrainingInterrupted  # noqa: E402


@pytest.fixture(scope="module")
def fitted_cdfi(toy_cohort, fast):
    return ImageBranchClassifier("cdfi", **fast).fit(toy_cohort)


def test_fit_predict_shapes_and_missing_rows(toy_cohort, fitted_cdfi):
    clf = fitted_cdfi
    assert list(clf.classes_) == list(toy_cohort.classes)
    proba = clf.predict_proba(toy_cohort)
    missing = ~toy_cohort.modality_mask()["cdfi"].to_numpy()
    assert proba.shape == (len(toy_cohort), 3) and missing.any()
    assert np.isnan(proba[missing]).all()
    assert np.allclose(proba[~missing].sum(axis=1), 1.0)
    pred = clf.predict(toy_cohort)
    assert all(p is None for p in pred[missing]) and set(pred[~missing]) <= set(clf.classes_)
    emb = clf.transform(toy_cohort)
    assert emb.shape == (len(toy_cohort), clf.model_.num_features)
    assert np.isnan(emb[missing]).all() and np.isfinite(emb[~missing]).all()
    hist = clf.history_
    assert list(hist["epoch"]) == [1, 2] and {"train_loss", "val_loss", "val_auc"} <= set(hist.columns)
    assert clf.best_epoch_ in (1, 2) and clf.data_config_["input_size"] == [3, 32, 32]
    assert clf.in_chans_ == 3 and not clf.model_.training
    # the validation split came from the training cohort's patients only
    n_with = int((~missing).sum())
    assert clf.n_train_images_ + clf.n_val_images_ == n_with and clf.n_val_images_ > 0


def test_node_prediction_is_mean_logit(toy_cohort, fitted_cdfi, fast):
    from lnfusion.models.image_branch import decode_images
    from lnfusion.models.inference import predict_batches

    clf = ImageBranchClassifier("bmode", **dict(fast, epochs=1)).fit(toy_cohort)
    images = decode_images(toy_cohort, "bmode", 32, in_chans=1)
    logits = predict_batches(clf.model_, images.images, mean=clf.data_config_["mean"],
                             std=clf.data_config_["std"])
    node = 0  # first node has two B-mode images
    assert (images.node == node).sum() == 2
    expected = logits[images.node == node].mean(axis=0)
    assert np.allclose(clf.decision_function(toy_cohort)[node], expected, atol=1e-5)
    z = np.exp(expected - expected.max())
    assert np.allclose(clf.predict_proba(toy_cohort)[node], z / z.sum(), atol=1e-5)


def test_same_seed_identical_probabilities(toy_cohort, fitted_cdfi, fast):
    again = ImageBranchClassifier("cdfi", **fast).fit(toy_cohort)
    assert np.array_equal(again.predict_proba(toy_cohort), fitted_cdfi.predict_proba(toy_cohort),
                          equal_nan=True)


def test_save_load_bit_for_bit(toy_cohort, fitted_cdfi, tmp_path, fast):
    fitted_cdfi.save(tmp_path / "branch")
    doc = json.loads((tmp_path / "branch" / "config.json").read_text())
    assert doc["format"] == "lnfusion-image-branch" and doc["params"]["backbone"] == fast["backbone"]
    assert sorted(p.name for p in (tmp_path / "branch").iterdir()) == [OUTPUT_MARKER, "config.json",
                                                                       "weights.safetensors"]
    back = ImageBranchClassifier.load(tmp_path / "branch")
    assert back.get_params() == fitted_cdfi.get_params()
    assert np.array_equal(back.predict_proba(toy_cohort), fitted_cdfi.predict_proba(toy_cohort),
                          equal_nan=True)
    assert np.array_equal(back.transform(toy_cohort), fitted_cdfi.transform(toy_cohort), equal_nan=True)
    with pytest.raises(PersistenceError, match="already exists"):
        fitted_cdfi.save(tmp_path / "branch")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text('{"format": "something-else"}')
    with pytest.raises(PersistenceError, match="lnfusion-image-branch"):
        ImageBranchClassifier.load(tmp_path / "other")


def test_resume_through_the_estimator(toy_cohort, tmp_path, fast):
    params = dict(fast, epochs=3, checkpoint_dir=str(tmp_path / "ckpt"), drop_rate=0.2)
    ref = ImageBranchClassifier("bmode", **dict(params, checkpoint_dir=None)).fit(toy_cohort)

    def stop(info):
        if info.epoch == 2:
            raise TrainingInterrupted

    with pytest.raises(TrainingInterrupted):
        ImageBranchClassifier("bmode", **params).fit(toy_cohort, callbacks=[stop])
    resumed = ImageBranchClassifier("bmode", **dict(params, resume=True)).fit(toy_cohort)
    a, b = ref.model_.state_dict(), resumed.model_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert np.array_equal(ref.predict_proba(toy_cohort), resumed.predict_proba(toy_cohort))


def test_estimator_contract(toy_cohort, fast):
    clf = ImageBranchClassifier("bmode", backbone="test_resnet", epochs=3, augment=False)
    params = clf.get_params()
    assert params["epochs"] == 3 and params["pretrained"] is None and params["class_weight"] == "balanced"
    twin = clone(clf)
    assert twin.get_params() == params and not hasattr(twin, "model_")
    with pytest.raises(NotFittedError, match="ImageBranchClassifier.*call fit first"):
        clf.predict_proba(toy_cohort)
    with pytest.raises(DataError, match="'doppler' is not in the cohort"):
        ImageBranchClassifier("doppler", **fast).fit(toy_cohort)
    with pytest.raises(DataError, match="Cohort"):
        ImageBranchClassifier("bmode", **fast).fit(np.zeros((3, 4)))
    with pytest.raises(ConfigError, match="validation split"):
        ImageBranchClassifier("bmode", **dict(fast, val_size=0.9)).fit(toy_cohort.subset([0, 1, 12, 24]))


def test_y_by_name_and_training_subset_only(toy_cohort, fast):
    """fit sees only the cohort it is given: train on a subset, labels passed as names."""
    train_idx = np.arange(0, len(toy_cohort), 2)
    train = toy_cohort.subset(train_idx)
    names = np.asarray(train.classes)[train.y]
    clf = ImageBranchClassifier("bmode", **dict(fast, epochs=1)).fit(train, names)
    n_images = sum(len(p) for p in train.images("bmode"))
    assert clf.n_train_images_ + clf.n_val_images_ == n_images
    assert clf.predict_proba(toy_cohort).shape == (len(toy_cohort), 3)


def test_predicts_unlabelled_cohort_of_new_patients(toy_cohort, fitted_cdfi):
    from lnfusion.data import Cohort

    unlabelled = Cohort.from_manifest(toy_cohort.table.drop(columns=["label"]),
                                      schema=toy_cohort.schema, root=toy_cohort.root,
                                      labelled=False)
    assert not unlabelled.is_labelled
    expected = fitted_cdfi.predict_proba(toy_cohort)
    np.testing.assert_array_equal(fitted_cdfi.predict_proba(unlabelled), expected)
    np.testing.assert_array_equal(fitted_cdfi.transform(unlabelled),
                                  fitted_cdfi.transform(toy_cohort))
