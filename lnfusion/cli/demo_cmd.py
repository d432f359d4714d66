"""``lnfusion demo``: build the SIMULATED demo cohort and run the pipeline on it.

The command is a list of steps (:data:`STEPS`), each a function of a shared
:class:`DemoRun`, run in order:

1. ``cohort``: write the demo cohort to ``OUT/cohort`` (reused when it exists with
   the same settings);
2. ``contact sheet``: ``OUT/contact_sheet.png``, a few nodes per class, every
   modality side by side;
3. ``validate``: re-read the manifest through the public validator (images
   opened) and keep its summary;
4. ``table 1``: per-class descriptor summary with the test used for each
   variable (``OUT/table1.md``);
5. ``train``: split whole patients into training and held-out test sets and fit a
   :class:`~lnfusion.fusion.LateFusionClassifier` (one CNN per modality + the
   XGBoost clinical branch + the stacking head on out-of-fold predictions) on the
   training patients only; saved to ``OUT/model``;
6. ``evaluate``: every branch and the fused model on the held-out patients
   (``OUT/evaluation.md``);
7. ``explain``: SHAP (descriptors, modalities) and Grad-CAM for a few test patients;
8. ``report``: ``OUT/report.html``, one self-contained page with all of the above.

Cohort and training settings follow the preset
(:data:`lnfusion.datasets.presets.PRESETS`, the table the examples and notebooks
use too); ``--backbone``, ``--image-size``, ``--epochs`` and ``--folds``
override them.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from lnfusion.datasets.presets import PRESETS, preset_settings

__all__ = ["command", "DemoRun", "STEPS", "run_steps"]

DEFAULT_OUT = "lnfusion_demo_output"


@dataclass
class DemoRun:
    """State shared by the steps of ``lnfusion demo``.

    Attributes
    ----------
    out : Path
        Output folder.
    preset, seed, n_jobs, overwrite : settings from the command line.
    image_format : str
        ``"png"`` or ``"dicom"`` (images written as a scanner exports them).
    echo : callable
        Prints a progress line (silent with ``--quiet``).
    cohort : lnfusion.data.Cohort or None
        Set by the ``cohort`` step.
    outputs : dict
        What the steps wrote: name -> path (printed at the end).
    summary : str
        Text summary of the cohort (set by the ``validate`` step).
    model_params : dict
        :class:`~lnfusion.fusion.LateFusionClassifier` parameters (the preset's,
        with the command-line overrides).
    n_boot : int
        Bootstrap resamples of the evaluation.
    table_one, model, test, evaluation, explanations
        Results of the later steps (Table 1, the fitted fusion model, the
        held-out cohort, its evaluation and its explanations).
    """

    out: Path
    preset: str = "default"
    seed: int = 0
    n_jobs: int | None = None
    overwrite: bool = False
    image_format: str = "png"
    echo: Callable[[str], None] = print
    progress: bool = True
    cohort: Any = None
    outputs: dict[str, Path] = field(default_factory=dict)
    summary: str = ""
    model_params: dict[str, Any] = field(default_factory=dict)
    n_boot: int = 1000
    table_one: Any = None
    model: Any = None
    test: Any = None
    evaluation: Any = None
    explanations: Any = None


#: Descriptors shown in the demo's Table 1 (the study's significant ones first).
TABLE_ONE_VARIABLES = {
    "categorical": ["location", "shape", "margin", "hilum", "cdfi_pattern", "sex", "side"],
    "continuous": ["age", "long_axis_mm", "short_axis_mm", "ls_ratio"],
    "ordinal": ["adler_grade", "elasto_score"],
}


def _same_settings(folder: Path, preset: str, seed: int, image_format: str = "png") -> bool:
    try:
        saved = json.loads((folder / "demo_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    wanted = PRESETS[preset]
    return (saved.get("seed") == seed and saved.get("n_patients") == wanted["n_patients"]
            and saved.get("image_size") == wanted["image_size"]
            and saved.get("image_format", "png") == image_format
            and (folder / "manifest.csv").exists())


def step_cohort(run: DemoRun) -> None:
    """Build (or reuse) the demo cohort in ``OUT/cohort``."""
    from lnfusion.data import Cohort
    from lnfusion.datasets import make_demo_cohort

    folder = run.out / "cohort"
    if folder.exists() and not run.overwrite:
        if not _same_settings(folder, run.preset, run.seed, run.image_format):
            raise click.ClickException(
                f"{folder} exists and was built with other settings (or is not a demo cohort); "
                "pass --overwrite to rebuild it or --out to choose another folder")
        run.echo(f"  reusing the existing cohort in {folder}")
        run.cohort = Cohort.from_manifest(folder / "manifest.csv")
    else:
        run.cohort = make_demo_cohort(folder, seed=run.seed, preset=run.preset,
                                      n_jobs=run.n_jobs, overwrite=run.overwrite,
                                      image_format=run.image_format)
    run.outputs["cohort (manifest)"] = folder / "manifest.csv"


def step_contact_sheet(run: DemoRun) -> None:
    """Write ``OUT/contact_sheet.png``."""
    from lnfusion.datasets import write_contact_sheet

    run.outputs["contact sheet"] = write_contact_sheet(run.cohort, run.out / "contact_sheet.png")


def step_validate(run: DemoRun) -> None:
    """Validate the written manifest through the public validator."""
    from lnfusion.data import validate_manifest

    report = validate_manifest(run.outputs["cohort (manifest)"], check_images=True)
    if not report.ok:
        raise click.ClickException("the demo manifest failed validation:\n" + report.to_text())
    run.summary = report.cohort.summary().to_text()


def step_table_one(run: DemoRun) -> None:
    """Table 1 of the descriptors by class, written to ``OUT/table1.md``."""
    from lnfusion.stats import table_one

    frame = run.cohort.descriptors.copy()
    frame["label"] = run.cohort.labels
    present = {kind: [v for v in names if v in frame.columns]
               for kind, names in TABLE_ONE_VARIABLES.items()}
    run.table_one = table_one(frame, by="label", class_order=run.cohort.classes, **present)
    run.outputs["Table 1"] = run.table_one.save(run.out / "table1.md")


def step_train(run: DemoRun) -> None:
    """Hold out whole patients, then fit the fused model on the training patients."""
    from lnfusion.data import split_patients
    from lnfusion.fusion import LateFusionClassifier

    split = split_patients(run.cohort.y, run.cohort.groups, test_size=0.2, random_state=run.seed)
    train, run.test = run.cohort.subset(split.train), run.cohort.subset(split.test)
    params = dict(run.model_params)
    params["image_params"] = {**params.get("image_params", {}), "progress": False}
    model = LateFusionClassifier(**params, random_state=run.seed, progress=run.progress)
    p = model.get_params()   # every branch's settings, as bmode__epochs...
    run.echo(f"  {train.n_patients} training / {run.test.n_patients} held-out patients; "
             f"{p['bmode__backbone']} at {p['bmode__image_size']} px, {p['bmode__epochs']} epochs, "
             f"cv={model.cv}")
    run.model = model.fit(train)
    run.outputs["model"] = run.model.save(run.out / "model", overwrite=True)


def step_evaluate(run: DemoRun) -> None:
    """Evaluate every branch and the fused model on the held-out patients."""
    from lnfusion.evaluation import evaluate
    from lnfusion.io import atomic_write_text

    run.evaluation = evaluate(run.model, run.test, n_boot=run.n_boot,
                              random_state=run.seed, title="Held-out patients")
    run.outputs["evaluation"] = atomic_write_text(run.out / "evaluation.md",
                                                  run.evaluation.to_markdown())


def step_explain(run: DemoRun) -> None:
    """Explanations for every held-out node; image attributions for three patients."""
    from lnfusion.explain import explain

    patients = list(dict.fromkeys(run.test.groups))[:3]
    run.explanations = explain(run.model, run.test, patients=patients, random_state=run.seed)


def step_report(run: DemoRun) -> None:
    """Write ``OUT/report.html``."""
    from lnfusion.report import build_demo_report

    run.outputs["report"] = build_demo_report(
        run.out, run.cohort, table_one=run.table_one, evaluation=run.evaluation,
        explanations=run.explanations, contact_sheet=run.outputs.get("contact sheet"))


#: The pipeline: (name, step).
STEPS: list[tuple[str, Callable[[DemoRun], None]]] = [
    ("cohort", step_cohort),
    ("contact sheet", step_contact_sheet),
    ("validate", step_validate),
    ("table 1", step_table_one),
    ("train", step_train),
    ("evaluate", step_evaluate),
    ("explain", step_explain),
    ("report", step_report),
]


def run_steps(run: DemoRun, steps: list[tuple[str, Callable[[DemoRun], None]]] | None = None
              ) -> DemoRun:
    """Run ``steps`` (default :data:`STEPS`) in order on ``run``, timing each."""
    from lnfusion.io import output_dir

    steps = STEPS if steps is None else steps
    output_dir(run.out)
    for k, (name, step) in enumerate(steps, 1):
        run.echo(f"[{k}/{len(steps)}] {name}")
        start = time.perf_counter()
        step(run)
        run.echo(f"      done in {time.perf_counter() - start:.1f} s")
    return run


def _positive_int(value: str, option: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 2:
        raise click.BadParameter(f"expected an integer >= 2 or 'holdout', got {value!r}",
                                 param_hint=option)
    return number


@click.command(name="demo")
@click.option("--out", "out", default=DEFAULT_OUT, show_default=True,
              type=click.Path(file_okay=False), help="Output folder.")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="default",
              show_default=True,
              help="'default': 586 patients at 224 px, resnet18 at 64 px (about six minutes "
                   "on a 2-core CPU); 'small': 60 patients at 64 px, a tiny network "
                   "(about 15 seconds; numbers near chance).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the simulation.")
@click.option("--n-jobs", type=int, default=None,
              help="Worker processes for rendering (default: all cores for large cohorts).")
@click.option("--overwrite", is_flag=True, help="Rebuild the cohort even if OUT/cohort exists.")
@click.option("--backbone", default=None, help="timm backbone of the image branches "
              "(default: the preset's).")
@click.option("--image-size", type=int, default=None, help="Input size of the image branches.")
@click.option("--epochs", type=int, default=None, help="Training epochs per image branch.")
@click.option("--folds", default=None,
              help="Inner out-of-fold splits for the fusion head: an integer or 'holdout'.")
@click.option("--image-format", type=click.Choice(["png", "dicom"]), default="png", show_default=True,
              help="'dicom': write every image as an ultrasound scanner exports it (RLE-compressed "
                   "DICOM, simulated burned-in text outside an ultrasound region); same results "
                   "as 'png'.")
@click.option("--quiet", is_flag=True, help="Print only the final summary.")
def command(out: str, preset: str, seed: int, n_jobs: int | None, overwrite: bool,
            backbone: str | None, image_size: int | None, epochs: int | None,
            folds: str | None, image_format: str, quiet: bool) -> None:
    """Build the SIMULATED demo cohort and run the pipeline on it.

    Writes OUT/cohort (manifest.csv, schema.json, images/, latent.csv) and
    OUT/contact_sheet.png, validates the manifest, writes Table 1, trains the
    fused model on the training patients, evaluates and explains it on the
    held-out patients and writes OUT/report.html.  The data are simulated: see
    docs/demo_cohort.md.
    """
    from lnfusion.exceptions import LnfusionError

    settings = preset_settings(preset)
    params = settings["model"]
    if backbone is not None:
        params["backbone"] = backbone
    image = {"image_size": image_size, "epochs": epochs}
    params["image_params"] = {**params.get("image_params", {}),
                              **{k: v for k, v in image.items() if v is not None}}
    if folds is not None:
        params["cv"] = folds if folds == "holdout" else _positive_int(folds, "--folds")
    run = DemoRun(out=Path(out), preset=preset, seed=seed, n_jobs=n_jobs, overwrite=overwrite,
                  image_format=image_format, echo=(lambda s: None) if quiet else click.echo,
                  model_params=params, n_boot=settings["n_boot"], progress=not quiet)
    try:
        run_steps(run)
    except LnfusionError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("")
    click.echo("SIMULATED demo cohort (not patient data; see docs/demo_cohort.md)")
    click.echo(run.summary)
    click.echo("")
    click.echo("Outputs:")
    for name, path in run.outputs.items():
        click.echo(f"  {name}: {path}")
    if "model" in run.outputs:
        click.echo("")
        click.echo(f"Serve the model as a local web page: lnfusion serve {run.outputs['model']}")
        click.echo("  (then open http://127.0.0.1:8000/; needs pip install 'lnfusion[serve]')")
