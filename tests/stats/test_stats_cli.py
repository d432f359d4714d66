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


# ----------------------------------------------------------------------------- schema-driven
@pytest.fixture(scope="module")
def lesion_folder(tmp_path_factory):
    """A two-class manifest with image, ROI and mask columns, and its schema.json."""
    from lnfusion.data import CohortSchema, Descriptor, Modality

    rng = np.random.default_rng(5)
    rows = []
    for p in range(40):
        label = "malignant" if p % 3 == 0 else "benign"
        for node in range(2 if p % 4 == 0 else 1):
            rows.append({
                "patient_id": f"P{p:02d}", "node_id": f"N{node}", "label": label,
                "age": round(float(rng.normal(50 + 8 * (label == "malignant"), 9)), 1),
                "margin": rng.choice(["smooth", "irregular"]),
                "birads": int(rng.integers(2, 6)),
                "comment": rng.choice(["seen twice", "ok", "follow-up"]),
                "bmode": f"img/{p}_{node}.png",
                "bmode_roi": f"{rng.integers(0, 9)},{rng.integers(0, 9)},120,90",
                "bmode_mask": f"masks/{p}_{node}.png",
            })
    folder = tmp_path_factory.mktemp("lesions")
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    schema = CohortSchema(classes=("malignant", "benign"), site=None, positive_class="malignant",
                          descriptors={"age": Descriptor("continuous"),
                                       "margin": Descriptor("categorical", levels=("smooth", "irregular")),
                                       "birads": Descriptor("ordinal", levels=(2, 3, 4, 5))},
                          modalities={"bmode": Modality()})
    (folder / "schema.json").write_text(schema.to_json(), encoding="utf-8")
    return folder, pd.DataFrame(rows)


def test_schema_beside_the_manifest_gives_the_variables_types_and_class_order(lesion_folder, tmp_path):
    folder, rows = lesion_folder
    out = tmp_path / "t1.csv"
    result = CliRunner().invoke(command, [str(folder / "manifest.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Schema " in result.output and "classes in the declared order: malignant, benign" in result.output
    table = pd.read_csv(out)
    assert list(dict.fromkeys(table["variable"])) == ["n", "age", "margin", "birads"]
    kinds = table.drop_duplicates("variable").set_index("variable")["type"]
    assert kinds["age"] == "continuous" and kinds["margin"] == "categorical"
    assert kinds["birads"] == "ordinal"
    # classes as the schema declares them, not alphabetically
    cols = list(table.columns)
    assert cols.index("malignant") < cols.index("benign")
    md = CliRunner().invoke(command, [str(folder / "manifest.csv")]).output
    assert md.index("malignant (n=") < md.index("benign (n=")
    for col in ("bmode", "bmode_roi", "bmode_mask", "comment", "node_id"):
        assert f"**{col}" not in md
    # a declared level order is kept (smooth before irregular)
    margin = table[table["variable"] == "margin"]["level"].tolist()
    assert margin == ["smooth", "irregular"]


def test_explicit_schema_option_and_extra_columns(lesion_folder, tmp_path):
    folder, rows = lesion_folder
    elsewhere = tmp_path / "m.csv"
    rows.to_csv(elsewhere, index=False)
    result = CliRunner().invoke(command, [str(elsewhere), "--schema", str(folder / "schema.json"),
                                          "--categorical", "comment"])
    assert result.exit_code == 0, result.output
    assert "**comment" in result.output and "**age" in result.output


def test_without_a_schema_paths_roi_and_masks_are_skipped_and_named(lesion_folder):
    folder, _ = lesion_folder
    result = CliRunner().invoke(command, [str(folder / "manifest.csv"), "--no-schema"])
    assert result.exit_code == 0, result.output
    out = result.output
    skipped = next(line for line in out.splitlines() if line.startswith("Skipped (not variables):"))
    for col in ("patient_id", "node_id", "bmode (",
                "bmode_roi (name looks like a region-of-interest box or mask column)", "bmode_mask"):
        assert col in skipped
    for col in ("bmode", "bmode_roi", "bmode_mask"):
        assert f"**{col}," not in out
    assert "**age," in out and "**comment," in out
    # without a schema the classes are sorted
    assert out.index("benign (n=") < out.index("malignant (n=")


def test_box_values_are_recognised_whatever_the_column_name():
    from lnfusion.stats.infer import infer_types

    df = pd.DataFrame({"lesion_region": ["1,2,30,40", "3,4,50,60;5,6,70,80", "", "0,0,10,10"] * 5,
                       "label": ["a", "b"] * 10})
    (ct,) = infer_types(df, by="label")
    assert ct.type == "excluded" and "region-of-interest boxes" in ct.reason


@pytest.mark.parametrize("schema_args", [[], ["--no-schema"]])
def test_per_patient_keeps_the_first_node_of_each_patient(lesion_folder, tmp_path, schema_args):
    folder, rows = lesion_folder
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(command, [str(folder / "manifest.csv"), "--per", "patient",
                                          "--out", str(out), *schema_args])
    assert result.exit_code == 0, result.output
    n_patients = rows["patient_id"].nunique()
    assert f"Per patient: {n_patients} patient(s)" in result.output
    assert f"({len(rows) - n_patients} further node(s) left out)" in result.output
    table = pd.read_csv(out)
    n_row = table[table["variable"] == "n"].iloc[0]
    first = rows.drop_duplicates("patient_id")
    assert str(int((first["label"] == "malignant").sum())) in str(n_row["malignant"])
    assert int(n_row["overall"]) == n_patients


def test_per_patient_needs_a_patient_column(manifest):
    result = CliRunner().invoke(command, [str(manifest / "m.csv"), "--per", "patient",
                                          "--patient-column", "subject"])
    assert result.exit_code != 0 and "no patient column 'subject'" in result.output


def test_schema_with_another_grouping_column(lesion_folder):
    folder, _ = lesion_folder
    result = CliRunner().invoke(command, [str(folder / "manifest.csv"), "--by", "margin"])
    assert result.exit_code == 0, result.output
    assert "irregular (n=" in result.output and "**margin," not in result.output
    assert "**age," in result.output
