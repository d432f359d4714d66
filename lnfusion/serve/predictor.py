"""One model in memory answering one patient at a time: prediction and its explanation.

:class:`Predictor` loads a saved :class:`~lnfusion.fusion.LateFusionClassifier`
once and, for one patient's uploaded images and descriptors, checks every
image (its kind from its first bytes, then a full decode with lnfusion's
hostile-image protections: regular file, pixel limit before decoding), builds a
one-row manifest in the request's folder and runs :func:`lnfusion.explain.explain`
on it (fused and branch probabilities, modality-level and descriptor SHAP,
Grad-CAM per image).  Inference is serialised by a lock, so concurrent
requests never share the network's state (Grad-CAM hooks, train/eval mode).
"""
from __future__ import annotations

import base64
import io
import logging
import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lnfusion.exceptions import DataError, ImageError
from lnfusion.serve.form import IMAGE_KINDS, InputError, PatientForm, sniff_image_kind
from lnfusion.serve.uploads import UploadedFile

__all__ = ["Predictor"]

log = logging.getLogger(__name__)

#: Patient id of the one-row manifest built for a request (shown on the card).
PATIENT_ID = "patient"


def _png_base64(rgb: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="PNG", compress_level=1)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _number(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


class Predictor:
    """A loaded model, its form, and a lock around inference.

    Parameters
    ----------
    model : LateFusionClassifier
        Fitted or loaded; needs its schema (``schema_``).
    """

    def __init__(self, model: Any):
        self.model = model
        self.form = PatientForm.of_model(model)
        self.lock = threading.Lock()

    @classmethod
    def load(cls, model_dir: str | os.PathLike) -> Predictor:
        """Load a saved model folder (checked file by file; see :func:`~lnfusion.fusion.read_model`)."""
        from lnfusion.fusion import LateFusionClassifier

        return cls(LateFusionClassifier.load(model_dir))

    # -- images ---------------------------------------------------------------------------
    def check_images(self, files: Mapping[str, Sequence[UploadedFile]]) -> dict[str, list[Path]]:
        """Each upload's kind and pixels, checked; the files renamed with their kind's suffix.

        Raises
        ------
        InputError
            An empty file, a file that is not a PNG, JPEG or DICOM image (415),
            or one that does not decode or is over the pixel limit (a
            decompression bomb); the message names the field and image.
        """
        from lnfusion.data.imageio import read_image

        out: dict[str, list[Path]] = {}
        for name in self.form.image_fields:
            for upload in files.get(name, ()):
                if upload.size == 0:
                    raise InputError(f"{upload.label}: the file is empty", field=name)
                with open(upload.path, "rb") as fh:
                    kind = sniff_image_kind(fh.read(132))
                if kind is None:
                    raise InputError(f"{upload.label}: not a PNG, JPEG or DICOM image (its content "
                                     "is not an image, whatever its name)", field=name, status=415)
                path = upload.path.with_suffix(IMAGE_KINDS[kind])
                upload.path.rename(path)
                upload.path = path
                try:
                    read_image(path)
                except ImageError as exc:
                    reason = str(exc).replace(f"{path}: ", "").replace(str(path), "the file")
                    raise InputError(f"{upload.label}: {kind} {reason}", field=name) from None
                out.setdefault(name, []).append(path)
        return out

    def manifest_row(self, images: Mapping[str, Sequence[Path]], descriptors: Mapping[str, Any]) -> Any:
        """The one-row manifest (DataFrame) of a patient: paths relative to the request's folder."""
        import pandas as pd

        schema = self.form.schema
        row: dict[str, Any] = {schema.patient: PATIENT_ID}
        for name in schema.descriptors:
            row[name] = descriptors.get(name)
        for name in schema.modalities:
            row[name] = ";".join(p.name for p in images.get(name, ()))
        return pd.DataFrame([row])

    # -- prediction -----------------------------------------------------------------------
    def predict(self, folder: str | os.PathLike, values: Mapping[str, list[str]],
                files: Mapping[str, Sequence[UploadedFile]], *, card: bool = False) -> dict[str, Any]:
        """Check one patient's fields, predict and explain; the result as plain JSON.

        Parameters
        ----------
        folder : path-like
            The request's folder holding ``files``.
        values : mapping of str to list of str
            Text values sent per field (descriptors).
        files : mapping of str to list of UploadedFile
            Files sent per image field.
        card : bool, default False
            Also return the explanation card as a self-contained HTML page
            (``card_html``; drawing it costs a few hundred milliseconds).

        Returns
        -------
        dict
            ``classes``, ``predicted``, ``probabilities`` (``fused``: class ->
            p; ``branches``: branch -> class -> p, or None for a branch that
            could not see the patient), ``missing_modalities``,
            ``modality_contributions`` and ``descriptor_contributions`` (SHAP
            towards the predicted class), ``images`` (Grad-CAM overlay per
            image, base64 PNG), ``timing_ms`` (``checks`` of the input, ``queued``
            behind other requests, ``inference`` with its explanation) and, with
            ``card``, ``card_html``.

        Raises
        ------
        InputError
            A field is missing or invalid (named in the message).
        """
        from lnfusion.data import Cohort

        start = time.perf_counter()
        descriptors = self.form.descriptor_values(values)
        images = self.check_images(files)
        frame = self.manifest_row(images, descriptors)
        try:
            cohort = Cohort.from_manifest(frame, schema=self.form.schema, root=folder,
                                          labelled=False, source="uploaded patient")
        except DataError as exc:   # checked above already; anything left names no temporary path
            message = str(exc).replace(f"{Path(folder)}{os.sep}", "").replace(str(folder), "")
            raise InputError(f"the uploaded patient cannot be read: {message}") from None
        checked = time.perf_counter()
        with self.lock:
            began = time.perf_counter()
            result = self._explain(cohort, card=card)
        done = time.perf_counter()
        result["timing_ms"] = {"checks": round(1000 * (checked - start), 1),
                               "queued": round(1000 * (began - checked), 1),
                               "inference": round(1000 * (done - began), 1)}
        log.info("predicted %s from %s image(s) %s in %.0f ms", result["predicted"],
                 sum(len(v) for v in images.values()),
                 {m: len(v) for m, v in images.items()}, 1000 * (done - start))
        return result

    def _explain(self, cohort: Any, *, card: bool) -> dict[str, Any]:
        from lnfusion.explain import explain

        # XGBoost's own TreeSHAP: the same values as shap.TreeExplainer (see tabular_shap)
        # without re-reading the booster into an explainer on every request
        bundle = explain(self.model, cohort, image_method="gradcam", tabular_backend="xgboost")
        classes = list(bundle.classes)
        fused = bundle.proba.iloc[0].to_numpy(dtype=float)
        pred = int(np.argmax(fused))
        branches: dict[str, Any] = {}
        for b, p in bundle.branch_proba.items():
            row = np.asarray(p[0], dtype=float)
            branches[b] = None if np.isnan(row).all() else dict(zip(classes, map(float, row)))
        missing = [m for m in self.form.image_fields if not cohort.images(m)[0]]
        modality = bundle.modality.contributions(0, pred, sort=False)
        result: dict[str, Any] = {
            "classes": classes,
            "predicted": classes[pred],
            "probabilities": {"fused": dict(zip(classes, map(float, fused))), "branches": branches},
            "missing_modalities": missing,
            "modality_contributions": {
                "towards": classes[pred], "unit": bundle.modality.unit,
                "values": [{"branch": f, "shap": float(s), "missing": f in missing or branches.get(f) is None}
                           for f, s in zip(modality["feature"], modality["shap"])]},
            "descriptor_contributions": None,
            "images": [],
        }
        if bundle.tabular is not None:
            table = bundle.tabular.contributions(0, pred)
            result["descriptor_contributions"] = {
                "towards": classes[pred], "unit": bundle.tabular.unit,
                "values": [{"descriptor": f, "value": None if v is None or (isinstance(v, float)
                                                                              and math.isnan(v)) else
                            (_number(v) if isinstance(v, (int, float, np.number)) else str(v)),
                            "shap": float(s)}
                           for f, v, s in zip(table["feature"], table["value"], table["shap"])]}
        for a in bundle.images:
            result["images"].append({"modality": a.modality, "index": a.image_index + 1,
                                     "method": a.method, "target": a.target,
                                     "overlay_png": _png_base64(a.overlay())})
        if card:
            result["card_html"] = bundle.card_html(0)
        return result
