"""Benchmark: Table 1 for 100,000 rows x 20 variables (3 classes) must render in under 5 s.

Usage (from the repository root)::

    python bench/bench_table_one.py                # 100,000 rows, 5 runs
    python bench/bench_table_one.py --rows 20000 --repeats 3

Each run calls :func:`lnfusion.stats.table_one` with type inference off
(8 continuous, 7 categorical, 5 ordinal variables, 2 % missing values) and
renders Markdown, LaTeX and HTML.  Prints every run's time and the median;
exits with status 1 if the median exceeds ``--limit`` seconds.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

import numpy as np
import pandas as pd


def make_frame(rows: int, seed: int = 0) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    rng = np.random.default_rng(seed)
    label = rng.choice(["metastatic", "lymphoma", "benign"], rows, p=[0.4, 0.25, 0.35])
    shift = pd.Series(label).map({"metastatic": 0.3, "lymphoma": 0.1, "benign": 0.0}).to_numpy()
    data: dict[str, np.ndarray] = {"label": label}
    kinds: dict[str, list[str]] = {"continuous": [], "categorical": [], "ordinal": []}
    for i in range(8):
        name = f"cont_{i}"
        x = rng.normal(50 + 5 * shift, 10, rows) if i % 2 == 0 else rng.lognormal(2 + shift, 0.6, rows)
        data[name] = x
        kinds["continuous"].append(name)
    for i in range(7):
        name = f"cat_{i}"
        levels = np.array([f"level_{k}" for k in range(2 + i % 5)])
        data[name] = levels[rng.integers(0, levels.size, rows)]
        kinds["categorical"].append(name)
    for i in range(5):
        name = f"ord_{i}"
        data[name] = rng.integers(1, 6, rows)
        kinds["ordinal"].append(name)
    df = pd.DataFrame(data)
    for name in list(df.columns[1:]):
        mask = rng.random(rows) < 0.02
        df.loc[mask, name] = np.nan if df[name].dtype.kind == "f" else None
    return df, kinds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--limit", type=float, default=5.0, help="seconds allowed for the median run")
    args = ap.parse_args(argv)

    from lnfusion.stats import table_one

    df, kinds = make_frame(args.rows)
    print(f"frame: {df.shape[0]} rows x {df.shape[1] - 1} variables "
          f"({len(kinds['continuous'])} continuous, {len(kinds['categorical'])} categorical, "
          f"{len(kinds['ordinal'])} ordinal), 3 classes")
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"{platform.machine()}, {platform.processor() or platform.platform()}")
    times = []
    for run in range(args.repeats):
        t0 = time.perf_counter()
        res = table_one(df, "label", **kinds)
        res.to_markdown()
        res.to_latex()
        res.to_html()
        times.append(time.perf_counter() - t0)
        print(f"run {run + 1}: {times[-1]:.3f} s")
    med = statistics.median(times)
    tests = ", ".join(f"{k}={v}" for k, v in res.tests["test"].value_counts().items())
    print(f"tests used: {tests}")
    print(f"median of {args.repeats} runs: {med:.3f} s (limit {args.limit:.1f} s)")
    return 0 if med <= args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
