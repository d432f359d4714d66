"""Site shift is real: image statistics differ between the three hospitals."""
from __future__ import annotations

import numpy as np
from scipy.stats import kruskal

from lnfusion.data import read_image


def _stats(cohort):
    rows = []
    for site, paths in zip(cohort.sites, cohort.images("bmode")):
        img = read_image(paths[0]).astype(float)
        top = img[: img.shape[0] // 5]   # skin and subcutaneous tissue, above any node
        x = img - img.mean(axis=1, keepdims=True)
        corr = np.mean(x[:, :-1] * x[:, 1:]) / np.mean(x * x)
        rows.append((site, img.mean(), img.std(), corr, top.mean()))
    return rows


def test_sites_differ_in_image_statistics(demo_small):
    rows = _stats(demo_small)
    sites = sorted({r[0] for r in rows})
    assert len(sites) == 3
    for k, name in ((1, "mean grey"), (3, "lateral speckle correlation")):
        groups = [[r[k] for r in rows if r[0] == s] for s in sites]
        assert kruskal(*groups).pvalue < 1e-3, name
    # the low-frequency site (C) has the coarsest speckle, the 12 MHz site (A) the finest
    corr = {s: np.median([r[3] for r in rows if r[0] == s]) for s in sites}
    assert corr["site_C"] > corr["site_A"]
