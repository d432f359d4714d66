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


@click.command(name="stats")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", default="label", show_default=True, help="Grouping column (the classes).")
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
def command(manifest: str, by: str, categorical: tuple[str, ...], continuous: tuple[str, ...],
            ordinal: tuple[str, ...], exclude: tuple[str, ...], no_infer: bool,
            na_values: tuple[str, ...], max_levels: int, out: str | None, adjust: str,
            posthoc: str, smd: bool, yates: bool, trend: bool, parametric: str, exact: str,
            mc_draws: int, seed: int, decimals: int) -> None:
    """Write a Table 1 of MANIFEST by the classes of --by.

    Variable types are inferred unless given: text, category and boolean
    columns are categorical; integer-valued numeric columns with at most 7
    distinct values are ordinal (binary ones categorical); other numeric
    columns are continuous. Id-like columns (patient_id), path-like columns
    (image_path), empty columns, text columns with more than --max-levels
    levels and near-numeric text columns (numbers with a few cells such as
    'unknown') are left out, with a warning for the last two. The notes under
    the table say which type each column got and why.

    Each variable gets the test chosen by the documented rules (chi-square or
    Fisher; t/Welch/ANOVA or Mann-Whitney/Kruskal-Wallis after Shapiro-Wilk;
    Kruskal-Wallis for ordinal), and p-values are adjusted across variables.
    """
    from lnfusion.cli.inputs import CommandInputs
    from lnfusion.exceptions import LnfusionError
    from lnfusion.formatting import count_noun
    from lnfusion.stats import table_one

    try:
        CommandInputs.of_command(out).add(manifest)
        df = read_table(manifest, na_values)
        if by not in df.columns:
            raise click.UsageError(f"--by column {by!r} is not in {manifest}; columns are "
                                   f"{list(df.columns)}")
        explicit = {"categorical": list(categorical), "continuous": list(continuous),
                    "ordinal": list(ordinal)}
        named = [c for cols in explicit.values() for c in cols]
        unknown = [c for c in [*named, *exclude] if c not in df.columns]
        if unknown:
            raise click.UsageError(f"columns {unknown} are not in {manifest}; columns are "
                                   f"{list(df.columns)}")
        if no_infer and not named:
            raise click.UsageError("--no-infer needs at least one --categorical, "
                                   "--continuous or --ordinal column")
        kinds = {k: [c for c in v if c not in exclude] for k, v in explicit.items()}
        result = table_one(
            df, by, categorical=kinds["categorical"], continuous=kinds["continuous"],
            ordinal=kinds["ordinal"], infer=not no_infer, exclude=list(exclude),
            max_levels=max_levels, adjust=adjust, posthoc=None if posthoc == "off" else posthoc,
            yates=yates, trend=trend, parametric=parametric,
            exact={"auto": "auto", "exact": True, "monte-carlo": False}[exact],
            mc_draws=mc_draws, random_state=seed, decimals=decimals,
        )
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        if out is None:
            click.echo(result.to_markdown(smd=smd), nl=False)
            return
        path = result.save(out, smd=smd)
    except LnfusionError as exc:
        raise click.ClickException(str(exc)) from exc
    tested = int(result.tests["pval"].notna().sum())
    click.echo(f"wrote {path} ({count_noun(len(result.tests), 'variable')}, {tested} tested, "
               f"classes: {', '.join(result.classes)})")
