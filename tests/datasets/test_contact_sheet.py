"""Contact sheet: a few nodes per class, every modality, labelled."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lnfusion.datasets import write_contact_sheet
from lnfusion.datasets.contact_sheet import select_sheet_nodes
from lnfusion.exceptions import ConfigError


def test_selection_has_complete_nodes_per_class(demo_small):
    rows = select_sheet_nodes(demo_small, 3)
    assert len(rows) == 9
    assert [demo_small.y[i] for i in rows] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert demo_small.modality_mask().iloc[rows].all(axis=None)
    with pytest.raises(ConfigError):
        select_sheet_nodes(demo_small, 0)


def test_contact_sheet_png(demo_small, tmp_path):
    path = write_contact_sheet(demo_small, tmp_path / "sheet.png", n_per_class=2)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.height > im.width
        arr = np.asarray(im.convert("RGB"), dtype=float)
    # colour Doppler and elastography tiles put real colour on the sheet
    saturation = arr.max(axis=2) - arr.min(axis=2)
    assert (saturation > 80).mean() > 0.01
    assert not list(tmp_path.glob(".*tmp"))
