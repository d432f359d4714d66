"""Scaling out: executors side by side, Ray overhead, the image cache's memory, DDP on CPU.

Four parts, each printing one Markdown table (the rows of docs/benchmarks.md's
"Scaling out" section); run all or some::

    python bench/bench_scale.py --out runs/bench_scale                  # everything
    python bench/bench_scale.py --out runs/bench_scale --part plan --epochs 2
    python bench/bench_scale.py --out runs/bench_scale --part memory --n-images 20000

``plan``      the fit plan of the default demo cohort (586 patients, the "default"
              preset's model) with the sequential, processes (n_jobs=2) and ray
              (local cluster, 2 CPUs, one CPU per fit) executors in one run: wall
              time, speed-up, equality of the out-of-fold predictions.
``overhead``  Ray's cost per task: a no-op round trip, and trivial fits (the
              logistic clinical branch, 5 folds + refit) on Ray vs in order.
``memory``    a generated cohort of ``--n-images`` greyscale images at 224 px:
              cache build time, then one epoch of one image branch (timm's tiny
              ``test_vit``) from the cache and from memory, each in a fresh
              process (peak RSS from ``getrusage``); ``--memory-modes cache:5000``
              runs on the first 5,000 images only.
``ddp``       one image branch trained by 2 gloo processes under torchrun vs 1
              process with the same global batch: images/s and weight equality.

Every fit runs one torch thread per process unless stated; the Ray cluster and
the processes executor use 2 workers.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TORCH_THREADS = 1


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "OMP_NUM_THREADS": str(TORCH_THREADS)}


# ------------------------------------------------------------------------------------ plan
def _demo(out: Path):
    from lnfusion.data import Cohort
    from lnfusion.datasets import make_demo_cohort

    root = out / "demo_default"
    if (root / "manifest.csv").is_file():
        return Cohort.from_manifest(root / "manifest.csv")
    return make_demo_cohort(root, preset="default")


def part_plan(out: Path, epochs: int | None) -> None:
    import torch

    from lnfusion.datasets import demo_model_params
    from lnfusion.fusion import LateFusionClassifier

    torch.set_num_threads(TORCH_THREADS)
    cohort = _demo(out)
    params = demo_model_params("default")
    if epochs is not None:
        params["image_params"] = {**params["image_params"], "epochs": epochs}
    params["image_params"] = {**params["image_params"], "device": "cpu"}
    params["n_threads"] = TORCH_THREADS   # the same threads per fit under every executor
    executors = {"sequential": dict(executor="sequential"),
                 "processes (n_jobs=2)": dict(executor="processes", n_jobs=2),
                 "ray (local, 2 CPUs)": dict(executor={"kind": "ray", "num_cpus": 1, "num_workers": 2})}
    rows, ref = [], None
    for name, ex in executors.items():
        extra = ""
        if name.startswith("ray"):
            import ray

            t = time.perf_counter()
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
            extra = f" (+ {time.perf_counter() - t:.1f} s cluster start)"
        t = time.perf_counter()
        model = LateFusionClassifier(**params, random_state=0, progress=False, **ex).fit(cohort)
        wall = time.perf_counter() - t
        if ref is None:
            ref, ref_wall = model, wall
        same = all(np.array_equal(model.oof_proba_[b], ref.oof_proba_[b], equal_nan=True)
                   for b in ref.branch_names_)
        diff = max(float(np.nanmax(np.abs(model.oof_proba_[b] - ref.oof_proba_[b])))
                   for b in ref.branch_names_)
        n_fits = len(ref.branch_names_) * (params["cv"] + 1)
        rows.append(f"| {name} | {n_fits} | {wall:.1f}{extra} | {ref_wall / wall:.2f} | "
                    f"{'yes' if same else 'no'} (max diff {diff:.1e}) |")
        print(rows[-1], flush=True)
    print("\n| executor | fits | wall (s) | speed-up | OOF equal to sequential |\n|---|---:|---:|---:|---|")
    print("\n".join(rows))


# -------------------------------------------------------------------------------- overhead
def part_overhead(out: Path) -> None:
    import ray

    from lnfusion.data.labels import resolve_target
    from lnfusion.fusion import LateFusionClassifier
    from lnfusion.fusion.executors import run_tasks
    from lnfusion.fusion.oof import cross_fit, inner_splits

    cohort = _demo(out)
    t = time.perf_counter()
    if not ray.is_initialized():   # after part_plan, its cluster is reused
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    start = time.perf_counter() - t

    def noop(x):
        return x

    run_tasks(noop, [(0,)] * 4, ["warm"] * 4, executor="ray")  # workers up
    n = 50
    t = time.perf_counter()
    for i in range(n):
        run_tasks(noop, [(i,)], ["noop"], executor="ray")
    roundtrip = (time.perf_counter() - t) / n

    model = LateFusionClassifier(modalities=[], tabular="logistic", cv=5, progress=False)
    branches = model.make_branches(cohort)
    y, classes = resolve_target(cohort, None)
    splits = inner_splits(y, np.asarray(cohort.groups), 5, random_state=0)
    walls = {}
    for kind, ex in (("sequential", "sequential"), ("ray", {"kind": "ray", "num_cpus": 1})):
        cross_fit(branches, cohort, y, len(classes), splits, executor=ex, progress=False)  # warm
        t = time.perf_counter()
        reps = 3
        for _ in range(reps):
            cross_fit(branches, cohort, y, len(classes), splits, executor=ex, progress=False)
        walls[kind] = (time.perf_counter() - t) / reps
    fits = 6
    print("\n| measure | value |\n|---|---:|")
    if start > 0.1:
        print(f"| local cluster start (2 CPUs) | {start:.2f} s |")
    print(f"| no-op task, submit + get, one at a time (mean of {n}) | {roundtrip * 1000:.1f} ms |")
    print(f"| 6 trivial fits (logistic clinical branch, 5 folds + refit), sequential | "
          f"{walls['sequential']:.2f} s |")
    print(f"| the same 6 fits on Ray (2 workers) | {walls['ray']:.2f} s |")
    print(f"| Ray overhead per fit, (ray - sequential x 1) / 6, upper bound | "
          f"{max(walls['ray'] - walls['sequential'], 0) / fits:.3f} s |")


# ---------------------------------------------------------------------------------- memory
def _make_cohort(folder: Path, n_images: int, seed: int = 0) -> Path:
    """``n_images`` greyscale PNGs (280 x 240: a bright or dark disc on noise), one node each, 2 per patient."""
    from PIL import Image

    manifest = folder / "manifest.csv"
    if manifest.is_file():
        return manifest
    rng = np.random.default_rng(seed)
    img_dir = folder / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    noise = np.clip(70 + rng.normal(0, 12, (480, 560)), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[-60:61, -60:61]
    rows = ["patient_id,node_id,label,bmode"]
    for i in range(n_images):
        y0, x0 = rng.integers(0, 240), rng.integers(0, 280)
        img = noise[y0:y0 + 240, x0:x0 + 280].copy()
        cy, cx, r = rng.integers(60, 180), rng.integers(60, 220), rng.uniform(20, 60)
        patch = img[cy - 60:cy + 61, cx - 60:cx + 61]
        patch[np.hypot(yy, xx) < r] += np.uint8(60 + 80 * ((i // 2) % 2))
        name = f"images/{i:06d}.png"
        Image.fromarray(img).save(folder / name, compress_level=1)
        rows.append(f"p{i // 2:06d},n{i:06d},{'metastatic' if (i // 2) % 2 else 'benign'},{name}")
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    return manifest


MEMORY_CHILD = textwrap.dedent('''
    import json, resource, sys, time
    import torch
    from lnfusion.data import Cohort, CohortSchema
    from lnfusion.models import ImageBranchClassifier

    torch.set_num_threads(int(sys.argv[4]))
    manifest, cache, mode, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[5])
    cohort = Cohort.from_manifest(manifest, check_images=False, allow_empty_classes=True)
    cohort = cohort.subset(list(range(min(limit, len(cohort)))))
    t = time.perf_counter()
    if mode == "build":
        from lnfusion.models.image_branch import decode_images
        decode_images(cohort, "bmode", 224, in_chans=1, cache_dir=cache)
    else:
        clf = ImageBranchClassifier("bmode", backbone="test_vit", image_size=224, epochs=1,
                                    batch_size=32, val_size=0.05, augment=True, precision="fp32",
                                    device="cpu", progress=False,
                                    cache_dir=cache if mode == "cache" else None)
        clf.fit(cohort)
    wall = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps({"mode": mode, "wall": wall, "peak_rss_gib": rss, "n": len(cohort)}))
''')


def _child(script: str, *args: str) -> dict:
    run = subprocess.run([sys.executable, "-c", script, *args], env=_env(), capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-3000:])
    return json.loads(run.stdout.strip().splitlines()[-1])


def part_memory(out: Path, n_images: int, modes: list[str]) -> None:
    """Each mode is ``build``, ``cache`` or ``memory``, optionally ``:N`` to use the first N images."""
    folder = out / f"cohort_{n_images}"
    t = time.perf_counter()
    manifest = _make_cohort(folder, n_images)
    print(f"generated/read {n_images} images in {time.perf_counter() - t:.0f} s", flush=True)
    cache = out / "cache"
    results = []
    for spec in modes:   # build: cold cache; cache: training from the warm cache; memory: today's path
        mode, _, limit = spec.partition(":")
        r = _child(MEMORY_CHILD, str(manifest), str(cache), mode, str(TORCH_THREADS), limit or str(n_images))
        results.append(r)
        print(r, flush=True)
    print("\n| run | images | wall (s) | peak RSS (GiB) |\n|---|---:|---:|---:|")
    labels = {"build": "cache build (hash + decode + write, 224 px)", "cache": "one epoch from the cache",
              "memory": "one epoch from memory (today's path)"}
    for r in results:
        print(f"| {labels[r['mode']]} | {r['n']} | {r['wall']:.0f} | {r['peak_rss_gib']:.2f} |")
        if r["mode"] == "build":
            print(f"\ncache build: {1000 * r['wall'] / r['n']:.1f} s per 1,000 images\n")


# ------------------------------------------------------------------------------------- ddp
DDP_CHILD = textwrap.dedent('''
    import json, os, sys, time
    import numpy as np
    import torch
    from lnfusion.data import Cohort
    from lnfusion.models import ImageBranchClassifier

    torch.set_num_threads(1)
    manifest, out, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    cohort = Cohort.from_manifest(manifest, check_images=False, allow_empty_classes=True)
    clf = ImageBranchClassifier("bmode", distributed=True, **params).fit(cohort)
    if int(os.environ.get("RANK", "0")) == 0:
        np.savez(out, **{k: v.numpy() for k, v in clf.model_.state_dict().items()})
        secs = clf.history_["seconds"].to_numpy()
        print(json.dumps({"epoch_seconds": secs.tolist(), "n_train": clf.n_train_images_}))
''')


def part_ddp(out: Path, n_images: int) -> None:
    manifest = _make_cohort(out / f"cohort_{n_images}", n_images)
    params = dict(backbone="test_efficientnet_gn", image_size=96, epochs=2, batch_size=32, val_size=0.0,
                  class_weight=None, precision="fp32", channels_last=False, device="cpu",
                  progress=False, random_state=0)
    res = {}
    for procs in (1, 2):
        target = out / f"ddp{procs}.npz"
        script = Path(tempfile.mkdtemp()) / "ddp_child.py"
        script.write_text(DDP_CHILD)
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}",
               str(script), str(manifest), str(target), json.dumps(params)]
        if procs == 1:   # one process without torchrun: distributed=True is then ignored
            cmd = [sys.executable, str(script), str(manifest), str(target), json.dumps(params)]
        run = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(run.stderr[-3000:])
        res[procs] = json.loads([ln for ln in run.stdout.splitlines() if ln.startswith("{")][-1])
        print(procs, res[procs], flush=True)
    a, b = np.load(out / "ddp1.npz"), np.load(out / "ddp2.npz")
    diff = max(float(np.max(np.abs(a[k] - b[k]))) for k in a.files if a[k].dtype.kind == "f")
    print("\n| processes (1 thread each) | images/epoch | s/epoch (mean of 2) | images/s | speed-up |"
          "\n|---|---:|---:|---:|---:|")
    base = None
    for procs, r in res.items():
        s = float(np.mean(r["epoch_seconds"]))
        base = base or s
        print(f"| {procs} | {r['n_train']} | {s:.1f} | {r['n_train'] / s:.0f} | {base / s:.2f} |")
    print(f"\nlargest weight difference, 2 processes vs 1: {diff:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bench_scale")
    parser.add_argument("--part", choices=["plan", "overhead", "memory", "ddp"], action="append")
    parser.add_argument("--epochs", type=int, default=None, help="plan: epochs of the image branches "
                        "(default: the preset's)")
    parser.add_argument("--n-images", type=int, default=20000, help="memory: generated images")
    parser.add_argument("--memory-modes", nargs="+", default=["build", "cache", "memory"],
                        help="memory: runs among build, cache, memory, each optionally :N (first N images)")
    parser.add_argument("--ddp-images", type=int, default=1024)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    parts = args.part or ["plan", "overhead", "memory", "ddp"]
    print(f"# {' '.join(sys.argv)}  ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} CPUs)", flush=True)
    for part in parts:
        t = time.perf_counter()
        if part == "plan":
            part_plan(args.out, args.epochs)
        elif part == "overhead":
            part_overhead(args.out)
        elif part == "memory":
            part_memory(args.out, args.n_images, args.memory_modes)
        else:
            part_ddp(args.out, args.ddp_images)
        print(f"({part}: {time.perf_counter() - t:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main()
