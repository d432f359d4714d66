"""Benchmark: manifest validation speed and full image decoding.

Usage::

    .venv/bin/python bench/bench_validate.py [--n-nodes 1000] [--size 256] [--repeats 3]
                                             [--decode 200] [--keep DIR]

Writes a synthetic cohort of N nodes x 3 modalities (B-mode PNG greyscale,
colour Doppler and elastography JPEG colour; SIZE x SIZE random pixels, two
nodes per patient, three classes, two sites) to a temporary folder (or
``--keep DIR``, reused when it already holds ``manifest.csv``), then prints:

* ``validate_manifest`` time with and without the image-header check, for the
  labelled manifest and read as unlabelled (``labelled=False``): best and
  median wall-clock of ``--repeats`` runs, best per image, and the best
  process-CPU time (less sensitive to other load on a shared machine);
* ``read_image`` full-decode time per image (``--decode`` PNG + as many JPEG).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CLASSES = ("metastatic", "lymphoma", "benign")


def write_cohort(root: Path, n_nodes: int, size: int, seed: int = 0) -> None:
    """Write ``img/`` and ``manifest.csv`` for ``n_nodes`` nodes (same pixels in every file)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    (root / "img").mkdir(parents=True, exist_ok=True)
    grey = Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8))
    colour = Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    rows = []
    for i in range(n_nodes):
        grey.save(root / f"img/b{i}.png")
        colour.save(root / f"img/c{i}.jpg")
        colour.save(root / f"img/e{i}.jpg")
        patient = i // 2
        rows.append({"patient_id": f"P{patient}", "node_id": f"n{i % 2}",
                     "label": CLASSES[patient % 3], "site": "A" if patient % 2 else "B",
                     "bmode": f"img/b{i}.png", "cdfi": f"img/c{i}.jpg", "elasto": f"img/e{i}.jpg"})
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)


def timed(fn, repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock and process-CPU seconds of each of ``repeats`` calls of ``fn``."""
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-nodes", type=int, default=1000, help="nodes in the manifest (default 1000)")
    parser.add_argument("--size", type=int, default=256, help="image side in pixels (default 256)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (default 3)")
    parser.add_argument("--decode", type=int, default=200,
                        help="PNG and JPEG images each to decode fully (default 200)")
    parser.add_argument("--keep", help="write (or reuse) the cohort here instead of a temporary folder")
    args = parser.parse_args()

    from lnfusion.data import CohortSchema, read_image, validate_manifest

    tmp = None if args.keep else tempfile.mkdtemp(prefix="lnfusion_bench_validate_")
    root = Path(args.keep) if args.keep else Path(tmp) / "cohort"
    try:
        manifest = root / "manifest.csv"
        t0 = time.perf_counter()
        if not manifest.exists():
            write_cohort(root, args.n_nodes, args.size)
        write_s = time.perf_counter() - t0
        n_nodes = len(pd.read_csv(manifest))
        n_images = 3 * n_nodes

        print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"cohort: {root} ({n_nodes} nodes, {n_images} images, {args.size}x{args.size} px; "
              f"written in {write_s:.1f} s)")
        print(f"repeats: {args.repeats}; load average (1 min) before: {os.getloadavg()[0]:.1f}")
        print()
        schema = CohortSchema()
        print(f"{'validate_manifest':<44} {'best s':>7} {'median s':>9} {'ms/image':>9} {'cpu s':>6}")
        for labelled in (None, False):
            for check in (True, False):
                def run(check=check, labelled=labelled):
                    report = validate_manifest(manifest, schema, check_images=check, labelled=labelled)
                    assert report.ok, report.to_text()
                times, cpu = timed(run, args.repeats)
                best = min(times)
                name = f"check_images={check}, " + ("labelled" if labelled is None else "labelled=False")
                print(f"  {name:<42} {best:7.2f} {statistics.median(times):9.2f} "
                      f"{1e3 * best / n_images:9.3f} {min(cpu):6.2f}")

        k = min(args.decode, n_nodes)
        paths = [str(root / f"img/b{i}.png") for i in range(k)] + \
                [str(root / f"img/c{i}.jpg") for i in range(k)]
        for p in paths[:2]:
            read_image(p)  # warm-up (imports, codecs)
        times, cpu = timed(lambda: [read_image(p) for p in paths], args.repeats)
        print()
        print(f"read_image full decode {args.size}x{args.size} ({k} PNG grey + {k} JPEG colour): "
              f"best {1e3 * min(times) / len(paths):.2f} ms/image, "
              f"median {1e3 * statistics.median(times) / len(paths):.2f} ms/image, "
              f"cpu {1e3 * min(cpu) / len(paths):.2f} ms/image")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
