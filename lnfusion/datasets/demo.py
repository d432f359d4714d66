"""The embedded demo cohort: a SIMULATED multimodal lymph-node ultrasound cohort.

:func:`make_demo_cohort` draws the population (:mod:`~lnfusion.datasets.population`),
renders every node's B-mode, colour Doppler and elastography frames
(:mod:`~lnfusion.datasets.acquisition`), writes them as PNG files with a manifest
and its schema, and loads the result through the same public loader a user's
data goes through (:meth:`lnfusion.data.Cohort.from_manifest`).

Layout of ``root``::

    manifest.csv           one row per node (ids, label, site, descriptors, image paths)
    schema.json            the CohortSchema of the manifest
    latent.csv             the true (latent) anatomy per node: for tests and docs only
    demo_config.json       the settings that produced the folder (seed, signal, sites...)
    README.txt             says that the data are simulated
    images/<modality>/<patient>_<node>_<k>.png   (.dcm with image_format="dicom")

With ``image_format="dicom"`` every image is written as an ultrasound scanner
exports it (:mod:`~lnfusion.datasets.scanner_dicom`): an RLE-compressed DICOM
frame with simulated burned-in text around the image and an ultrasound region
around the image itself.  lnfusion reads the region back, so the pixels, the
model and its results are those of the PNG cohort of the same seed.
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

from lnfusion.config import JsonConfig
from lnfusion.datasets.acquisition import MODALITIES, node_seed, render_node
from lnfusion.datasets.anatomy import resolve_modality_signal
from lnfusion.datasets.descriptors import (
    DEFAULT_MISREAD_RATE,
    DEFAULT_SIZE_ERROR_MM,
    demo_schema,
)
from lnfusion.datasets.population import DEFAULT_MISSING_RATE, simulate_population
from lnfusion.datasets.presets import PRESETS
from lnfusion.datasets.sites import SITES, site_by_name
from lnfusion.exceptions import ConfigError, LnfusionError
from lnfusion.io import atomic_dir, atomic_write_text

__all__ = ["PRESETS", "DemoConfig", "DemoCohortExistsError", "make_demo_cohort", "load_latent"]

#: Nodes below which rendering stays in the calling process when ``n_jobs`` is None.
PARALLEL_MIN_NODES = 300
_CHUNK = 16

README = """\
SIMULATED DATA - NOT FROM PATIENTS

This folder was written by lnfusion.datasets.make_demo_cohort (lnfusion {version}).
Every patient, node, image and descriptor in it is simulated from a generative model
(latent anatomy per class from literature-informed tables, a physical model of
B-mode speckle, colour Doppler and strain elastography, noisy descriptor readings).
It exists to exercise lnfusion end to end; no finding about real lymph nodes can be
drawn from it.  That elastography is the most informative modality here is a choice
of the simulation (modality_signal), not a result.  See docs/demo_cohort.md.

