"""``lnfusion stats`` (tested on the click command directly) and import hygiene."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lnfusion.cli.stats_cmd import command


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    rng = np.random.default_rng(2)
    n = 90
    label = np.repeat(["metastatic", "lymphoma", "benign"], n // 3)
    df = pd.DataFrame({
        "patient_id": [f"P{i}" for i in range(n)],
        "label": label,
        "age": rng.normal(50, 10, n).round(1),
        "shape": rng.choice(["oval", "round"], n),
        "grade": rng.integers(1, 5, n),
        "us_image_path": [f"img/{i}.png" for i in range(n)],
    })
    folder = tmp_path_factory.mktemp("manifest")
    df.to_csv(folder / "m.csv", index=False)
    df.to_parquet(folder / "m.parquet")
    df.to_csv(folder / "m.tsv", sep="\t", index=False)
    return folder


@pytest.mark.parametrize("src", ["m.csv", "m.parquet", "m.tsv"])
def test_markdown_to_stdout(manifest, src):
    result = CliRunner().invoke(command, [str(manifest / src), "--by", "label"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "| Variable |" in out and "benign (n=30)" in out
    for var in ("age", "shape", "grade"):
        assert f"**{var}," in out
    assert "**patient_id" not in out and "**us_image_path" not in out
    assert "Left out: patient_id (name looks like an identifier)" in out


@pytest.mark.parametrize("ext,marker", [(".md", "| Variable"), (".tex", "\\toprule"),
                                        (".html", "<table"), (".csv", "variable,type,level")])
def test_out_formats(manifest, tmp_path, ext, marker):
    out = tmp_path / f"table1{ext}"
    result = CliRunner().invoke(command, [str(manifest / "m.csv"), "--out", str(out),
                                          "--adjust", "holm"])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and "3 variables" in result.output
    assert marker in out.read_text(encoding="utf-8")


def test_explicit_types_and_no_infer(manifest, tmp_path):
    out = tmp_path / "t.csv"
    result = CliRunner().invoke(command, [str(manifest / "m.csv"), "--no-infer",
                                          "--categorical", "grade", "-o", str(out)])
    assert result.exit_code == 0, result.output
    t = pd.read_csv(out)
    assert set(t["variable"]) == {"n", "grade"}
    assert t.loc[t.variable == "grade", "type"].iloc[0] == "categorical"
    result = CliRunner().invoke(command, [str(manifest / "m.csv"), "--continuous", "grade",
                                          "--exclude", "age", "-o", str(out)])
    assert result.exit_code == 0, result.output
    t = pd.read_csv(out)
    assert set(t["variable"]) == {"n", "shape", "grade"}
    assert t.loc[t.variable == "grade", "type"].iloc[0] == "continuous"


def test_usage_errors(manifest, tmp_path):
    r = CliRunner().invoke(command, [str(manifest / "m.csv"), "--by", "klass"])
    assert r.exit_code != 0 and "'klass'" in r.output
    r = CliRunner().invoke(command, [str(manifest / "m.csv"), "--ordinal", "nope"])
    assert r.exit_code != 0 and "nope" in r.output
    r = CliRunner().invoke(command, [str(manifest / "m.csv"), "-o", str(tmp_path / "t.docx")])
    assert r.exit_code != 0 and ".docx" in r.output
    r = CliRunner().invoke(command, [str(manifest / "m.csv"), "--continuous", "shape"])
    assert r.exit_code != 0 and "'shape' must be numeric" in r.output


def test_stats_imports_without_torch_or_other_subpackages():
    code = (
        "import sys; import lnfusion.stats as s; "
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.') or "
        "(m.startswith('lnfusion.') and not m.startswith('lnfusion.stats') "
        "and m not in ('lnfusion._version', 'lnfusion.exceptions', 'lnfusion.io', 'lnfusion.lazy', "
        "'lnfusion.formatting'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
