"""``lnfusion evaluate MODEL_DIR MANIFEST --out report.html``: evaluate a saved model."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

__all__ = ["command"]

_FORMATS = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown"}


def load_model(model_dir: str | os.PathLike) -> Any:
    """Load a model saved by :meth:`lnfusion.fusion.LateFusionClassifier.save`."""
    from lnfusion.fusion import LateFusionClassifier

    return LateFusionClassifier.load(model_dir)


def load_cohort(manifest: str | os.PathLike, model: Any) -> Any:
    """Read the evaluation manifest with the model's training schema when it has one."""
    from lnfusion.data import Cohort

    schema = getattr(model, "schema_", None)
    return Cohort.from_manifest(manifest, schema=schema, allow_empty_classes=True)


@click.command(name="evaluate")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Report file: .html (self-contained, with figures) or .md (tables).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every metric as JSON.")
@click.option("--alpha", default=0.05, show_default=True, type=click.FloatRange(0, 1, min_open=True,
              max_open=True), help="1 - confidence level of the intervals.")
@click.option("--n-boot", default=1000, show_default=True, type=click.IntRange(min=0),
              help="Patient-bootstrap resamples (macro-AUC interval, ROC bands, macro-AUC "
                   "test); 0 skips them.")
@click.option("--n-bins", default=10, show_default=True, type=click.IntRange(min=1),
              help="Reliability-diagram bins.")
@click.option("--auc-ci", "auc_method", default="delong", show_default=True,
              type=click.Choice(["delong", "bootstrap"]),
              help="Per-class AUC interval: DeLong, or a patient bootstrap (several lesions per "
                   "patient).")
@click.option("--seed", default=0, show_default=True, type=int, help="Bootstrap seed.")
@click.option("--title", default=None, help="Report heading (default: the model folder's name).")
def command(model_dir: Path, manifest: Path, out: Path, json_path: Path | None, alpha: float,
            n_boot: int, n_bins: int, auc_method: str, seed: int, title: str | None) -> None:
    """Evaluate the saved model MODEL_DIR on the lesions (nodes) of MANIFEST.

    Reports, for the fused model and every branch: macro and per-class AUC with
    confidence intervals, accuracy, balanced accuracy, sensitivity and
    specificity (Wilson CIs), F1, Brier score, calibration, DeLong tests of the
    fused model against each branch, and confusion matrices.  MANIFEST needs a
    label for every lesion; it is read with the schema saved with the model.
    """
    from lnfusion.cli.inputs import CommandInputs, cohort_files
    from lnfusion.evaluation import evaluate
    from lnfusion.exceptions import LnfusionError

    fmt = _FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise click.BadParameter(f"expected a .html or .md file, got {out.name!r}",
                                 param_hint="--out")
    try:
        inputs = CommandInputs.of_command(out, json_path)
        inputs.add(model_dir, manifest)
        click.echo(f"Loading model {model_dir} ...", err=True)
        model = load_model(model_dir)
        cohort = load_cohort(manifest, model)
        inputs.add(cohort_files(cohort))
        click.echo(f"Scoring {len(cohort)} lesion(s) from {manifest} ...", err=True)
        result = evaluate(model, cohort, alpha=alpha, n_bins=n_bins, n_boot=n_boot,
                          random_state=seed, auc_method=auc_method,
                          title=title or f"Evaluation of {model_dir.name}")
        if fmt == "html":
            result.to_html(out)
        else:
            from lnfusion.io import atomic_write_text

            atomic_write_text(out, result.to_markdown())
        if json_path is not None:
            result.save_json(json_path)
    except LnfusionError as exc:
        raise click.ClickException(str(exc)) from exc
    cols = ["model", "n", "macro_auc", "macro_auc_ci_low", "macro_auc_ci_high", "accuracy"]
    table = result.summary[cols]
    if result.positive_class is not None:  # two classes: one AUC, of the positive class
        click.echo(f"Positive class: {result.positive_class}")
        table = table.rename(columns=lambda c: c.replace("macro_auc", "auc"))
    click.echo(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    click.echo(f"Wrote {out}" + (f" and {json_path}" if json_path else ""))
