"""``lnfusion validate``: check a manifest (or a study-layout folder) and print a summary or every error."""
from __future__ import annotations

import json

import click

__all__ = ["command"]


@click.command(name="validate")
@click.argument("manifest", required=False, type=click.Path(dir_okay=False))
@click.option("--schema", "schema_path", type=click.Path(dir_okay=False),
              help="Schema JSON (default: schema.json beside the manifest, else the default schema).")
@click.option("--no-check-images", is_flag=True,
              help="Skip opening image headers (faster; paths and ROIs inside images are not checked).")
@click.option("--study-layout", "study_root", type=click.Path(file_okay=False),
              help="Validate the study's released folder layout (2d/, cdfi/, elastic/ with class "
                   "folders 0, 1, 2) instead of a manifest.")
@click.option("--class-map", help="With --study-layout: folder-to-class map, required, e.g. "
                                  "'0=metastatic,1=lymphoma,2=benign'.")
@click.option("--allow-empty-classes", is_flag=True,
              help="Accept a declared class with no patient (e.g. an external test set).")
@click.option("--labelled/--unlabelled", "labelled", default=None,
              help="--unlabelled: new patients, ignore any label column (no label checks). "
                   "--labelled: labels required. Default: labelled iff the manifest has a "
                   "non-empty label column.")
@click.option("--strict", is_flag=True,
              help="Treat warnings (a patient whose lesions sit at two sites) as errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary (or errors) as JSON.")
def command(manifest: str | None, schema_path: str | None, no_check_images: bool,
            study_root: str | None, class_map: str | None, allow_empty_classes: bool,
            labelled: bool | None, strict: bool, as_json: bool) -> None:
    """Validate MANIFEST and print a summary: patients, lesions (nodes), images per modality,
    missing modalities, class balance per site.

    A manifest of new patients without labels is accepted (the summary says
    "unlabelled"); the label checks are then skipped.  On problems, print
    every one of them (row, column, file and what was expected) and exit
    with status 1.  Warnings (a patient whose lesions sit at two sites, which
    leave-one-site-out validation cannot split) are printed without failing,
    unless --strict makes them errors.
    """
    from lnfusion.data.cohort import ValidationReport, validate_manifest
    from lnfusion.data.layouts import load_study_layout
    from lnfusion.exceptions import LnfusionError

    if (manifest is None) == (study_root is None):
        raise click.UsageError("give either MANIFEST or --study-layout ROOT (not both)")
    if study_root is not None:
        if labelled is False:
            raise click.UsageError("--unlabelled does not apply to --study-layout (its class folders "
                                   "are the labels)")
        if not class_map:
            raise click.UsageError("--study-layout needs --class-map, e.g. "
                                   "'0=metastatic,1=lymphoma,2=benign' (folder numbers carry no names)")
        try:
            cohort, unpaired = load_study_layout(study_root, class_map,
                                                 check_images=not no_check_images)
        except LnfusionError as exc:
            _fail(ValidationReport(source=study_root, errors=[exc]), as_json)
        if as_json:
            click.echo(json.dumps({"ok": True, "summary": cohort.summary().to_dict(),
                                   "unpaired": {p: list(m) for p, m in unpaired.missing.items()}},
                                  indent=2))
        else:
            click.echo(cohort.summary().to_text())
            click.echo("")
            click.echo(unpaired.to_text())
        return

    report = validate_manifest(manifest, schema=schema_path, check_images=not no_check_images,
                               allow_empty_classes=allow_empty_classes, labelled=labelled,
                               strict=strict)
    if not report.ok:
        _fail(report, as_json)
    if as_json:
        click.echo(json.dumps({"ok": True, "notes": report.notes,
                               "warnings": [_problem(w) for w in report.warnings],
                               "summary": report.cohort.summary().to_dict()}, indent=2))
    else:
        click.echo(report.to_text())


def _fail(report, as_json: bool) -> None:
    """Print the report's errors (stderr, or JSON on stdout) and exit with status 1."""
    if as_json:
        click.echo(json.dumps({"ok": False, "notes": report.notes,
                               "errors": [_problem(e) for e in report.errors]}, indent=2))
    else:
        click.echo(report.to_text(), err=True)
    click.get_current_context().exit(1)


def _problem(exc: Exception) -> dict:
    """An error or warning as JSON: type, message, row, column, path."""
    return {"type": type(exc).__name__, "message": str(exc), "row": getattr(exc, "row", None),
            "column": getattr(exc, "column", None), "path": getattr(exc, "path", None)}
