"""Table 1 on the simulated demo cohort's descriptors.

The demo manifest is the simulated population's descriptor table plus image
paths, so the descriptors are drawn with ``simulate_population`` (same seed and
size as ``make_demo_cohort``) without rendering any image.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lnfusion.stats import expected_counts, table_one

population = pytest.importorskip("lnfusion.datasets.population")
demo = pytest.importorskip("lnfusion.datasets.demo")

VARIABLES = ["location", "shape", "margin", "cdfi_pattern"]
KNOWN_TESTS = {"Chi-square", "Fisher exact"}


def _descriptors(n_patients: int) -> pd.DataFrame:
    return population.simulate_population(n_patients, 0).descriptors


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return _descriptors(demo.PRESETS["small"]["n_patients"])


def test_small_demo_cohort_names_the_test(small):
    res = table_one(small, "label", categorical=VARIABLES)
    tests = res.tests.set_index("variable")
    assert list(tests.index) == VARIABLES
    for var in VARIABLES:
        row = tests.loc[var]
        # the rule: chi-square when every expected count is >= 5, else Fisher
        tab = pd.crosstab(small[var], small["label"]).to_numpy()
        expected = "chi2" if np.all(expected_counts(tab) >= 5) else "fisher_exact"
        assert row["test"] == expected, var
        assert 0 <= row["pval"] <= 1
        label = res.table.loc[res.table.variable == var, "test"]
        assert set(label) <= KNOWN_TESTS and len(set(label)) == 1
        assert label.iloc[0] in res.to_markdown()


def test_full_size_demo_cohort_descriptors_differ_by_class():
    # the acceptance criterion: on the study-size demo cohort, location, shape,
    # margin and CDFI pattern differ between classes at p < 0.05
    df = _descriptors(demo.PRESETS["default"]["n_patients"])
    res = table_one(df, "label", categorical=VARIABLES)
    tests = res.tests.set_index("variable")
    assert (tests["pval"] < 0.05).all(), tests[["test", "pval"]]
    assert set(tests["test_label"]) <= KNOWN_TESTS
