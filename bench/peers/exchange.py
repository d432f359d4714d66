"""The files the peer driver and the peer scripts exchange (numpy, pandas and the standard library only).

Every peer runs in its own virtual environment, so nothing but files crosses the
boundary.  The driver (``run_peers.py``) writes, per data set, a folder with

``table.csv``
    one row per case (a lymph node of the demo cohort, a patient of BrEaST):
    ``row`` (position in the lnfusion cohort), ``patient_id``, ``label`` (class
    index), ``fold`` (the outer fold in which the row is a test case; ``-1``: a
    training case in every fold), the descriptor columns, and per image modality
    ``<modality>`` (the first image of the case, already cropped to its ROI and
    resized to the benchmark's image size, as a PNG path; empty when the modality
    is missing) and ``<modality>_all`` (every image of the case, ``;``-joined);
``spec.json``
    ``classes``, ``descriptors`` (name -> ``"numeric"`` / ``"categorical"``),
    ``modalities``, ``image_size``, ``epochs``, ``patience``, ``seed`` and where
    the cohort came from (for the lnfusion arm, which reads the cohort itself).

A peer writes into its output folder ``predictions.csv`` (``row``, ``fold``,
``p_<class>`` per class: its test-case probabilities of each outer fold),
``timing.csv`` (``fold``, ``fit_s``, ``predict_s``), ``notes.json`` (what it did)
and, in probe mode, ``probes.json`` (one record per capability checked by running it).
"""
from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

#: Capabilities probed for every tool, in table order.
CAPABILITIES = ("several images per case", "missing modalities", "patient-grouped CV", "explanations")


def read_task(data: Path) -> tuple[pd.DataFrame, dict]:
    """``table.csv`` (image columns as strings, empty = missing) and ``spec.json``."""
    spec = json.loads((Path(data) / "spec.json").read_text())
    image_cols = [c for m in spec["modalities"] for c in (m, f"{m}_all")]
    table = pd.read_csv(Path(data) / "table.csv", dtype={c: str for c in image_cols})
    for c in image_cols:
        table[c] = table[c].fillna("")
    return table, spec


def outer_folds(table: pd.DataFrame) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(fold, train positions, test positions)`` of every outer fold in ``table``."""
    fold = table["fold"].to_numpy()
    for f in sorted(int(v) for v in np.unique(fold) if v >= 0):
        yield f, np.flatnonzero(fold != f), np.flatnonzero(fold == f)


def descriptor_frame(table: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """The descriptor columns, categoricals as strings (missing stays NaN)."""
    out = table[list(spec["descriptors"])].copy()
    for c, kind in spec["descriptors"].items():
        if kind == "categorical":
            out[c] = out[c].astype("string").astype(object).where(out[c].notna(), np.nan)
    return out


def one_hot(frame: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """Numeric descriptors as they are (NaN kept) plus one-hot categoricals: a plain numeric matrix."""
    cats = [c for c, k in spec["descriptors"].items() if k == "categorical"]
    return pd.get_dummies(frame, columns=cats, dummy_na=False).astype(float)


def load_images(paths: list[str], size: int) -> np.ndarray:
    """(N, 1, size, size) float32 in [0, 1]; a missing image (empty path) is all zeros."""
    from PIL import Image

    out = np.zeros((len(paths), 1, size, size), dtype=np.float32)
    for i, p in enumerate(paths):
        if p:
            im = Image.open(p).convert("L")
            if im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            out[i, 0] = np.asarray(im, dtype=np.float32) / 255.0
    return out


class Recorder:
    """Collects a peer's predictions, timings, notes and probe outcomes; writes them at the end."""

    def __init__(self, out: Path, classes: list[str]):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.classes = list(classes)
        self.preds: list[pd.DataFrame] = []
        self.times: list[dict] = []
        self.notes: dict = {}
        self.probes: list[dict] = []

    def fold(self, fold: int, rows: np.ndarray, proba: np.ndarray, fit_s: float, predict_s: float) -> None:
        proba = np.asarray(proba, dtype=float)
        if proba.shape != (len(rows), len(self.classes)):
            raise ValueError(f"fold {fold}: probabilities of shape {proba.shape}, expected "
                             f"({len(rows)}, {len(self.classes)})")
        frame = pd.DataFrame(proba, columns=[f"p_{c}" for c in self.classes])
        frame.insert(0, "fold", fold)
        frame.insert(0, "row", np.asarray(rows))
        self.preds.append(frame)
        self.times.append({"fold": fold, "fit_s": fit_s, "predict_s": predict_s})
        self.write()

    def probe(self, capability: str, attempt: Callable[[], str]) -> None:
        """Run ``attempt``; it returns what it did (supported), raises NotImplementedError with the
        reason (not offered by the tool) or anything else (it failed: the error is recorded)."""
        t0 = time.perf_counter()
        try:
            detail, outcome = attempt(), "yes"
        except NotImplementedError as exc:
            detail, outcome = str(exc), "no"
        except Exception as exc:  # noqa: BLE001 - the outcome of the probe is the point
            last = traceback.format_exc().strip().splitlines()[-1]
            detail, outcome = f"failed: {type(exc).__name__}: {exc}"[:600] + f" ({last[:200]})", "no"
        self.probes.append({"capability": capability, "outcome": outcome, "detail": detail,
                            "seconds": round(time.perf_counter() - t0, 1)})
        self.write()

    def write(self) -> None:
        if self.preds:
            pd.concat(self.preds, ignore_index=True).to_csv(self.out / "predictions.csv", index=False)
            pd.DataFrame(self.times).to_csv(self.out / "timing.csv", index=False)
        (self.out / "notes.json").write_text(json.dumps(self.notes, indent=1, default=str))
        if self.probes:
            (self.out / "probes.json").write_text(json.dumps(self.probes, indent=1))


def timed(fn: Callable, *args, **kwargs) -> tuple[object, float]:
    """``(fn(*args, **kwargs), seconds)``."""
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - t0


def peer_main(doc: str, run: Callable, argv=None, extra: Callable | None = None) -> int:
    """The command line every peer script shares: ``--data --out --threads --probe``.

    Calls ``run(data, out, probe, threads, **options)``; ``extra(parser)`` may add
    options of its own, passed to ``run`` by name.
    """
    import argparse

    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--probe", action="store_true")
    common = {"data", "out", "threads", "probe"}
    if extra is not None:
        extra(p)
    args = vars(p.parse_args(argv))
    options = {k: v for k, v in args.items() if k not in common}
    run(args["data"], args["out"], args["probe"], args["threads"], **options)
    return 0
