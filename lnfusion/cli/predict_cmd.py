"""``lnfusion predict MODEL_DIR MANIFEST --out preds.csv``: per-class probabilities per node."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

__all__ = ["command", "read_unlabelled", "prediction_table"]


def read_unlabelled(manifest: str | os.PathLike, schema: Any) -> tuple[Any, Any]:
    """Read a manifest whose labels may be absent, empty or unknown.

    Prediction never uses labels: the manifest is read as an unlabelled cohort
    (``labelled=False``), so its label column, if any, is not validated;
    everything else (ids, descriptors, images, ROIs) is.

    Returns
    -------
    (Cohort, labels or None)
        ``labels``: the manifest's label column as given, or None without one.
    """
    from lnfusion.data import Cohort
    from lnfusion.data.manifest import read_manifest

    df, _ = read_manifest(manifest)
    labels = df[schema.label].copy() if schema.label in df.columns else None
    cohort = Cohort.from_manifest(df, schema=schema, root=Path(manifest).resolve().parent,
                                  source=str(manifest), labelled=False)
    return cohort, labels


def prediction_table(model: Any, cohort: Any, labels: Any = None, branches: bool = False) -> Any:
    """Ids, (label,) ``proba_<class>`` per class, ``predicted``; optionally ``<branch>_proba_<class>``."""
    import numpy as np
    import pandas as pd

    schema = cohort.schema
    table = cohort.table
    out = pd.DataFrame({c: table[c] for c in (schema.patient, schema.node)
                        if c is not None and c in table.columns})
    if labels is not None:
        out["label"] = labels.to_numpy()
    proba, branch_proba = model.predict_with_branches(cohort)
    for j, c in enumerate(model.classes_):
        out[f"proba_{c}"] = proba[:, j]
    out["predicted"] = np.asarray(model.classes_, dtype=object)[np.argmax(proba, axis=1)]
    if branches:
        for b, p in branch_proba.items():
            for j, c in enumerate(model.classes_):
                out[f"{b}_proba_{c}"] = p[:, j]
    return out


@click.command(name="predict")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV file to write.")
@click.option("--schema", "schema_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Schema JSON of MANIFEST (default: the schema the model was trained with).")
@click.option("--branches", is_flag=True, help="Also write each branch's probabilities.")
def command(model_dir: Path, manifest: Path, out: Path, schema_path: Path | None,
            branches: bool) -> None:
    """Write per-class probabilities and the predicted class for every lesion of MANIFEST.

    Labels are not needed (a label column, when present, is copied to the
    output).  Lesions missing a modality are predicted from the other branches.
    Columns: patient id, node id, [label], ``proba_<class>`` per class,
    ``predicted`` [, ``<branch>_proba_<class>`` with --branches].
    """
    from lnfusion.cli.inputs import CommandInputs, cohort_files
    from lnfusion.data import CohortSchema
    from lnfusion.exceptions import LnfusionError
    from lnfusion.fusion import LateFusionClassifier
    from lnfusion.io import atomic_write_text

    try:
        inputs = CommandInputs.of_command(out)
        inputs.add(model_dir, manifest, schema_path)
        click.echo(f"Loading model {model_dir} ...", err=True)
        model = LateFusionClassifier.load(model_dir)
        schema = CohortSchema.from_json(schema_path) if schema_path else model.schema_
        if schema is None:
            raise click.ClickException("the model folder has no schema.json; pass --schema")
        cohort, labels = read_unlabelled(manifest, schema)
        inputs.add(cohort_files(cohort))
        click.echo(f"Predicting {len(cohort)} lesion(s) from {manifest} ...", err=True)
        table = prediction_table(model, cohort, labels, branches=branches)
        atomic_write_text(out, table.to_csv(index=False))
    except LnfusionError as exc:
        raise click.ClickException(str(exc)) from exc
    counts = table["predicted"].value_counts().reindex(list(model.classes_), fill_value=0)
    click.echo("Predicted: " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    click.echo(f"Wrote {out}")
