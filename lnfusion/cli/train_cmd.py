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
    """The cohort's manifest with absolute image paths (usable from any folder)."""
    table = cohort.table
    for m in cohort.modalities:
        table[m] = [";".join(paths) for paths in cohort.images(m)]
    return table


@click.command(name="train")
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace the output folder if it exists.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def command(config: Path, overwrite: bool, quiet: bool) -> None:
    """Train a late-fusion model described by the YAML file CONFIG.

    CONFIG holds ``output``, ``data`` (manifest, schema, test_size,
    random_state) and ``model`` (LateFusionClassifier parameters, e.g.
    ``cv: 5`` or ``bmode__epochs: 10``).  Splits the patients into training and
    held-out test sets (class-stratified, whole patients; ``data.test_size``),
    fits the model on the training patients only (out-of-fold stacking inside
    them), and writes to ``output``:
    ``model/`` (the saved model), ``train_config.json`` (validated settings),
    ``train_config.yaml`` (the file as given), ``split.csv`` (every node's part)
    and ``test_manifest.csv`` (the held-out nodes, absolute image paths) for
    ``lnfusion evaluate``.  See docs/modelling.md for the keys.
    """
    from lnfusion.cli.inputs import CommandInputs, cohort_files, path_params
    from lnfusion.data import Cohort, split_patients
    from lnfusion.exceptions import LnfusionError
    from lnfusion.fusion.train_config import load_train_config
    from lnfusion.io import atomic_dir, atomic_write_text, check_replaceable

    try:
        cfg = load_train_config(config)
        output = Path(cfg.output)
        data = cfg.data
        inputs = CommandInputs.of_command(output)
        inputs.add(config, data.manifest, data.schema, path_params(cfg.model, ("pretrained",)))
        if output.exists() and not overwrite:
            raise click.ClickException(f"output folder {output} already exists; pass --overwrite "
                                       "to replace it or change 'output' in the config")
        check_replaceable(output, overwrite)
        click.echo(f"Reading {data.manifest} ...", err=True)
        cohort = Cohort.from_manifest(data.manifest, schema=data.schema)
        inputs.add(cohort_files(cohort))
        import numpy as np

        if data.test_size > 0:
            split = split_patients(cohort.y, cohort.groups, test_size=data.test_size, val_size=0.0,
                                   random_state=data.random_state)
            train_idx, test_idx = split.train, split.test
        else:
            train_idx, test_idx = np.arange(len(cohort)), np.array([], dtype=int)
        train = cohort.subset(train_idx)
        model = cfg.build_model(progress=not quiet)
        click.echo(f"Training on {train.n_patients} patient(s) / {len(train)} node(s); "
                   f"{len(np.unique(cohort.groups[test_idx]))} patient(s) / {len(test_idx)} node(s) "
                   "held out for testing", err=True)
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
        click.echo(f"Nodes a branch could not see (kept; the head handled them): {missing}")
    click.echo(f"Wrote {output}")
    if len(test_idx):
        click.echo(f"Evaluate: lnfusion evaluate {output / 'model'} {output / 'test_manifest.csv'} "
                   f"--out {output / 'report.html'}")
