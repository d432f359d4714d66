"""decode_uint8: the one decoder of images to the network's input size, from files or arrays."""
from __future__ import annotations

import numpy as np
import pytest

from lnfusion.data import Cohort, read_image
from lnfusion.data.decode import decode_uint8, modality_images
from lnfusion.data.geometry import crop_roi
from lnfusion.exceptions import DataError

pytest.importorskip("torch")


def test_modality_images_lists_each_image_with_its_node(cohort_dir, schema):
    cohort = Cohort.from_manifest(cohort_dir / "manifest.csv", schema)
    paths, rois, nodes = modality_images(cohort, "cdfi", positions=[0, 1, 2])
    expected = [(p, r, k) for k in (0, 1, 2)
                for p, r in zip(cohort.images("cdfi")[k], cohort.rois("cdfi")[k])]
    assert list(zip(paths, rois, nodes.tolist())) == expected
    assert 1 not in nodes.tolist()  # node 1 has no cdfi image
    with pytest.raises(DataError, match=r"\[0, 6\)"):
        modality_images(cohort, "cdfi", positions=[6])


def test_files_with_rois_decode_as_their_cropped_arrays(cohort_dir, schema):
    cohort = Cohort.from_manifest(cohort_dir / "manifest.csv", schema)
    paths, rois, _ = modality_images(cohort, "bmode")
    assert any(r is not None for r in rois)
    from_files = decode_uint8(paths, rois, image_size=24, colour=False, in_chans=3)
    arrays = [crop_roi(read_image(p, mode="grey"), r) for p, r in zip(paths, rois)]
    from_arrays = decode_uint8(arrays, image_size=24, colour=False, in_chans=3)
    assert from_files.shape == (len(paths), 3, 24, 24) and from_files.dtype == np.uint8
    assert np.array_equal(from_files, from_arrays)
    assert np.array_equal(from_files[:, 0], from_files[:, 2])  # greyscale replicated
    with pytest.raises(DataError, match="2 ROI boxes for 1 images"):
        decode_uint8(paths[:1], [None, None], image_size=24, colour=False, in_chans=1)
