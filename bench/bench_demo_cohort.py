"""Benchmark: generation time of the default demo cohort (586 patients, 224 px).

Usage::

    .venv/bin/python bench/bench_demo_cohort.py [--preset default|small] [--n-jobs N] [--keep DIR]

Prints the wall-clock time, the CPU time of this process and its workers, the
number of nodes and images, and the size on disk.  Target (issue 3): under 2
minutes for the default preset on a 2-core machine.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default", choices=["default", "small"])
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", help="write the cohort here instead of a temporary folder")
    args = parser.parse_args()

    from lnfusion.datasets import make_demo_cohort

    tmp = None if args.keep else tempfile.mkdtemp(prefix="lnfusion_bench_")
    root = Path(args.keep) if args.keep else Path(tmp) / "cohort"
    t0 = time.perf_counter()
    c0 = os.times()
    cohort = make_demo_cohort(root, preset=args.preset, seed=args.seed, n_jobs=args.n_jobs,
                              overwrite=True)
    wall = time.perf_counter() - t0
    c1 = os.times()
    cpu = (c1.user - c0.user) + (c1.system - c0.system) + (c1.children_user - c0.children_user) \
        + (c1.children_system - c0.children_system)
    n_images = sum(len(p) for m in cohort.modalities for p in cohort.images(m))
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"preset={args.preset} seed={args.seed} n_jobs={args.n_jobs}")
    print(f"patients={cohort.n_patients} nodes={len(cohort)} images={n_images}")
    print(f"wall_s={wall:.1f} cpu_s={cpu:.1f} disk_mb={size / 1e6:.1f}")
    print(f"max_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
