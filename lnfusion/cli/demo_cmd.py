"""``lnfusion demo``: build the SIMULATED demo cohort and run the pipeline on it.

The command is a list of steps (:data:`STEPS`), each a function of a shared
:class:`DemoRun`; later steps (training, evaluation, report) append to the list.
Steps in this version:

1. ``cohort``: write the demo cohort to ``OUT/cohort`` (reused when it exists with
   the same settings);
2. ``contact sheet``: ``OUT/contact_sheet.png``, a few nodes per class, every
   modality side by side;
3. ``validate``: re-read the manifest through the public validator (images
   opened) and keep its summary.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import click

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
    echo : callable
        Prints a progress line (silent with ``--quiet``).
    cohort : lnfusion.data.Cohort or None
        Set by the ``cohort`` step.
    outputs : dict
        What the steps wrote: name -> path (printed at the end).
    summary : str
        Text summary of the cohort (set by the ``validate`` step).
    """

    out: Path
    preset: str = "default"
    seed: int = 0
    n_jobs: int | None = None
    overwrite: bool = False
    echo: Callable[[str], None] = print
    cohort: Any = None
    outputs: dict[str, Path] = field(default_factory=dict)
    summary: str = ""


def _same_settings(folder: Path, preset: str, seed: int) -> bool:
    try:
        saved = json.loads((folder / "demo_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    from lnfusion.datasets.demo import PRESETS

    wanted = PRESETS[preset]
    return (saved.get("seed") == seed and saved.get("n_patients") == wanted["n_patients"]
            and saved.get("image_size") == wanted["image_size"]
            and (folder / "manifest.csv").exists())


def step_cohort(run: DemoRun) -> None:
    """Build (or reuse) the demo cohort in ``OUT/cohort``."""
    from lnfusion.data import Cohort
    from lnfusion.datasets import make_demo_cohort

    folder = run.out / "cohort"
    if folder.exists() and not run.overwrite:
        if not _same_settings(folder, run.preset, run.seed):
            raise click.ClickException(
                f"{folder} exists and was built with other settings (or is not a demo cohort); "
                "pass --overwrite to rebuild it or --out to choose another folder")
        run.echo(f"  reusing the existing cohort in {folder}")
        run.cohort = Cohort.from_manifest(folder / "manifest.csv")
    else:
        run.cohort = make_demo_cohort(folder, seed=run.seed, preset=run.preset,
                                      n_jobs=run.n_jobs, overwrite=run.overwrite)
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


#: The pipeline: (name, step).  Later versions append training, evaluation, report.
STEPS: list[tuple[str, Callable[[DemoRun], None]]] = [
    ("cohort", step_cohort),
    ("contact sheet", step_contact_sheet),
    ("validate", step_validate),
]


def run_steps(run: DemoRun, steps: list[tuple[str, Callable[[DemoRun], None]]] | None = None
              ) -> DemoRun:
    """Run ``steps`` (default :data:`STEPS`) in order on ``run``, timing each."""
    steps = STEPS if steps is None else steps
    run.out.mkdir(parents=True, exist_ok=True)
    for k, (name, step) in enumerate(steps, 1):
        run.echo(f"[{k}/{len(steps)}] {name}")
        start = time.perf_counter()
        step(run)
        run.echo(f"      done in {time.perf_counter() - start:.1f} s")
    return run


@click.command(name="demo")
@click.option("--out", "out", default=DEFAULT_OUT, show_default=True,
              type=click.Path(file_okay=False), help="Output folder.")
@click.option("--preset", type=click.Choice(["small", "default"]), default="default",
              show_default=True,
              help="'default': 586 patients at 224 px (about a minute or two); "
                   "'small': 60 patients at 64 px (seconds).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the simulation.")
@click.option("--n-jobs", type=int, default=None,
              help="Worker processes for rendering (default: all cores for large cohorts).")
@click.option("--overwrite", is_flag=True, help="Rebuild the cohort even if OUT/cohort exists.")
@click.option("--quiet", is_flag=True, help="Print only the final summary.")
def command(out: str, preset: str, seed: int, n_jobs: int | None, overwrite: bool,
            quiet: bool) -> None:
    """Build the SIMULATED demo cohort and run the pipeline on it.

    Writes OUT/cohort (manifest.csv, schema.json, images/, latent.csv) and
    OUT/contact_sheet.png, validates the manifest and prints a summary.  The
    data are simulated: see docs/demo_cohort.md.
    """
    from lnfusion.exceptions import LnfusionError

    run = DemoRun(out=Path(out), preset=preset, seed=seed, n_jobs=n_jobs, overwrite=overwrite,
                  echo=(lambda s: None) if quiet else click.echo)
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
