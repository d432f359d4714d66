"""Loader for BrEaST-Lesions_USG, a public breast-ultrasound cohort with radiologists' descriptors.

Pawlowska A. et al., "Curated benchmark dataset for ultrasound based breast
lesion analysis", Scientific Data 11, 148 (2024); The Cancer Imaging Archive,
CC BY 4.0.  256 patients, one B-mode image each, lesion masks, pixel size, the
BI-RADS lexicon descriptors read by radiologists, clinical signs and symptoms,
and the diagnosis (benign 154 / malignant 98 / normal 4).

:func:`load_breast_lesions` reads the release folder (``clinical.csv`` and
``BrEaST-Lesions_USG-images_and_masks/``) into a :class:`~lnfusion.data.Cohort`.
Four columns of the release are readings of, or follow from, the outcome
(Interpretation, BIRADS, Verification, Diagnosis): they are kept only as
``outcome_derived`` columns of the schema, never as descriptors.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from lnfusion.data.cohort import Cohort
from lnfusion.data.layouts import LayoutError, _finish
from lnfusion.data.masks import add_mask_measurements
from lnfusion.data.schema import DEFAULT_ROI_MARGIN, CohortSchema, Descriptor, Modality
from lnfusion.exceptions import ConfigError

__all__ = [
    "BREAST_LESIONS_IMAGE_DIR",
    "BREAST_LESIONS_OUTCOME_DERIVED",
    "load_breast_lesions",
    "breast_lesions_schema",
]

#: Folder of the release holding ``caseNNN.png`` and ``caseNNN_tumor.png``.
BREAST_LESIONS_IMAGE_DIR = "BrEaST-Lesions_USG-images_and_masks"

#: Release columns that leak the label, renamed; kept only as outcome-derived columns.
BREAST_LESIONS_OUTCOME_DERIVED: dict[str, str] = {
    "Interpretation": "interpretation", "BIRADS": "birads",
    "Verification": "verification", "Diagnosis": "diagnosis",
}

_MISSING = ("not available", "not applicable", "")
_YES_NO = ("no", "yes")

#: Single-valued BI-RADS descriptors: release column -> (descriptor, levels).
_CATEGORICAL: dict[str, tuple[str, tuple[str, ...]]] = {
    "Shape": ("shape", ("oval", "round", "irregular")),
    "Echogenicity": ("echogenicity", ("anechoic", "hyperechoic", "isoechoic", "hypoechoic",
                                      "heterogeneous", "complex cystic/solid")),
    "Posterior_features": ("posterior_features", ("no", "enhancement", "shadowing", "combined")),
    "Halo": ("halo", _YES_NO),
    "Calcifications": ("calcifications", ("no", "in a mass", "intraductal", "indefinable")),
    "Skin_thickening": ("skin_thickening", _YES_NO),
}

_TISSUE_LEVELS = ("homogeneous: fat", "homogeneous: fibroglandular",
                  "heterogeneous: predominantly fat", "heterogeneous: predominantly fibroglandular")

#: Multi-valued ('&') columns: release column -> {term -> indicator column}; "no" = none present.
_MULTI: dict[str, dict[str, str]] = {
    "Margin": {"indistinct": "margin_indistinct", "angular": "margin_angular",
               "microlobulated": "margin_microlobulated", "spiculated": "margin_spiculated"},
    "Signs": {"palpable": "signs_palpable", "breast scar": "signs_breast_scar",
              "skin retraction": "signs_retraction", "nipple retraction": "signs_retraction",
              "redness": "signs_inflammatory", "warmth": "signs_inflammatory",
              "peau d`orange": "signs_inflammatory"},
    "Symptoms": {"family history of breast/ovarian cancer": "symptoms_family_history",
                 "HRT/hormonal contraception": "symptoms_hormonal",
                 "nipple discharge": "symptoms_nipple_discharge",
                 "personal history of breast cancer": "symptoms_other",
                 "breast injury": "symptoms_other"},
}

_DESCRIPTIONS: dict[str, str] = {
    "age": "age at examination, years",
    "tissue_composition": "breast tissue composition (release column Tissue_composition)",
    "lactating": "lactating breast (the 'lactating' term of Tissue_composition)",
    "signs_palpable": "palpable lesion (Signs)",
    "signs_breast_scar": "breast scar (Signs)",
    "signs_retraction": "skin or nipple retraction (Signs)",
    "signs_inflammatory": "redness, warmth or peau d'orange (Signs)",
    "symptoms_family_history": "family history of breast/ovarian cancer (Symptoms)",
    "symptoms_hormonal": "HRT or hormonal contraception (Symptoms)",
    "symptoms_nipple_discharge": "nipple discharge (Symptoms)",
    "symptoms_other": "personal history of breast cancer or breast injury (Symptoms)",
    "shape": "BI-RADS shape",
    "margin_circumscribed": "BI-RADS margin circumscribed (Margin)",
    "margin_indistinct": "BI-RADS margin not circumscribed: indistinct (Margin)",
    "margin_angular": "BI-RADS margin not circumscribed: angular (Margin)",
    "margin_microlobulated": "BI-RADS margin not circumscribed: microlobulated (Margin)",
    "margin_spiculated": "BI-RADS margin not circumscribed: spiculated (Margin)",
    "echogenicity": "BI-RADS echo pattern",
    "posterior_features": "BI-RADS posterior features",
    "halo": "echogenic halo",
    "calcifications": "BI-RADS calcifications",
    "skin_thickening": "skin thickening",
}

_CLINICAL_COLUMNS = ("CaseID", "Image_filename", "Mask_tumor_filename", "Pixel_size", "Age",
                     "Tissue_composition", "Signs", "Symptoms", "Shape", "Margin", "Echogenicity",
                     "Posterior_features", "Halo", "Calcifications", "Skin_thickening",
                     "Classification")


def breast_lesions_schema(include_normal: bool = False, roi_margin: float | None = DEFAULT_ROI_MARGIN
                          ) -> CohortSchema:
    """The schema of :func:`load_breast_lesions` (before the mask measurements are added).

    The two-class task (benign / malignant) declares ``malignant`` as its positive
    class: the evaluation reports its AUC, sensitivity and specificity.
    """
    desc: dict[str, Descriptor] = {"age": Descriptor("continuous", description=_DESCRIPTIONS["age"])}

    def cat(name: str, levels: tuple[str, ...]) -> None:
        desc[name] = Descriptor("categorical", levels=levels, description=_DESCRIPTIONS[name])

    cat("tissue_composition", _TISSUE_LEVELS)
    cat("lactating", _YES_NO)
    for column in ("Signs", "Symptoms"):
        for name in dict.fromkeys(_MULTI[column].values()):
            cat(name, _YES_NO)
    cat("shape", _CATEGORICAL["Shape"][1])
    cat("margin_circumscribed", _YES_NO)
    for name in _MULTI["Margin"].values():
        cat(name, _YES_NO)
    for name, levels in _CATEGORICAL.values():
        if name != "shape":
            cat(name, levels)
    classes = ("benign", "malignant", "normal") if include_normal else ("benign", "malignant")
    return CohortSchema(classes=classes, node=None, site=None, descriptors=desc,
                        modalities={"bmode": Modality(colour=False, description="B-mode (greyscale)")},
                        outcome_derived=tuple(BREAST_LESIONS_OUTCOME_DERIVED.values()),
                        roi_margin=roi_margin,
                        positive_class=None if include_normal else "malignant")


def _terms(cell: str) -> list[str] | None:
    """Terms of a '&' cell; None when missing."""
    cell = cell.strip()
    if cell in _MISSING:
        return None
    return [t.strip() for t in cell.split("&") if t.strip()]


def _indicators(cell: str, column: str, where: str) -> dict[str, str]:
    """Indicator columns ('yes'/'no'/'' missing) of one multi-valued cell."""
    terms = _MULTI[column]
    names = list(dict.fromkeys(terms.values()))
    parts = _terms(cell)
    if parts is None:
        return dict.fromkeys(names, "")
    out = dict.fromkeys(names, "no")
    for term in parts:
        if column == "Margin":
            term = term.removeprefix("not circumscribed - ").strip()
        if term == "no" or (column == "Margin" and term == "circumscribed"):
            continue
        if term not in terms:
            raise LayoutError(f"{where}, column {column!r}: term {term!r} is not one this loader knows; "
                              f"expected '&'-joined terms from {sorted(terms)} (or 'no', 'not available')")
        out[terms[term]] = "yes"
    return out


def _row(rec: Mapping[str, str], where: str) -> dict[str, object]:
    case = int(rec["CaseID"])
    label = rec["Classification"].strip()
    mask = rec["Mask_tumor_filename"].strip()
    row: dict[str, object] = {
        "patient_id": f"case{case:03d}", "label": label,
        "bmode": f"{BREAST_LESIONS_IMAGE_DIR}/{rec['Image_filename'].strip()}",
        "bmode_mask": f"{BREAST_LESIONS_IMAGE_DIR}/{mask}" if mask else "",
        "pixel_size_mm": float(rec["Pixel_size"]) * 10.0,
        "age": "" if rec["Age"].strip() in _MISSING else rec["Age"].strip(),
    }
    tissue = _terms(rec["Tissue_composition"])
    if tissue is None:
        row["tissue_composition"] = row["lactating"] = ""
    else:
        composition = [t for t in tissue if t != "lactating"]
        if len(composition) > 1:
            raise LayoutError(f"{where}, column 'Tissue_composition': {rec['Tissue_composition']!r} "
                              "names more than one composition; expected at most one besides 'lactating'")
        row["tissue_composition"] = composition[0] if composition else ""
        row["lactating"] = "yes" if "lactating" in tissue else "no"
    row.update(_indicators(rec["Signs"], "Signs", where))
    row.update(_indicators(rec["Symptoms"], "Symptoms", where))
    row["shape"] = "" if rec["Shape"].strip() in _MISSING else rec["Shape"].strip()
    margin = rec["Margin"].strip()
    row["margin_circumscribed"] = "" if margin in _MISSING else ("yes" if margin == "circumscribed" else "no")
    row.update(_indicators(margin, "Margin", where))
    for column, (name, _) in _CATEGORICAL.items():
        if name != "shape":
            value = rec[column].strip()
            row[name] = "" if value in _MISSING else value
    for column, name in BREAST_LESIONS_OUTCOME_DERIVED.items():
        row[name] = rec.get(column, "").strip()
    return row


def load_breast_lesions(root: str | os.PathLike, out_dir: str | os.PathLike | None = None,
                        roi: str = "mask", roi_margin: float = DEFAULT_ROI_MARGIN,
                        include_normal: bool = False, measurements: bool = True,
                        check_images: bool = True) -> Cohort:
    """Load the BrEaST-Lesions_USG release as a cohort (one B-mode image per patient).

    Parameters
    ----------
    root : path-like
        The release folder holding ``clinical.csv`` and
        ``BrEaST-Lesions_USG-images_and_masks/``.
    out_dir : path-like, optional
        Write ``manifest.csv`` and ``schema.json`` there (paths relative to it),
        measurements included; otherwise the cohort is built in memory.
    roi : {"mask", "image"}
        ``"mask"``: the ROI of each image is its tumour mask's bounding box
        widened by ``roi_margin``; ``"image"``: the whole image.
    roi_margin : float
        Margin around the lesion box, as a fraction of its width / height per
        side (see :func:`lnfusion.data.masks.roi_from_mask`).
    include_normal : bool
        Keep the 4 normal cases (no lesion, no mask, descriptors missing) as a
        third class ``"normal"``.  By default they are excluded from the
        benign-vs-malignant task and counted in ``cohort.summary().notes``.
    measurements : bool
        Add the mask shape measurements (``lesion_long_axis_mm``, ...; see
        :mod:`lnfusion.data.masks`) as continuous descriptors, in mm from the
        release's pixel size.
    check_images : bool
        Check every image header (the masks are always read: they give the ROI).

    Returns
    -------
    Cohort
        ``patient_id`` ``"case001"``...; classes ``("benign", "malignant")``
        (plus ``"normal"`` with ``include_normal``); modality ``bmode``
        (greyscale) with masks ``bmode_mask`` from ``caseNNN_tumor.png`` (the
        ``caseNNN_otherK.png`` masks of other lesions are ignored).  Descriptors:
        ``age``; categorical ``tissue_composition``, ``shape``,
        ``echogenicity``, ``posterior_features``, ``halo``, ``calcifications``,
        ``skin_thickening``; yes/no indicators ``lactating``,
        ``margin_circumscribed``, ``margin_indistinct``, ``margin_angular``,
        ``margin_microlobulated``, ``margin_spiculated``, ``signs_palpable``,
        ``signs_breast_scar``, ``signs_retraction``, ``signs_inflammatory``,
        ``symptoms_family_history``, ``symptoms_hormonal``,
        ``symptoms_nipple_discharge``, ``symptoms_other``; and the mask
        measurements.  ``cohort.table`` also has ``pixel_size_mm`` and the
        outcome-derived ``interpretation``, ``birads``, ``verification``,
        ``diagnosis`` (display only, never model inputs).

    Raises
    ------
    LayoutError
        Missing ``clinical.csv`` or columns, or a term this loader does not know.
    ConfigError
        ``roi`` not ``"mask"`` or ``"image"``.
    """
    if roi not in ("mask", "image"):
        raise ConfigError(f"load_breast_lesions roi={roi!r}: expected 'mask' (lesion box + margin) "
                          "or 'image' (whole image)")
    root = Path(root)
    csv = root / "clinical.csv"
    if not csv.is_file():
        raise LayoutError(f"{csv}: not found; expected the BrEaST-Lesions_USG release folder with "
                          "clinical.csv and BrEaST-Lesions_USG-images_and_masks/")
    clinical = pd.read_csv(csv, dtype=str, keep_default_na=False)
    missing = [c for c in _CLINICAL_COLUMNS if c not in clinical.columns]
    if missing:
        raise LayoutError(f"{csv}: columns {missing} missing; columns present: {list(clinical.columns)}")
    rows = [_row(rec, f"{csv}, row {i + 2}") for i, rec in enumerate(clinical.to_dict("records"))]
    df = pd.DataFrame(rows)
    normal = df["label"] == "normal"
    notes = []
    if include_normal:
        notes.append(f"{int(normal.sum())} normal cases (no lesion) kept as class 'normal': no mask, "
                     "ROI = whole image, BI-RADS descriptors missing")
    else:
        notes.append(f"{int(normal.sum())} normal cases (no lesion) excluded from the benign-vs-malignant "
                     f"task ({', '.join(df.loc[normal, 'patient_id'])}); include_normal=True keeps them")
        df = df.loc[~normal].reset_index(drop=True)
    notes.append("masks of other lesions (caseNNN_otherK.png) ignored; bmode_mask is the tumour mask")
    schema = breast_lesions_schema(include_normal, roi_margin if roi == "mask" else None)
    cohort = _finish(df, schema, root, None, check_images, "BrEaST-Lesions_USG")
    if measurements:
        cohort = add_mask_measurements(cohort, "bmode", pixel_spacing="pixel_size_mm")
    if out_dir is not None:
        table = cohort.table
        for name, d in cohort.schema.descriptors.items():
            if d.kind == "continuous":
                table[name] = [repr(float(v)) if np.isfinite(v) else "" for v in table[name]]
        cohort = _finish(table, cohort.schema, root, out_dir, check_images, "BrEaST-Lesions_USG")
        table = cohort.table
        table["pixel_size_mm"] = table["pixel_size_mm"].astype(float)  # read back as text
        cohort = cohort._replace(table=table)
    return cohort.with_notes(*notes)
