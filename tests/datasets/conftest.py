"""Fixtures of the demo-cohort tests: the ``small`` preset built once per session."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def demo_small(tmp_path_factory):
    """The ``small`` demo cohort (60 patients, 64 px, seed 0), built once."""
    from lnfusion.datasets import make_demo_cohort

    root = tmp_path_factory.mktemp("demo_small") / "cohort"
    return make_demo_cohort(root, preset="small")


@pytest.fixture(scope="session")
def demo_root(demo_small):
    """Folder of :func:`demo_small`."""
    return demo_small.root
