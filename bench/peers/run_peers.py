"""lnfusion side by side with the tools a user would pick instead, on the same patients and folds.

One driver, one table.  Each peer is a script of this folder run in its own
virtual environment (``--venvs``, created and filled with pip on first use; none of
them is a dependency of lnfusion); lnfusion itself runs the same way, in the
interpreter running this driver.  Data goes to the peers as files
(``exchange.py`` says which) and predictions come back as CSV.

Data sets:

``breast``
    BrEaST-Lesions_USG (B-mode image + radiologists' descriptors), benign vs
    malignant, the outer folds of ``bench/bench_breast_lesions.py`` (its
    ``outer_splits``; ``--repeats`` of 5 patient-stratified folds), 64 px, 15
    epochs (patience 4 where the tool has early stopping).
``demo``
    the default demo cohort (586 simulated patients; B-mode, CDFI, elastography +
    descriptors; several images per node, some modalities missing), 3 classes,
    the held-out patients of ``bench/bench_fusion_demo.py``
    (``split_patients(test_size=0.2, random_state=0)``), 64 px, 6 epochs (the
    ``default`` preset).

Per tool and data set: macro AUC of the pooled test cases with its 95% CI
(``lnfusion.stats.multiclass_auc``, patient bootstrap for the macro average), the
paired comparison with lnfusion (over outer folds: ``corrected_resampled_ttest``;
one split: the paired patient bootstrap of ``lnfusion.evaluation.compare_models``),
fit and predict time, peak memory (max RSS of the peer's process, from ``wait4``),
and, with ``--probe``, what it could not do, checked by running it.

    python bench/peers/run_peers.py --out peers_out --venvs peers_venvs
    python bench/peers/run_peers.py --out peers_out --venvs peers_venvs --datasets breast --peers lnfusion stack
    python bench/peers/run_peers.py --out peers_out --summarize    # the table of what is there

Results are cached per (data set, tool) under --out: a tool whose predictions are
there is not run again (``--rerun`` forces it).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
SHARED = BENCH.parents[1] / "shared" / "data"
sys.path[:0] = [str(HERE), str(BENCH)]
from exchange import CAPABILITIES  # noqa: E402

#: The tools: the script, what pip installs into its venv (None: this interpreter), the
#: display name and how its weights were obtained.
PEERS: dict[str, dict] = {
    "lnfusion": dict(script="peer_lnfusion.py", requirements=None, name="lnfusion (LateFusionClassifier)",
                     weights="from scratch"),
    "stack": dict(script="peer_stack.py", requirements=["torch==2.14.1", "torchvision==0.29.1", "timm", "scikit-learn", "pandas", "pillow"],
                  name="timm + sklearn StackingClassifier", weights="from scratch (no download)"),
    # autogluon.multimodal 1.6.3 needs torch < 2.14 (2.14.1 is what this machine serves); torch 2.13.0 with
    # its torchvision 0.28.0 come from PyPI (--isolated: not the local 2.13.0+cpu wheel, whose ABI
    # torchvision 0.28.0 does not match: "operator torchvision::nms does not exist").
    "autogluon": dict(script="peer_autogluon.py", pip_args=["--isolated"],
                      requirements=["torch==2.13.0", "torchvision==0.28.0", "autogluon.multimodal", "autogluon.tabular"],
                      name="AutoGluon MultiModalPredictor", weights="from scratch (no download)"),
    "autogluon_tabular": dict(script="peer_autogluon.py", requirements=None, venv="autogluon",
                              args=["--tabular"], name="AutoGluon TabularPredictor (descriptors only)",
                              weights="no image model"),
    # fusilli 2.0.0 pins setuptools~=68 while torch >= 2.13 needs setuptools >= 77 (pip: ResolutionImpossible;
    # unpinned, pip falls back to fusilli 0.0.5): its other requirements first, then fusilli without its pins.
    # torchmetrics 0.x imports pkg_resources, gone from setuptools >= 81.
    "fusilli": dict(script="peer_fusilli.py", requirements=["torch==2.14.1", "torchvision==0.29.1", "lightning",
                                                            "torchmetrics<1", "torch-geometric", "matplotlib",
                                                            "numpy<2", "pandas~=2.0", "tqdm", "sentry-sdk",
                                                            "setuptools>=77.0.3,<81"],
                    no_deps=["fusilli==2.0.0"], name="fusilli 2.0.0", weights="from scratch"),
    # fuse-med-ml imports pytest at run time (fuse/data/datasets/caching/samples_cacher.py) without requiring it.
    "fusemedml": dict(script="peer_fusemedml.py", requirements=["torch==2.14.1", "torchvision==0.29.1", "fuse-med-ml",
                                                                "pytest"],
                      name="fuse-med-ml", weights="from scratch"),
}

#: Per data set: benchmark settings shared by every tool.
DATASETS = {
    "breast": dict(image_size=64, epochs=15, patience=4, backbone="resnet18", lnfusion_cv="5"),
    "demo": dict(image_size=64, epochs=6, patience=None, backbone="resnet18", lnfusion_cv="3"),
}


# ---------------------------------------------------------------------------------- data export
def descriptor_kinds(frame: pd.DataFrame) -> dict[str, str]:
    return {c: ("numeric" if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
                else "categorical") for c in frame.columns}


def export_task(cohort, fold: np.ndarray, dest: Path, settings: dict, source: dict, seed: int = 0) -> Path:
    """Write ``table.csv``, ``spec.json`` and the ROI-cropped PNGs of ``cohort`` into ``dest``."""
    from bench_breast_lesions import roi_square
    from PIL import Image

    if (dest / "spec.json").is_file():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame({"row": np.arange(len(cohort)), "patient_id": cohort.groups.astype(str),
                          "label": cohort.y.astype(int), "fold": fold})
    desc = cohort.descriptors.reset_index(drop=True)
    table = pd.concat([table, desc], axis=1)
    size = settings["image_size"]
    for m in cohort.modalities:
        (dest / "images" / m).mkdir(parents=True, exist_ok=True)
        first, every = [], []
        for i, (paths, rois) in enumerate(zip(cohort.images(m), cohort.rois(m))):
            written = []
            for j, (p, r) in enumerate(zip(paths, rois)):
                out = dest / "images" / m / f"{i}_{j}.png"
                Image.fromarray(roi_square(p, r, size)).save(out)
                written.append(str(out))
            first.append(written[0] if written else "")
            every.append(";".join(written))
        table[m], table[f"{m}_all"] = first, every
    spec = {"classes": list(cohort.classes), "descriptors": descriptor_kinds(desc),
            "modalities": list(cohort.modalities), "seed": seed, "source": source, **settings}
    table.to_csv(dest / "table.csv", index=False)
    (dest / "spec.json").write_text(json.dumps(spec, indent=1))
    return dest


def prepare_breast(out: Path, data: Path, repeats: int) -> Path | None:
    from bench_breast_lesions import load_cohort, outer_splits

    if not (data / "clinical.csv").is_file():
        print(f"BrEaST-Lesions_USG not found at {data}: data set skipped")
        return None
    cohort = load_cohort(data, None)
    fold = np.full(len(cohort), -1)
    splits = outer_splits(cohort, 5, repeats)
    if repeats != 1:
        raise SystemExit("--repeats: one repeat only (a case is a test case of one fold per repeat)")
    for _, f, _, test in splits:
        fold[test] = f
    return export_task(cohort, fold, out / "data" / "breast", DATASETS["breast"],
                       {"kind": "breast_lesions", "root": str(data), "folds": 5, "repeats": repeats})


def prepare_demo(out: Path, root: Path | None) -> Path:
    from lnfusion.data import Cohort, split_patients
    from lnfusion.datasets import make_demo_cohort

    root = root or out / "demo_cohort"
    if (root / "manifest.csv").is_file():
        cohort = Cohort.from_manifest(root / "manifest.csv")
    else:
        t0 = time.perf_counter()
        cohort = make_demo_cohort(root, preset="default", seed=0)
        print(f"demo cohort built in {time.perf_counter() - t0:.0f} s -> {root}", flush=True)
    split = split_patients(cohort.y, cohort.groups, test_size=0.2, random_state=0)
    fold = np.full(len(cohort), -1)
    fold[split.test] = 0
    return export_task(cohort, fold, out / "data" / "demo", DATASETS["demo"],
                       {"kind": "manifest", "manifest": str(root / "manifest.csv"), "test_size": 0.2})


# ---------------------------------------------------------------------------------- venvs and runs
def venv_python(peer: str, venvs: Path, python: str, log: Path) -> tuple[Path | None, str]:
    """The peer's interpreter, its venv created and filled on first use; ``(None, error)`` if that fails."""
    spec = PEERS[peer]
    if spec["requirements"] is None and "venv" not in spec:
        return Path(sys.executable), ""
    name = spec.get("venv", peer)
    reqs = spec["requirements"] if spec["requirements"] is not None else PEERS[name]["requirements"]
    env = venvs / name
    marker = env / "peer-requirements.txt"
    wanted = "\n".join([*reqs, *spec.get("no_deps", [])])
    if marker.is_file() and marker.read_text() == wanted:
        return env / "bin" / "python", ""
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        if not (env / "bin" / "python").is_file():
            subprocess.run([python, "-m", "venv", str(env)], stdout=fh, stderr=subprocess.STDOUT, check=True)
        try:
            rc = subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install",
                                 *PEERS[name].get("pip_args", []), *reqs], stdout=fh,
                                stderr=subprocess.STDOUT, timeout=900).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout (900 s)"
    print(f"{peer}: pip install {' '.join(reqs)} -> {rc} ({time.perf_counter() - t0:.0f} s; log {log})", flush=True)
    if rc == 0 and spec.get("no_deps"):
        with open(log, "a") as fh:
            rc = subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "--no-deps", *spec["no_deps"]],
                                stdout=fh, stderr=subprocess.STDOUT, timeout=900).returncode
    if rc != 0:
        tail = [x for x in log.read_text().splitlines() if x.strip() and not x.startswith("WARNING: Location")]
        return None, f"pip install failed ({rc}): " + " | ".join(tail[-3:])
    marker.write_text(wanted)
    return env / "bin" / "python", ""


