"""What ``lnfusion stats`` computes is what it prints.

Regression tests: post-hoc comparisons and SMDs were computed but never
rendered; a 0/1 flag with a missing value printed levels ``0.0``/``1.0``;
Missing cells were blank in Markdown/LaTeX but 0 in CSV; ``--help`` showed raw
double backticks and ``--decimals`` had no help; "across 1 tested variables".
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lnfusion.cli.stats_cmd import command


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    rng = np.random.default_rng(3)
    n = 90
    df = pd.DataFrame({
        "label": np.repeat(["benign", "lymphoma", "metastatic"], n // 3),
        "size_mm": np.r_[rng.normal(8, 2, 30), rng.normal(14, 2, 30), rng.normal(15, 2, 30)],
        "shape": rng.choice(["oval", "round"], n),
        "flag": rng.integers(0, 2, n).astype(float),
    })
    df.loc[5, "flag"] = np.nan
    path = tmp_path_factory.mktemp("render") / "m.csv"
    df.to_csv(path, index=False)
    return path


def run(*args):
    return CliRunner().invoke(command, [str(a) for a in args])


def test_posthoc_is_rendered_and_its_method_matters(manifest):
    holm = run(manifest, "--posthoc", "holm")
    none = run(manifest, "--posthoc", "none")
    off = run(manifest, "--posthoc", "off")
    assert holm.exit_code == none.exit_code == off.exit_code == 0, holm.output
    assert holm.output != none.output
    assert "Pairwise comparisons between classes (p, Holm-adjusted within each variable)" in holm.output
    assert "(p, unadjusted)" in none.output
    assert "| Variable | Test | benign vs lymphoma | benign vs metastatic | lymphoma vs metastatic |" \
        in holm.output
    assert "Pairwise comparisons" not in off.output
    size = next(ln for ln in holm.output.splitlines() if ln.startswith("| size_mm |"))
    assert "<0.001" in size  # benign vs lymphoma is far apart


@pytest.mark.parametrize("ext", [".md", ".html", ".tex", ".csv"])
def test_posthoc_and_smd_reach_every_format(manifest, tmp_path, ext):
    out = tmp_path / f"t{ext}"
    r = run(manifest, "--smd", "-o", out)
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    if ext == ".csv":
        t = pd.read_csv(out)
        assert {"smd", "pval_adj benign vs lymphoma", "pval_adj lymphoma vs metastatic"} <= set(t.columns)
        assert t.loc[t.variable == "size_mm", "smd"].iloc[0] > 1
    else:
        assert "benign vs lymphoma" in text and "SMD" in text


def test_smd_column_only_when_asked(manifest):
    plain = run(manifest)
    smd = run(manifest, "--smd")
    header = smd.output.splitlines()[0]
    assert header.endswith("| SMD |") and "SMD" not in plain.output.splitlines()[0]
    size = next(ln for ln in smd.output.splitlines() if ln.startswith("| **size_mm"))
    assert float(size.rstrip(" |").rsplit("|", 1)[1]) > 1


def test_flag_with_missing_value_prints_integer_levels(manifest):
    r = run(manifest)
    levels = [ln.split("|")[1].replace("&nbsp;", "").strip() for ln in r.output.splitlines()
              if ln.startswith("| &nbsp;")]
    assert "0" in levels and "1" in levels
    assert "0.0" not in levels and "1.0" not in levels


def test_missing_is_the_same_number_in_markdown_and_csv(manifest, tmp_path):
    md = run(manifest).output
    rows = {ln.split("|")[1].strip(" *"): ln.split("|") for ln in md.splitlines()
            if ln.startswith("| **")}
    header = md.splitlines()[0].split("|")
    col = [c.strip() for c in header].index("Missing")
    assert rows["shape, n (%)"][col].strip() == "0"
    assert rows["flag, n (%)"][col].strip() == "1"
    out = tmp_path / "t.csv"
    assert run(manifest, "-o", out).exit_code == 0
    t = pd.read_csv(out)
    assert t.loc[t.variable == "shape", "missing"].iloc[0] == 0
    assert t.loc[t.variable == "flag", "missing"].iloc[0] == 1


def test_help_is_plain_text_with_help_for_every_option():
    r = run("--help")
    assert r.exit_code == 0
    assert "``" not in r.output
    options = [p for p in command.params if p.param_type_name == "option"]
    assert all(p.help for p in options), [p.name for p in options if not p.help]
    assert re.search(r"--decimals INTEGER RANGE\s+Decimals", r.output)


def test_counts_are_pluralised(tmp_path):
    df = pd.DataFrame({"label": ["a", "b"] * 10, "shape": ["oval", "round", "round", "oval"] * 5})
    path = tmp_path / "one.csv"
    df.to_csv(path, index=False)
    md = run(path).output
    assert "across 1 tested variable." in md and "variables" not in md.split("Benjamini")[1][:60]
    r = run(path, "-o", tmp_path / "t.md")
    assert "(1 variable, 1 tested" in r.output
