"""Cohort data layer: manifest schema, validation, image reading, splits, layouts,
pre-training datasets, image geometry and augmentation.

``import lnfusion.data`` never imports torch; :func:`build_transform` and
:class:`ImageDataset` (which need torch) load on first use.
"""
from __future__ import annotations

from lnfusion.data.breast_lesions import load_breast_lesions
from lnfusion.data.cohort import (
    Cohort,
    CohortSummary,
    UnlabelledError,
    ValidationReport,
    validate_manifest,
)
from lnfusion.data.imageio import (
    ImageGeometry,
    ImageSize,
    frame_ref,
    image_geometry,
    image_size,
    read_image,
)
from lnfusion.data.layouts import (
    UnpairedReport,
    load_busi,
    load_medmnist_npz,
    load_study_layout,
    parse_class_map,
    read_medmnist_npz,
)
from lnfusion.data.masks import add_mask_measurements, roi_from_mask, shape_measurements
from lnfusion.data.pretrain_data import PretrainData, file_sha256, load_pretrain_data
from lnfusion.data.schema import (
    DEFAULT_CLASSES,
    DEFAULT_MODALITIES,
    CohortSchema,
    Descriptor,
    Modality,
)
from lnfusion.data.splits import (
    PatientSplit,
    PatientStratifiedKFold,
    leave_one_site_out,
    read_patient_ids,
    split_from_column,
    split_from_test_patients,
    split_patients,
)
from lnfusion.lazy import lazy_exports

__all__ = [
    "DEFAULT_CLASSES",
    "DEFAULT_MODALITIES",
    "AugmentConfig",
    "Cohort",
    "CohortSchema",
    "CohortSummary",
    "Descriptor",
    "ImageDataset",
    "ImageGeometry",
    "ImageSize",
    "ImageTransform",
    "Modality",
    "PatientSplit",
    "PatientStratifiedKFold",
    "PretrainData",
    "UnlabelledError",
    "UnpairedReport",
    "ValidationReport",
    "add_mask_measurements",
    "build_transform",
    "file_sha256",
    "frame_ref",
    "image_geometry",
    "image_size",
    "leave_one_site_out",
    "load_breast_lesions",
    "load_busi",
    "load_medmnist_npz",
    "load_pretrain_data",
    "load_study_layout",
    "parse_class_map",
    "read_image",
    "read_medmnist_npz",
    "roi_from_mask",
    "shape_measurements",
    "split_patients",
    "validate_manifest",
    "split_from_column",
    "split_from_test_patients",
    "read_patient_ids",
]

# Names whose modules import torch: loaded on first access (PEP 562).
_LAZY = {
    "AugmentConfig": "lnfusion.data.augment",
    "ImageTransform": "lnfusion.data.transforms",
    "build_transform": "lnfusion.data.transforms",
    "ImageDataset": "lnfusion.data.dataset",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