def run_peer(python: Path, peer: str, data: Path, out: Path, threads: int, probe: bool,
             timeout: float) -> dict:
    """Run one peer script on one data set; returns rc, wall seconds, peak RSS (MB) and its log tail."""
    out.mkdir(parents=True, exist_ok=True)
    cmd = ["nice", "-n", "10", str(python), str(HERE / PEERS[peer]["script"]), "--data", str(data),
           "--out", str(out), "--threads", str(threads), *PEERS[peer].get("args", [])]
    if probe:
        cmd.append("--probe")
    env = dict(os.environ, PYTHONPATH=str(BENCH.parent), OMP_NUM_THREADS=str(threads),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    log = out / ("probe.log" if probe else "run.log")
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = t0 + timeout
        status, usage = None, None
        while status is None:
            pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status, usage = st, ru
            elif time.perf_counter() > deadline:
                os.killpg(proc.pid, 9)
                _, status, usage = os.wait4(proc.pid, 0)
            else:
                time.sleep(1)
    rc = os.waitstatus_to_exitcode(status)
    proc.returncode = rc
    tail = [x for x in log.read_text().splitlines() if x.strip()][-4:]
    return {"rc": rc, "wall_s": time.perf_counter() - t0, "peak_rss_mb": usage.ru_maxrss / 1024,
            "timed_out": time.perf_counter() > deadline, "log_tail": " | ".join(tail)[-800:]}


# ---------------------------------------------------------------------------------- the table
def fold_sizes(table: pd.DataFrame) -> tuple[float, float]:
    """Mean training and test sizes of the outer folds (cases)."""
    folds = [f for f in np.unique(table["fold"]) if f >= 0]
    test = np.array([(table["fold"] == f).sum() for f in folds], dtype=float)
    return float(len(table) - test.mean()), float(test.mean())


def per_fold_auc(table: pd.DataFrame, proba: np.ndarray, k: int) -> pd.Series:
    """Macro one-vs-rest AUC of each outer fold's test cases (NaN rows of ``proba`` excluded)."""
    from lnfusion.stats import SortedScores

    out = {}
    for f in sorted(v for v in np.unique(table["fold"]) if v >= 0):
        rows = np.flatnonzero((table["fold"].to_numpy() == f) & np.isfinite(proba).all(axis=1))
        y = table["label"].to_numpy()[rows]
        out[int(f)] = SortedScores.one_vs_rest(y, proba[rows]).macro_auc() if len(np.unique(y)) == k else np.nan
    return pd.Series(out, dtype=float)


def aligned_proba(table: pd.DataFrame, preds: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """(n, k) probabilities in table row order; NaN for rows the tool did not predict."""
    out = np.full((len(table), len(classes)), np.nan)
    pos = pd.Series(np.arange(len(table)), index=table["row"].to_numpy())
    out[pos.loc[preds["row"]].to_numpy()] = preds[[f"p_{c}" for c in classes]].to_numpy(dtype=float)
    return out


def compare(table: pd.DataFrame, classes: list[str], probas: dict[str, np.ndarray],
            reference: str = "lnfusion", n_boot: int = 1000) -> pd.DataFrame:
    """One row per tool: pooled macro AUC (95% CI), per-fold AUCs and the paired comparison with ``reference``.

    With several outer folds the comparison is the corrected resampled t-test of the per-fold
    macro AUCs; with one split (one test fold) it is the paired patient bootstrap of the macro AUC
    (``compare_models``).  Only test cases every compared tool predicted are scored.
    """
    from lnfusion.evaluation import compare_models
    from lnfusion.stats import corrected_resampled_ttest, multiclass_auc

    k = len(classes)
    test = table["fold"].to_numpy() >= 0
    y, groups = table["label"].to_numpy(), table["patient_id"].to_numpy()
    n_train, n_test = fold_sizes(table)
    ref = probas.get(reference)
    folds_ref = per_fold_auc(table, ref, k) if ref is not None else None
    rows = []
    for tool, p in probas.items():
        ok = test & np.isfinite(p).all(axis=1)
        auc = multiclass_auc(y[ok], p[ok], classes=list(range(k)), method="bootstrap", groups=groups[ok],
                             n_boot=n_boot, random_state=0).set_index("class").loc["macro"]
        folds = per_fold_auc(table, p, k)
        row = {"tool": tool, "n_cases": int(ok.sum()), "n_missing": int((test & ~ok).sum()),
               "macro_auc": float(auc["auc"]), "ci_low": float(auc["ci_low"]), "ci_high": float(auc["ci_high"]),
               "fold_auc_mean": float(folds.mean()), "fold_auc_sd": float(folds.std()) if len(folds) > 1 else np.nan,
               "n_folds": int(folds.notna().sum())}
        if ref is not None and tool != reference:
            both = ok & np.isfinite(ref).all(axis=1)
            paired = folds.notna() & folds_ref.notna()
            if len(folds) > 1 and paired.sum() > 1:
                a, b = folds[paired].to_numpy(), folds_ref[paired].to_numpy()
                t = corrected_resampled_ttest(a, b, n_train=n_train, n_test=n_test)
                row.update(diff=t.mean_diff, diff_low=t.ci_low, diff_high=t.ci_high, p=t.pval,
                           test="corrected resampled t-test over folds", folds_better=int((a > b).sum()),
                           n_paired=int(paired.sum()))
            else:
                c = compare_models(y[both], p[both], ref[both], [str(j) for j in range(k)], groups[both],
                                   names=(tool, reference), n_boot=n_boot).set_index("class").loc["macro"]
                row.update(diff=float(c["diff"]), diff_low=float(c["ci_low"]), diff_high=float(c["ci_high"]),
                           p=float(c["pval"]), test="paired patient bootstrap", folds_better=np.nan, n_paired=np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def load_results(out: Path, dataset: str, table: pd.DataFrame, classes: list[str]) -> tuple[dict, pd.DataFrame]:
    """Probabilities of every tool with predictions under ``out/<dataset>/`` and their cost records."""
    probas, cost = {}, []
    base = out / "results" / dataset
    for peer in PEERS:
        d = base / peer
        rec = json.loads((d / "status.json").read_text()) if (d / "status.json").is_file() else {}
        if (d / "predictions.csv").is_file():
            preds = pd.read_csv(d / "predictions.csv")
            timing = pd.read_csv(d / "timing.csv")
            probas[peer] = aligned_proba(table, preds, classes)
            rec.update(fit_s=float(timing["fit_s"].sum()), predict_s=float(timing["predict_s"].sum()),
                       folds_done=len(timing))
        if rec:
            cost.append({"tool": peer, **rec})
    return probas, pd.DataFrame(cost)


def fmt_table(comp: pd.DataFrame, cost: pd.DataFrame, dataset: str) -> str:
    """Markdown table: one row per tool (those without predictions too, with their error)."""
    lines = ["| tool | weights | macro AUC (95% CI) | mean fold AUC (SD) | vs lnfusion: diff (95% CI), p | "
             "fit s | predict s | peak RSS MB | status |", "|---|---|---|---|---|---:|---:|---:|---|"]
    comp = comp.set_index("tool") if len(comp) else comp
    cost = cost.set_index("tool") if len(cost) else cost
    for peer, spec in PEERS.items():
        if peer not in comp.index and peer not in cost.index:
            continue
        c = cost.loc[peer] if peer in cost.index else pd.Series(dtype=object)
        status = c.get("error") or ("ok" if peer in comp.index else "no predictions")
        if peer in comp.index:
            r = comp.loc[peer]
            auc = f"{r.macro_auc:.3f} ({r.ci_low:.3f}-{r.ci_high:.3f})"
            sd = "" if pd.isna(r.fold_auc_sd) else f" ({r.fold_auc_sd:.3f})"
            fold = f"{r.fold_auc_mean:.3f}{sd}"
            if peer == "lnfusion" or pd.isna(r.get("diff", np.nan)):
                vs = "reference" if peer == "lnfusion" else ""
            else:
                better = "" if pd.isna(r.folds_better) else f", better in {int(r.folds_better)}/{int(r.n_paired)}"
                vs = f"{r['diff']:+.3f} ({r.diff_low:+.3f} to {r.diff_high:+.3f}), p = {r.p:.2g}{better}"
            if r.n_missing:
                status += f"; {int(r.n_missing)} test cases not predicted"
        else:
            auc = fold = vs = ""

        def num(key, digits=0, c=c):
            v = c.get(key, np.nan)
            return "" if pd.isna(v) else f"{v:.{digits}f}"

        lines.append(f"| {spec['name']} | {spec['weights']} | {auc} | {fold} | {vs} | {num('fit_s')} | "
                     f"{num('predict_s', 1)} | {num('peak_rss_mb')} | {status} |")
    return f"**{dataset}**\n\n" + "\n".join(lines)


def fmt_probes(out: Path) -> str:
    """Markdown table: tool x capability, the outcome of each probe."""
    base = out / "probes"
    lines = ["| tool | " + " | ".join(CAPABILITIES) + " |", "|---|" + "---|" * len(CAPABILITIES)]
    details = []
    for peer, spec in PEERS.items():
        f = base / peer / "probes.json"
        status = base / peer / "status.json"
        if f.is_file():
            got = {p["capability"]: p for p in json.loads(f.read_text())}
            cells = [got[c]["outcome"] if c in got else "not probed" for c in CAPABILITIES]
            details += [f"- {spec['name']}, {c}: **{got[c]['outcome']}** -- {got[c]['detail']}" for c in CAPABILITIES if c in got]
        elif status.is_file() and json.loads(status.read_text()).get("error"):
            cells = ["could not run"] * len(CAPABILITIES)
        else:
            continue
        lines.append(f"| {spec['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + "\n".join(details)


# ---------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("peers_out"))
    p.add_argument("--venvs", type=Path, help="folder of the peers' virtual environments (default: --out/venvs)")
    p.add_argument("--python", default=shutil.which("python3.11") or sys.executable,
                   help="interpreter the venvs are made with")
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--peers", nargs="+", default=list(PEERS), choices=list(PEERS))
    p.add_argument("--data", type=Path, default=SHARED / "breast_lesions_usg")
    p.add_argument("--demo-root", type=Path, help="an existing default demo cohort (else built under --out)")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--lnfusion-cv", help="override lnfusion's inner cv (e.g. holdout) on every data set")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--timeout", type=float, default=3600, help="seconds per tool and data set")
    p.add_argument("--probe", action="store_true", help="also run the capability probes (on the demo data)")
    p.add_argument("--probe-only", action="store_true", help="only the capability probes")
    p.add_argument("--rerun", action="store_true")
    p.add_argument("--summarize", action="store_true", help="run nothing: the tables of what is under --out")
    args = p.parse_args(argv)
    venvs = args.venvs or args.out / "venvs"
    if args.lnfusion_cv:
        for s in DATASETS.values():
            s["lnfusion_cv"] = args.lnfusion_cv
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} {platform.machine()} {os.cpu_count()} CPUs; "
          f"command: {' '.join([Path(sys.executable).name, *sys.argv])}", flush=True)
    tasks = {}
    for ds in args.datasets:
        d = args.out / "data" / ds
        if not args.summarize:
            d = prepare_breast(args.out, args.data, args.repeats) if ds == "breast" else prepare_demo(args.out, args.demo_root)
        if d is not None and (d / "spec.json").is_file():
            tasks[ds] = d
    pythons: dict[str, tuple[Path | None, str]] = {}
    if not args.summarize:
        for peer in args.peers:
            pythons[peer] = venv_python(peer, venvs, args.python, args.out / "install" / f"{peer}.log")
        for ds, data in ({} if args.probe_only else tasks).items():
            for peer in args.peers:
                res = args.out / "results" / ds / peer
                if (res / "status.json").is_file() and not args.rerun:
                    continue
                python, error = pythons[peer]
                status = {"error": error} if python is None else run_peer(python, peer, data, res, args.threads,
                                                                          False, args.timeout)
                if python is not None and status["rc"] != 0:
                    status["error"] = f"exit {status['rc']}{' (timed out)' if status['timed_out'] else ''}: {status['log_tail']}"
                res.mkdir(parents=True, exist_ok=True)
                (res / "status.json").write_text(json.dumps(status, indent=1))
                print(f"{ds} / {peer}: {status.get('error') or 'ok'} "
                      f"({status.get('wall_s', 0):.0f} s, {status.get('peak_rss_mb', 0):.0f} MB)", flush=True)
        if (args.probe or args.probe_only) and "demo" in tasks:
            for peer in args.peers:
                res = args.out / "probes" / peer
                if (res / "probes.json").is_file() and not args.rerun:
                    continue
                python, error = pythons[peer]
                status = {"error": error} if python is None else run_peer(python, peer, tasks["demo"], res,
                                                                          args.threads, True, 900)
                res.mkdir(parents=True, exist_ok=True)
                (res / "status.json").write_text(json.dumps(status, indent=1))
                print(f"probes / {peer}: {status.get('error') or status.get('rc')}", flush=True)
    report = []
    for ds, data in tasks.items():
        from exchange import read_task

        table, spec = read_task(data)
        probas, cost = load_results(args.out, ds, table, spec["classes"])
        comp = compare(table, spec["classes"], probas)
        comp.to_csv(args.out / f"comparison_{ds}.csv", index=False)
        report.append(fmt_table(comp, cost, ds))
    if (args.out / "probes").is_dir():
        report.append(fmt_probes(args.out))
    text = "\n\n".join(report) + "\n"
    (args.out / "table.md").write_text(text)
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
