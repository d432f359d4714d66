"""``lnfusion train CONFIG.yaml``: train a late-fusion model from a YAML config."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

__all__ = ["command", "split_table", "absolute_manifest"]


def split_table(cohort: Any, parts: dict[str, Any]) -> Any:
    """One row per node: patient id, node id (when the manifest has one), label, ``split``."""
    import numpy as np
    import pandas as pd

    schema = cohort.schema
    table = cohort.table
    cols = [c for c in (schema.patient, schema.node) if c is not None and c in table.columns]
    out = table[cols].copy()
    out["label"] = cohort.labels
    split = np.empty(len(cohort), dtype=object)
    for name, idx in parts.items():
        split[np.asarray(idx, dtype=int)] = name
    out["split"] = split
    return pd.DataFrame(out)


def absolute_manifest(cohort: Any) -> Any:
    """The cohort's manifest with absolute image and lesion-mask paths (usable from any folder)."""
    table = cohort.table
    for m in cohort.modalities:
        table[m] = [";".join(paths) for paths in cohort.images(m)]
        mask_col = cohort.schema.mask_column(m)
        if mask_col in table.columns:
            table[mask_col] = [";".join(p or "" for p in paths) if any(paths) else ""
                               for paths in cohort.masks(m)]
    return table


def _split_kind(data: Any) -> str:
    """How the test patients were chosen, for the run's log."""
    if data.split_column is not None:
        return f"manifest column {data.split_column!r}"
    if data.test_patients is not None:
        return f"ids listed in {data.test_patients}"
    if data.test_size:
        return f"random, test_size {data.test_size:g}, random_state {data.random_state}"
    return "test_size 0: none"


@click.command(name="train")
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace the output folder if it exists.")
@click.option("--split-column", metavar="COLUMN", default=None,
              help="Manifest column of 'train' / 'test' giving a predefined split (published "
                   "folds); replaces data.test_size.")
@click.option("--test-patients", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, metavar="FILE",
              help="File of test patient ids (one per line, or a CSV whose first column holds "
                   "them); every other patient trains. Replaces data.test_size.")
@click.option("--threads", type=click.IntRange(min=1), default=None, metavar="N",
              help="CPU threads per branch fit (model.n_threads). Default: the cores available "
                   "to this process divided by model.n_jobs.")
@click.option("--quiet", is_flag=True,
              help="No progress output. Otherwise a terminal shows progress bars, and a log "
                   "(output redirected) gets one line per epoch and per branch fit with the "
                   "elapsed and remaining time.")
def command(config: Path, overwrite: bool, split_column: str | None, test_patients: Path | None,
            threads: int | None, quiet: bool) -> None:
    """Train a late-fusion lesion classifier described by the YAML file CONFIG.

    CONFIG holds ``output``, ``data`` (manifest, schema, test_size,
    random_state, or a predefined split: split_column or test_patients) and
    ``model`` (LateFusionClassifier parameters, e.g. ``cv: 5`` or
    ``bmode__epochs: 10``).  Holds out test patients (whole patients: by
    default a class-stratified random ``data.test_size``; ``test_size: 0``
    holds out none), fits the model on the training patients only
    (out-of-fold stacking inside them), and writes to ``output``:
    ``model/`` (the saved model), ``train_config.json`` (validated settings),
    ``train_config.yaml`` (the file as given), ``split.csv`` (every lesion's
    part) and ``test_manifest.csv`` (the held-out lesions, absolute image and
    mask paths) for ``lnfusion evaluate``.  Options given here override the file.
    See docs/modelling.md for the keys.
    """
    import dataclasses

    from lnfusion.cli.inputs import CommandInputs, cohort_files, path_params
    from lnfusion.data import Cohort
    from lnfusion.exceptions import LnfusionError
    from lnfusion.fusion.train_config import load_train_config
    from lnfusion.io import atomic_dir, atomic_write_text, check_replaceable

    try:
        cfg = load_train_config(config)
        if split_column is not None or test_patients is not None:
            data = dataclasses.replace(
                cfg.data, split_column=split_column,
                test_patients=None if test_patients is None else str(test_patients.resolve()))
            cfg = dataclasses.replace(cfg, data=data)
        if threads is not None:
            cfg = dataclasses.replace(cfg, model={**cfg.model, "n_threads": threads})
        output = Path(cfg.output)
        data = cfg.data
        inputs = CommandInputs.of_command(output)
        inputs.add(config, data.manifest, data.schema, data.test_patients,
                   path_params(cfg.model, ("pretrained",)))
        if output.exists() and not overwrite:
            raise click.ClickException(f"output folder {output} already exists; pass --overwrite "
                                       "to replace it or change 'output' in the config")
        check_replaceable(output, overwrite)
        click.echo(f"Reading {data.manifest} ...", err=True)
        cohort = Cohort.from_manifest(data.manifest, schema=data.schema)
        inputs.add(cohort_files(cohort))
        import numpy as np

        train_idx, test_idx = data.split(cohort)
        train = cohort.subset(train_idx)
        model = cfg.build_model(progress=not quiet)
        click.echo(f"Training on {train.n_patients} patient(s) / {len(train)} lesion(s); "
                   f"{len(np.unique(cohort.groups[test_idx]))} patient(s) / {len(test_idx)} "
                   f"lesion(s) held out for testing ({_split_kind(data)})", err=True)
        model.fit(train)
        with atomic_dir(output, overwrite=overwrite) as tmp:
            model.save(tmp / "model")
            cfg.save(tmp / "train_config.json")
            atomic_write_text(tmp / "train_config.yaml", config.read_text(encoding="utf-8"))
            parts = {"train": train_idx, "test": test_idx}
            atomic_write_text(tmp / "split.csv", split_table(cohort, parts).to_csv(index=False))
            if len(test_idx):
                test_manifest = absolute_manifest(cohort.subset(test_idx))
                atomic_write_text(tmp / "test_manifest.csv", test_manifest.to_csv(index=False))
    except LnfusionError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Branches: {', '.join(model.branch_names_)}; head: {model.head_.kind}")
    missing = {b: n for b, n in model.missing_counts_.items() if n}
    if missing:
        click.echo(f"Lesions a branch could not see (kept; the head handled them): {missing}")
    click.echo(f"Wrote {output}")
    if len(test_idx):
        click.echo(f"Evaluate: lnfusion evaluate {output / 'model'} {output / 'test_manifest.csv'} "
                   f"--out {output / 'report.html'}")
