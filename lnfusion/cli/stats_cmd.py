"""``lnfusion stats``: write a clinical Table 1 for a manifest (CSV, TSV or Parquet)."""
from __future__ import annotations

from pathlib import Path

import click

__all__ = ["command", "read_table"]

_ADJUST = ["fdr_bh", "bh", "holm", "bonferroni", "hochberg", "hommel", "fdr_by", "by", "none"]


def read_table(path: str | Path):
    """Read a CSV (``.csv``), TSV (``.tsv``/``.tab``/``.txt``) or Parquet (``.parquet``/``.pq``) file."""
    import pandas as pd

    from lnfusion.exceptions import DataError

    p = Path(path)
    ext = p.suffix.lower()
    try:
        if ext == ".csv":
            return pd.read_csv(p)
        if ext in (".tsv", ".tab", ".txt"):
            return pd.read_csv(p, sep="\t")
        if ext in (".parquet", ".pq"):
            return pd.read_parquet(p)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {str(p)!r}: {exc}") from exc
    raise DataError(f"cannot tell the format of {str(p)!r}: expected .csv, .tsv or .parquet")


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
@click.option("--out", "-o", "out", type=click.Path(dir_okay=False),
              help="Output file; format from the extension: .md .tex .html .csv "
                   "(default: Markdown on standard output).")
@click.option("--adjust", type=click.Choice(_ADJUST), default="fdr_bh", show_default=True,
              help="P-value adjustment across variables.")
@click.option("--posthoc", type=click.Choice(_ADJUST), default="holm", show_default=True,
              help="Adjustment of pairwise post-hoc p-values within each variable.")
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
@click.option("--decimals", type=click.IntRange(min=0, max=6), default=1, show_default=True)
def command(manifest: str, by: str, categorical: tuple[str, ...], continuous: tuple[str, ...],
            ordinal: tuple[str, ...], exclude: tuple[str, ...], no_infer: bool, out: str | None,
            adjust: str, posthoc: str, yates: bool, trend: bool, parametric: str, exact: str,
            mc_draws: int, seed: int, decimals: int) -> None:
    """Write a Table 1 of MANIFEST by the classes of --by.

    Variable types are inferred unless given: text, category and boolean
    columns are categorical; integer-valued numeric columns with at most 7
    distinct values are ordinal (binary ones categorical); other numeric
    columns are continuous; id-like (``patient_id``) and path-like
    (``image_path``) columns are left out.  Each variable gets the test chosen
    by the documented rules (chi-square or Fisher; t/Welch/ANOVA or
    Mann-Whitney/Kruskal-Wallis after Shapiro-Wilk; Kruskal-Wallis for
    ordinal), and p-values are adjusted across variables.
    """
    from lnfusion.cli.inputs import CommandInputs
    from lnfusion.exceptions import LnfusionError
    from lnfusion.stats import infer_variable_types, table_one

    try:
        CommandInputs.of_command(out).add(manifest)
        df = read_table(manifest)
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
        if no_infer:
            if not named:
                raise click.UsageError("--no-infer needs at least one --categorical, "
                                       "--continuous or --ordinal column")
            kinds = explicit
        else:
            inferred = infer_variable_types(df, by=by, exclude=[*exclude, *named])
            kinds = {k: inferred[k] + explicit[k] for k in explicit}
        kinds = {k: [c for c in v if c not in exclude] for k, v in kinds.items()}
        result = table_one(
            df, by, categorical=kinds["categorical"], continuous=kinds["continuous"],
            ordinal=kinds["ordinal"], adjust=adjust, posthoc=posthoc, yates=yates, trend=trend,
            parametric=parametric, exact={"auto": "auto", "exact": True, "monte-carlo": False}[exact],
            mc_draws=mc_draws, random_state=seed, decimals=decimals,
        )
        if out is None:
            click.echo(result.to_markdown(), nl=False)
            return
        path = result.save(out)
    except LnfusionError as exc:
        raise click.ClickException(str(exc)) from exc
    tested = int(result.tests["pval"].notna().sum())
    click.echo(f"wrote {path} ({len(result.tests)} variables, {tested} tested, "
               f"classes: {', '.join(result.classes)})")