Settings: demo_config.json.  Ground-truth latent anatomy: latent.csv.
"""


class DemoCohortExistsError(LnfusionError, FileExistsError):
    """The output folder of :func:`make_demo_cohort` exists and ``overwrite`` is False."""


@dataclass(frozen=True)
class DemoConfig(JsonConfig):
    """The settings of a demo cohort (written to ``demo_config.json``)."""

    n_patients: int = 586
    seed: int = 0
    image_size: int = 224
    modality_signal: Mapping[str, float] = field(default_factory=resolve_modality_signal)
    missing_rate: float = DEFAULT_MISSING_RATE
    misread_rate: float = DEFAULT_MISREAD_RATE
    size_error_mm: float = DEFAULT_SIZE_ERROR_MM
    preset: str | None = None
    image_format: str = "png"


def _resolve(n_patients: int | None, image_size: int | None, preset: str | None
             ) -> tuple[int, int]:
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"preset: expected one of {sorted(PRESETS)} or None, got {preset!r}")
    base = PRESETS[preset or "default"]
    n = base["n_patients"] if n_patients is None else n_patients
    size = base["image_size"] if image_size is None else image_size
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 3:
        raise ConfigError(f"n_patients: expected an integer >= 3, got {n!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 32 <= size <= 1024:
        raise ConfigError(f"image_size: expected an integer in [32, 1024], got {size!r}")
    return int(n), int(size)


def _n_workers(n_jobs: int | None, n_nodes: int) -> int:
    cpus = os.cpu_count() or 1
    if n_jobs is None:
        return 1 if n_nodes < PARALLEL_MIN_NODES else cpus
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 \
            or n_jobs < -1:
        raise ConfigError(f"n_jobs: expected None, -1 or a positive integer, got {n_jobs!r}")
    return cpus if n_jobs == -1 else int(n_jobs)


#: Image formats :func:`make_demo_cohort` writes -> file suffix.
IMAGE_FORMATS = {"png": ".png", "dicom": ".dcm"}


def _image_name(patient: str, node: str, k: int, image_format: str = "png") -> str:
    return f"{patient}_{node}_{k + 1}{IMAGE_FORMATS[image_format]}"


def _render_chunk(tasks: Sequence[tuple], seed: int, image_size: int, out_dir: str,
                  image_format: str = "png") -> int:
    """Render and write the frames of a chunk of nodes (runs in worker processes)."""
    from PIL import Image

    from lnfusion.datasets.scanner_dicom import write_scanner_dicom

    out = Path(out_dir)
    for index, latent, site_name, n_images, patient, node in tasks:
        frames = render_node(latent, site_by_name(site_name), node_seed(seed, index),
                             n_images, image_size)
        for modality, images in frames.items():
            for k, array in enumerate(images):
                path = out / "images" / modality / _image_name(patient, node, k, image_format)
                if image_format == "dicom":
                    write_scanner_dicom(path, array, f"SIMULATED {patient} {node} {modality} {k + 1}")
                else:
                    Image.fromarray(array).save(path, format="PNG", compress_level=1)
    return len(tasks)


def make_demo_cohort(root: str | os.PathLike, n_patients: int | None = None, seed: int = 0,
                     image_size: int | None = None, preset: str | None = None,
                     modality_signal: Mapping[str, float] | None = None,
                     missing_rate: float = DEFAULT_MISSING_RATE, n_jobs: int | None = None,
                     overwrite: bool = False, progress: bool = False, *,
                     misread_rate: float = DEFAULT_MISREAD_RATE,
                     size_error_mm: float = DEFAULT_SIZE_ERROR_MM, image_format: str = "png"):
    """Write the SIMULATED demo cohort under ``root`` and load it as a Cohort.

    Parameters
    ----------
    root : path-like
        Output folder (built under a temporary name, then renamed: never left
        half-written).
    n_patients : int, optional
        Number of patients (default 586, or the preset's).
    seed : int
        Seed; the same seed gives byte-identical files.
    image_size : int, optional
        Side of the square images in pixels (default 224, or the preset's).
    preset : {"small", "default"}, optional
        A row of :data:`lnfusion.datasets.presets.PRESETS`: ``"small"``: 60
        patients at 64 px (seconds; for tests and CI notebooks); ``"default"``:
        586 patients at 224 px.  Explicit ``n_patients`` / ``image_size``
        override the preset.
    modality_signal : mapping, optional
        Class-separation strength of each modality's image-only appearance
        features, e.g. ``{"bmode": 0.6, "cdfi": 0.4, "elasto": 2.2}`` (the default:
        elastography most informative, a choice of the simulation).  0 removes the
        class information of that modality's image-only features; the anatomy
        shared with the descriptors (size, shape, hilum...) stays visible.
    missing_rate : float
        Share of nodes lacking colour Doppler and/or elastography (default 0.10).
    n_jobs : int, optional
        Worker processes for rendering: None = all cores for cohorts of
        :data:`PARALLEL_MIN_NODES` nodes or more, else 1; -1 = all cores.  The
        output does not depend on it.
    overwrite : bool
        Replace an existing ``root`` (only once the new cohort is complete).
    progress : bool
        Print progress to stderr.
    misread_rate : float
        Probability that a categorical/ordinal descriptor reading is wrong (0.20).
    size_error_mm : float
        Standard deviation of the axis measurement error in mm (1.0).
    image_format : {"png", "dicom"}
        ``"dicom"``: each image as a scanner exports it, an RLE-compressed
        DICOM frame with simulated burned-in text outside its ultrasound region
        (:func:`~lnfusion.datasets.scanner_dicom.write_scanner_dicom`); read
        back, the pixels are those of ``"png"``.

    Returns
    -------
    lnfusion.data.Cohort
        ``Cohort.from_manifest(root / "manifest.csv")``.

    Raises
    ------
    DemoCohortExistsError
        ``root`` exists and ``overwrite`` is False.
    lnfusion.exceptions.ConfigError
        A parameter is out of range.

    Examples
    --------
    >>> cohort = make_demo_cohort("demo", preset="small")   # doctest: +SKIP
    >>> cohort.summary().to_text()                          # doctest: +SKIP
    """
    from lnfusion.data import Cohort

    root = Path(root)
    n_patients, image_size = _resolve(n_patients, image_size, preset)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed: expected an integer >= 0, got {seed!r}")
    signal = resolve_modality_signal(modality_signal)
    if image_format not in IMAGE_FORMATS:
        raise ConfigError(f"image_format: expected one of {sorted(IMAGE_FORMATS)}, got {image_format!r}")
    config = DemoConfig(n_patients=n_patients, seed=int(seed), image_size=image_size,
                        modality_signal=signal, missing_rate=float(missing_rate),
                        misread_rate=float(misread_rate), size_error_mm=float(size_error_mm),
                        preset=preset, image_format=image_format)
    if root.exists() and not overwrite:
        raise DemoCohortExistsError(f"{root} already exists; pass overwrite=True (or "
                                    "--overwrite) to replace it, or choose another folder")
    start = time.perf_counter()
    population = simulate_population(n_patients, config.seed, modality_signal=signal,
                                     missing_rate=missing_rate, misread_rate=misread_rate,
                                     size_error_mm=size_error_mm)
    nodes = population.nodes
    manifest = population.descriptors.copy()
    for m in MODALITIES:
        manifest[m] = [";".join(f"images/{m}/{_image_name(p, q, k, image_format)}" for k in range(c))
                       for p, q, c in zip(nodes["patient_id"], nodes["node_id"], nodes[f"n_{m}"])]
    latent_cols = [c for c in nodes.columns if c not in ("age", "sex", "side", "location")]
    records = nodes.to_dict("records")
    tasks = [(i, rec, rec["site"], {m: int(rec[f"n_{m}"]) for m in MODALITIES},
              rec["patient_id"], rec["node_id"]) for i, rec in enumerate(records)]
    workers = _n_workers(n_jobs, len(tasks))
    if progress:
        print(f"lnfusion demo cohort: {n_patients} patients, {len(tasks)} nodes, "
              f"{image_size} px, {workers} worker(s)", file=sys.stderr)

    with atomic_dir(root, overwrite=overwrite) as tmp:
        for m in MODALITIES:
            (tmp / "images" / m).mkdir(parents=True, exist_ok=True)
        chunks = [tasks[i:i + _CHUNK] for i in range(0, len(tasks), _CHUNK)]
        done = 0
        if workers == 1:
            for chunk in chunks:
                done += _render_chunk(chunk, config.seed, image_size, str(tmp), image_format)
                _report(progress, done, len(tasks), start)
        else:
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as ex:
                futures = [ex.submit(_render_chunk, chunk, config.seed, image_size, str(tmp),
                                     image_format)
                           for chunk in chunks]
                for fut in futures:
                    done += fut.result()
                    _report(progress, done, len(tasks), start)
        manifest.to_csv(tmp / "manifest.csv", index=False, lineterminator="\n")
        nodes[latent_cols].to_csv(tmp / "latent.csv", index=False, lineterminator="\n",
                                  float_format="%.6g")
        demo_schema().save(tmp / "schema.json")
        payload = config.to_dict()
        payload["sites"] = [s.to_dict() for s in SITES]
        payload["simulated"] = True
        atomic_write_text(tmp / "demo_config.json",
                          json.dumps(payload, indent=2, sort_keys=True) + "\n")
        from lnfusion._version import __version__
        atomic_write_text(tmp / "README.txt", README.format(version=__version__))
        _make_readable(tmp)
    if progress:
        print(f"wrote {root} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return Cohort.from_manifest(root / "manifest.csv")


def _make_readable(folder: Path) -> None:
    """Temporary folders and files are created private (0700 / 0600); the cohort is
    ordinary data, readable like any file the user writes (0755 / 0644 before umask)."""
    mask = os.umask(0)
    os.umask(mask)
    folder.chmod(0o777 & ~mask)
    for path in folder.iterdir():
        if path.is_file():
            path.chmod(0o666 & ~mask)


def _report(progress: bool, done: int, total: int, start: float) -> None:
    if progress:
        print(f"  rendered {done}/{total} nodes ({time.perf_counter() - start:.1f} s)",
              file=sys.stderr)


def load_latent(root: str | os.PathLike) -> pd.DataFrame:
    """Read ``root/latent.csv`` (the true anatomy per node) written by :func:`make_demo_cohort`."""
    return pd.read_csv(Path(root) / "latent.csv", dtype={"patient_id": str, "node_id": str})
