"""``lnfusion explain MODEL_DIR MANIFEST --patients P1,P2 --out DIR``: explanation cards and plots."""
from __future__ import annotations

from pathlib import Path

import click

__all__ = ["command"]


@click.command(name="explain")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created; built under a temporary name, never half-written).")
@click.option("--patients", default=None,
              help="Comma-separated patient ids (or patient/node labels) to write cards for "
                   "[default: every lesion].")
@click.option("--image-method", default="gradcam", show_default=True,
              type=click.Choice(["gradcam", "shap", "both", "none"]),
              help="Image attributions drawn on the cards.")
@click.option("--n-background", default=16, show_default=True, type=click.IntRange(min=1),
              help="Background images per modality for the SHAP image explainer.")
@click.option("--shap-nsamples", default=32, show_default=True, type=click.IntRange(min=1),
              help="Expected-gradient samples per image (SHAP image explainer).")
@click.option("--format", "formats", default="png,html", show_default=True,
              help="Card formats: png, html or both (comma-separated).")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed of the background draw and of the SHAP image explainer.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def command(model_dir: Path, manifest: Path, out: Path, patients: str | None, image_method: str,
            n_background: int, shap_nsamples: int, formats: str, seed: int, overwrite: bool) -> None:
    """Explain the saved model MODEL_DIR on the lesions (nodes) of MANIFEST.

    Writes to OUT: one explanation card per lesion of the chosen patients
    (cards/<node>.png and a self-contained cards/<node>.html: the images with
    their heat maps, the modality contributions, the top descriptor
    contributions, the predicted probabilities and the true label), the global
    plots descriptor_importance.png and modality_importance.png (computed over
    every lesion of MANIFEST), and the SHAP values as CSV tables.
    """
    from lnfusion.cli.evaluate_cmd import load_cohort, load_model
    from lnfusion.cli.inputs import CommandInputs, cohort_files
    from lnfusion.exceptions import LnfusionError
    from lnfusion.explain import explain
    from lnfusion.io import atomic_dir, check_replaceable

    wanted = {f.strip().lower() for f in formats.split(",") if f.strip()}
    if not wanted or wanted - {"png", "html"}:
        raise click.BadParameter(f"expected png, html or png,html; got {formats!r}",
                                 param_hint="--format")
    if out.exists() and not overwrite:
        raise click.BadParameter(f"{out} already exists; pass --overwrite to replace it",
                                 param_hint="--out")
    try:
        inputs = CommandInputs.of_command(out)
        inputs.add(model_dir, manifest)
        check_replaceable(out, overwrite)
        click.echo(f"Loading model {model_dir} ...", err=True)
        model = load_model(model_dir)
        cohort = load_cohort(manifest, model)
        inputs.add(cohort_files(cohort))
        click.echo(f"Explaining {len(cohort)} lesion(s) from {manifest} ...", err=True)
        bundle = explain(model, cohort, patients=patients, n_background=n_background,
                         image_method=image_method, shap_nsamples=shap_nsamples, random_state=seed)
        with atomic_dir(out, overwrite=overwrite) as tmp:
            tables = bundle.save(tmp)
            cards = bundle.write_cards(tmp / "cards", png="png" in wanted, html_pages="html" in wanted)
    except LnfusionError as exc:
        raise click.ClickException(str(exc)) from exc
    ranking = bundle.modality_importance()["all"]
    reported = bundle.modality.reported_outputs
    click.echo("Modality importance (mean |SHAP|, "
               + ("summed over classes):" if len(reported) > 1
                  else f"positive class {reported[0]}):"))
    for branch, value in ranking.items():
        click.echo(f"  {branch:<12} {value:.4f}")
    descriptors = bundle.descriptor_importance()
    if descriptors is not None:
        click.echo("Top descriptors: " + ", ".join(descriptors.index[:5]))
    click.echo(f"Wrote {len(cards)} card file(s) and {len(tables)} table/plot file(s) to {out}")
