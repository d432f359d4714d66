"""Latent anatomy and descriptor readings follow the documented tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lnfusion.datasets import (
    CLASSES,
    class_table,
    confusion_matrix,
    expected_descriptor_frequencies,
    read_descriptors,
    sample_anatomy,
)
from lnfusion.datasets.anatomy import (
    CATEGORICAL_TABLES,
    DEFAULT_MODALITY_SIGNAL,
    IMAGE_FEATURES,
    LITERATURE_TABLES,
    resolve_modality_signal,
)
from lnfusion.datasets.clinical import LOCATION_BY_SUBTYPE, NECK_LEVELS, sample_location
from lnfusion.exceptions import ConfigError, DataError

N_PER_CLASS = 4000
TOL = 0.03


@pytest.fixture(scope="module")
def latent():
    labels = np.repeat(CLASSES, N_PER_CLASS)
    return sample_anatomy(labels, np.random.default_rng(11))


def _freq(table: pd.DataFrame, column: str) -> pd.DataFrame:
    return pd.crosstab(table["label"], table[column], normalize="index")


@pytest.mark.parametrize("name", [*CATEGORICAL_TABLES, "adler_grade", "subtype"])
def test_latent_frequencies_match_tables(latent, name):
    expected = class_table(name)
    observed = _freq(latent, name).reindex(index=expected.index, columns=expected.columns,
                                           fill_value=0.0)
    assert np.allclose(expected.sum(axis=1), 1.0)
    assert np.max(np.abs(observed.to_numpy() - expected.to_numpy())) < TOL


@pytest.mark.parametrize("name", [*CATEGORICAL_TABLES, "adler_grade"])
def test_descriptor_readings_match_noisy_tables(latent, name):
    read = read_descriptors(latent, np.random.default_rng(12))
    read["label"] = latent["label"].to_numpy()
    expected = expected_descriptor_frequencies(name)
    observed = _freq(read, name).reindex(index=expected.index, columns=expected.columns,
                                         fill_value=0.0)
    assert np.max(np.abs(observed.to_numpy() - expected.to_numpy())) < TOL
    # readings are noisy: some disagree with the truth, most agree
    agree = (read[name].astype(str) == latent[name].astype(str)).mean()
    assert 0.70 < agree < 0.97


def test_confusion_matrices_are_stochastic_and_rate_controls_noise():
    for name in ("shape", "hilum", "necrosis", "adler_grade", "elasto_score"):
        m = confusion_matrix(name, 0.2)
        assert np.allclose(m.sum(axis=1), 1.0)
        assert np.allclose(np.diag(confusion_matrix(name, 0.0)), 1.0)
    with pytest.raises(ConfigError, match="misread_rate"):
        confusion_matrix("shape", 0.9)


def test_sizes_are_noisy_but_close(latent):
    read = read_descriptors(latent, np.random.default_rng(3), size_error_mm=1.0)
    err = read["short_axis_mm"] - latent["short_axis_mm"]
    assert 0.6 < err.std() < 1.4
    assert (read["long_axis_mm"] >= read["short_axis_mm"]).all()
    assert np.allclose(read["ls_ratio"], read["long_axis_mm"] / read["short_axis_mm"], atol=0.01)


def test_simulated_tables_keep_literature_direction():
    """Shrinkage halves the contrasts but keeps their direction (e.g. hilum absent)."""
    sim = class_table("hilum")
    for c_hi, c_lo in (("metastatic", "benign"), ("lymphoma", "benign")):
        assert sim.loc[c_hi, "absent"] > sim.loc[c_lo, "absent"]
    assert LITERATURE_TABLES["hilum"][1]["scc"][2] > CATEGORICAL_TABLES["hilum"][1]["scc"][2]


def test_location_follows_subtype_table():
    rng = np.random.default_rng(5)
    for subtype, probs in LOCATION_BY_SUBTYPE.items():
        loc = sample_location([subtype] * 5000, rng)
        freq = pd.Series(loc).value_counts(normalize=True).reindex(list(NECK_LEVELS), fill_value=0)
        assert np.max(np.abs(freq.to_numpy() - np.asarray(probs))) < TOL


def test_modality_signal_scales_image_only_features():
    labels = np.repeat(CLASSES, 3000)
    zero = sample_anatomy(labels, np.random.default_rng(1),
                          modality_signal={"bmode": 0, "cdfi": 0, "elasto": 0})
    default = sample_anatomy(labels, np.random.default_rng(1))
    for modality, features in IMAGE_FEATURES.items():
        for feature in features:
            col = f"{modality}_{feature}"
            assert np.ptp(zero.groupby("label")[col].mean()) < 0.12
            assert np.ptp(default.groupby("label")[col].mean()) > 0.25
    assert max(DEFAULT_MODALITY_SIGNAL, key=DEFAULT_MODALITY_SIGNAL.get) == "elasto"


def test_bad_inputs_raise_named_errors():
    with pytest.raises(DataError, match="unknown class"):
        sample_anatomy(["cancer"], np.random.default_rng(0))
    with pytest.raises(ConfigError, match="unknown modality"):
        resolve_modality_signal({"ct": 1.0})
    with pytest.raises(ConfigError, match="modality_signal\\['elasto'\\]"):
        resolve_modality_signal({"elasto": -1})
