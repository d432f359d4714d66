"""``lnfusion stats``: write a clinical Table 1 for a manifest (CSV, TSV or Parquet)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

__all__ = ["command", "read_table"]

_ADJUST = ["fdr_bh", "bh", "holm", "bonferroni", "hochberg", "hommel", "fdr_by", "by", "none"]


def read_table(path: str | Path, na_values: Sequence[str] = ()):
    """Read a CSV (``.csv``), TSV (``.tsv``/``.tab``/``.txt``) or Parquet (``.parquet``/``.pq``) file.

    Text cells that equal one of ``na_values`` (surrounding spaces ignored) are
    read as missing, in addition to pandas' usual empty cells and ``NA``; a
    text column left holding only numbers is then read as numbers.
    """
    import pandas as pd

    from lnfusion.exceptions import DataError

    p = Path(path)
    ext = p.suffix.lower()
    if ext not in (".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq"):
        raise DataError(f"cannot tell the format of {str(p)!r}: expected .csv, .tsv or .parquet")
    try:
        if ext in (".parquet", ".pq"):
            df = pd.read_parquet(p)
        else:
            df = pd.read_csv(p, sep="," if ext == ".csv" else "\t")
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {str(p)!r}: {exc}") from exc
    return _mark_missing(df, na_values)


def _mark_missing(df, na_values: Sequence[str]):
    import pandas as pd

    na = {str(v).strip() for v in na_values}
    if not na:
        return df
    for col in df.columns:
        s = df[col]
        if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
            continue
        hit = s.map(lambda v: isinstance(v, str) and v.strip() in na).astype(bool)
        if hit.any():
            s = s.astype("object").mask(hit)
            numbers = pd.to_numeric(s, errors="coerce")
            df[col] = numbers if numbers.notna().sum() == s.notna().sum() else s
    return df


def _first_node_per_patient(df, patient: str, source: str):
    """The first row (manifest order) of every patient, and how many rows were dropped."""
    from lnfusion.exceptions import DataError

    if patient not in df.columns:
        raise DataError(f"--per patient: {source} has no patient column {patient!r}; columns are "
                        f"{list(df.columns)} (give a schema, or --patient-column)")
    keep = ~df[patient].astype(str).duplicated(keep="first").to_numpy()
    return df.loc[keep].reset_index(drop=True), int((~keep).sum())


def _schema_frame(manifest: str, df, schema_path: Path, extra: list[str]):
    """The Table 1 frame of a manifest with a schema: its descriptors, typed as declared.

    Returns ``(frame, by, kinds, class_order, patient)``: the descriptor columns
    (categorical and ordinal ones as pandas Categoricals with the declared
    levels, ordered for ordinal), the label column, the patient column and the
    ``extra`` columns named on the command line; the declared type of every
    descriptor; the declared classes present, in the schema's order.
    """
    import pandas as pd

    from lnfusion.data import Cohort, CohortSchema
    from lnfusion.exceptions import DataError

    schema = CohortSchema.from_json(schema_path)
    df = df.copy()
    for m in schema.modalities:  # Table 1 reads no image: image, ROI and mask cells are not needed
        for col in (m, schema.roi_column(m), schema.mask_column(m)):
            if col in df.columns:
                df[col] = ""
    cohort = Cohort.from_manifest(df, schema, root=Path(manifest).parent, check_images=False,
                                  allow_empty_classes=True, labelled=True, source=str(manifest))
    table = cohort.table.reset_index(drop=True)
    frame = cohort.descriptors.reset_index(drop=True)
    if len(frame) != len(table):
        raise DataError(f"{manifest}: {len(table)} rows but {len(frame)} descriptor rows")
    label = schema.label
    frame[label] = pd.Categorical(cohort.labels, categories=list(cohort.classes))
    frame[schema.patient] = cohort.groups
    for col in extra:
        if col not in frame.columns:
            frame[col] = table[col].to_numpy()
    kinds: dict[str, list[str]] = {"categorical": [], "continuous": [], "ordinal": []}
    for name, desc in schema.descriptors.items():
        kinds[desc.kind].append(name)
    present = set(cohort.labels)
    order = [c for c in cohort.classes if c in present]
    return frame, label, kinds, order, schema.patient


@click.command(name="stats")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", default=None,
              help="Grouping column (the classes). Default: the schema's label column, else 'label'.")
@click.option("--schema", "schema_path", type=click.Path(exists=True, dir_okay=False),
              help="Schema JSON of the manifest (default: schema.json beside it, when present). "
                   "With a schema, the variables are its descriptors with their declared types, "
                   "and the classes are in its declared order.")
@click.option("--no-schema", is_flag=True,
              help="Ignore a schema.json beside the manifest; infer the variables instead.")
@click.option("--per", type=click.Choice(["node", "patient"]), default="node", show_default=True,
              help="Unit of the table: every row of the manifest (node), or the first node of "
                   "each patient in manifest order (patient).")
@click.option("--patient-column", default="patient_id", show_default=True,
              help="Patient id column for --per patient without a schema.")
@click.option("--categorical", "-c", "categorical", multiple=True,
              help="Treat this column as categorical (repeatable).")
@click.option("--continuous", "continuous", multiple=True,
              help="Treat this column as continuous (repeatable).")
@click.option("--ordinal", "ordinal", multiple=True,
              help="Treat this column as ordinal (repeatable).")
@click.option("--exclude", "-x", "exclude", multiple=True, help="Leave this column out (repeatable).")
@click.option("--no-infer", is_flag=True,
              help="Use only the columns named with --categorical/--continuous/--ordinal "
                   "(default: infer the type of every other column too).")
@click.option("--na", "na_values", multiple=True, metavar="TEXT",
              help="Read cells holding this text (surrounding spaces ignored) as missing, "
                   "e.g. --na unknown (repeatable; empty cells and NA are always missing).")
@click.option("--max-levels", type=click.IntRange(min=2), default=50, show_default=True,
              help="Most levels of a categorical or ordinal variable: a named column with more "
                   "is refused, an inferred one left out with a warning.")
@click.option("--out", "-o", "out", type=click.Path(dir_okay=False),
              help="Output file; format from the extension: .md .tex .html .csv "
                   "(default: Markdown on standard output).")
@click.option("--adjust", type=click.Choice(_ADJUST), default="fdr_bh", show_default=True,
              help="P-value adjustment across variables.")
@click.option("--posthoc", type=click.Choice([*_ADJUST, "off"]), default="holm", show_default=True,
              help="With more than two classes, compare every pair of classes and adjust their "
                   "p-values within each variable by this method (printed in a second table); "
                   "'off' leaves the comparisons out.")
@click.option("--smd", is_flag=True,
              help="Add a column of standardized mean differences (the largest over pairs of "
                   "classes when there are more than two).")
@click.option("--yates", is_flag=True, help="Yates' continuity correction for 2 x 2 chi-square tests.")
@click.option("--trend", is_flag=True,
              help="Trend test for ordinal variables (Cochran-Armitage / Jonckheere-Terpstra).")
@click.option("--parametric", type=click.Choice(["welch", "student", "levene"]), default="welch",
              show_default=True, help="Parametric family used when every class looks normal.")
@click.option("--exact", type=click.Choice(["auto", "exact", "monte-carlo"]), default="auto",
              show_default=True, help="Fisher's test on r x c tables.")
@click.option("--mc-draws", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Monte Carlo draws for Fisher's test.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random step.")
@click.option("--decimals", type=click.IntRange(min=0, max=6), default=1, show_default=True,
              help="Decimals of percentages, means, SDs, medians and quartiles.")
def command(manifest: str, by: str | None, schema_path: str | None, no_schema: bool, per: str,
            patient_column: str, categorical: tuple[str, ...], continuous: tuple[str, ...],
            ordinal: tuple[str, ...], exclude: tuple[str, ...], no_infer: bool,
            na_values: tuple[str, ...], max_levels: int, out: str | None, adjust: str,
            posthoc: str, smd: bool, yates: bool, trend: bool, parametric: str, exact: str,
            mc_draws: int, seed: int, decimals: int) -> None:
    """Write a Table 1 of MANIFEST by the classes of --by.

    With a schema (--schema, or schema.json beside MANIFEST) the variables are
    the schema's descriptors with their declared types (never image paths, ROI
    or mask columns), plus any column named with --categorical, --continuous or
    --ordinal, and the classes appear in the schema's declared order.

    Without a schema, variable types are inferred unless given: text, category and boolean
    columns are categorical; integer-valued numeric columns with at most 7
    distinct values are ordinal (binary ones categorical); other numeric
    columns are continuous. Id-like columns (patient_id), path-like columns
    (image_path, or cells holding file paths), ROI box and mask columns
    (bmode_roi, bmode_mask), empty columns, text columns with more than
    --max-levels levels and near-numeric text columns (numbers with a few cells
    such as 'unknown') are left out, with a warning for the last two. The
    skipped columns are listed on standard error, and the notes under the table
    say which type each column got and why.

    --per patient keeps the first node (manifest row) of each patient: patient
    descriptors (age, sex) are counted once per patient, node descriptors are
    those of that first node, and the patient's class is its first node's.

    Each variable gets the test chosen by the documented rules (chi-square or
    Fisher; t/Welch/ANOVA or Mann-Whitney/Kruskal-Wallis after Shapiro-Wilk;
    Kruskal-Wallis for ordinal), and p-values are adjusted across variables.
    """
    from lnfusion.cli.inputs import CommandInputs
    from lnfusion.exceptions import LnfusionError
    from lnfusion.formatting import count_noun
    from lnfusion.stats import table_one

    try:
        inputs = CommandInputs.of_command(out)
        inputs.add(manifest)
        df = read_table(manifest, na_values)
        explicit = {"categorical": list(categorical), "continuous": list(continuous),
                    "ordinal": list(ordinal)}
        named = [c for cols in explicit.values() for c in cols]
        unknown = [c for c in [*named, *exclude] if c not in df.columns]
        if unknown:
            raise click.UsageError(f"columns {unknown} are not in {manifest}; columns are "
                                   f"{list(df.columns)}")
        beside = Path(manifest).parent / "schema.json"
        if schema_path is None and not no_schema and beside.is_file():
            schema_path = str(beside)
        class_order = None
        patient = patient_column
        if schema_path is not None and not no_schema:
            inputs.add(schema_path)
            extra = [*named, by] if by is not None and by in df.columns else named
            df, label, declared, class_order, patient = _schema_frame(manifest, df, Path(schema_path),
                                                                      extra)
            if by is not None and by != label:
                class_order = None  # another grouping than the schema's classes
            by = by or label
            kinds = {k: [c for c in declared[k] if c not in named and c not in exclude and c != by]
                     + [c for c in explicit[k] if c not in exclude] for k in declared}
            infer = False
            chosen = {c for v in kinds.values() for c in v}
            click.echo(f"Schema {schema_path}: {len(chosen)} variable(s) "
                       f"({', '.join(c for c in df.columns if c in chosen)})"
                       + ("" if class_order is None else "; classes in the declared order: "
                          + ", ".join(map(str, class_order))), err=True)
        else:
            by = by or "label"
            if no_infer and not named:
                raise click.UsageError("--no-infer needs at least one --categorical, "
                                       "--continuous or --ordinal column")
            kinds = {k: [c for c in v if c not in exclude] for k, v in explicit.items()}
            infer = not no_infer
        if by not in df.columns:
            raise click.UsageError(f"--by column {by!r} is not in {manifest}; columns are "
                                   f"{list(df.columns)}")
        if per == "patient":
            df, dropped = _first_node_per_patient(df, patient, manifest)
            click.echo(f"Per patient: {len(df)} patient(s), the first node of each "
                       f"({dropped} further node(s) left out)", err=True)
            if class_order is not None:
                present = set(df[by].dropna())
                class_order = [c for c in class_order if c in present]
        skip = [c for c in [*exclude, patient] if c in df.columns and c != by]
        if schema_path is None or no_schema:
            skip = list(exclude)
        result = table_one(
            df, by, categorical=kinds["categorical"], continuous=kinds["continuous"],
            ordinal=kinds["ordinal"], infer=infer, exclude=skip, class_order=class_order,
            max_levels=max_levels, adjust=adjust, posthoc=None if posthoc == "off" else posthoc,
            yates=yates, trend=trend, parametric=parametric,
            exact={"auto": "auto", "exact": True, "monte-carlo": False}[exact],
            mc_draws=mc_draws, random_state=seed, decimals=decimals,
        )
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        types = result.types
        skipped = types[(types["type"] == "excluded") & (types["source"] == "inferred")]
        if len(skipped):
            click.echo("Skipped (not variables): " + "; ".join(
                f"{r.column} ({r.reason})" for r in skipped.itertuples()), err=True)
        if out is None:
            click.echo(result.to_markdown(smd=smd), nl=False)
            return
        path = result.save(out, smd=smd)
    except LnfusionError as exc:
        raise click.ClickException(str(exc)) from exc
    tested = int(result.tests["pval"].notna().sum())
    click.echo(f"wrote {path} ({count_noun(len(result.tests), 'variable')}, {tested} tested, "
               f"classes: {', '.join(result.classes)})")
