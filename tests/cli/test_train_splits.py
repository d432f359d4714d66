"""``lnfusion train`` with a predefined split (split column, test patient file), ``--threads``
and the log-friendly progress lines (CliRunner's output is not a terminal)."""
import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fusion"))
from fusion_standins import make_manifest  # noqa: E402

from lnfusion.cli import main  # noqa: E402

#: the published test patients of the fixture: every fourth patient
TEST_IDS = [f"P{p:03d}" for p in range(0, 60, 4)]


@pytest.fixture
def study(tmp_path):
    """A clinical-only manifest of 60 patients with a ``split`` column marking :data:`TEST_IDS`."""
    df, schema = make_manifest(60, seed=3, tab_signal=1.5)
    df = df.drop(columns=[c for c in df.columns if "_signal_" in c])
    for m in ("bmode", "cdfi"):
        df[m] = ""
    df["split"] = ["test" if p in TEST_IDS else "train" for p in df["patient_id"]]
    (tmp_path / "data").mkdir()
    df.to_csv(tmp_path / "data" / "manifest.csv", index=False)
    schema.save(tmp_path / "data" / "schema.json")
    return tmp_path


def _config(folder: Path, data: str = "", model: str = "") -> Path:
    text = ("output: run\ndata:\n  manifest: data/manifest.csv\n" + data
            + "model:\n  modalities: []\n  tabular: logistic\n  cv: 3\n" + model)
    path = folder / "train.yaml"
    path.write_text(text)
    return path


def _test_patients(run: Path) -> set[str]:
    split = pd.read_csv(run / "split.csv", dtype=str)
    assert split.groupby("patient_id")["split"].nunique().max() == 1
    return set(split.loc[split["split"] == "test", "patient_id"])


def test_split_column_in_the_config_holds_out_exactly_the_marked_patients(study):
    result = CliRunner().invoke(main, ["train", str(_config(study, "  split_column: split\n")),
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    assert _test_patients(study / "run") == set(TEST_IDS)
    assert "manifest column 'split'" in result.output
    saved = json.loads((study / "run" / "train_config.json").read_text())
    assert saved["data"]["split_column"] == "split"
    test = pd.read_csv(study / "run" / "test_manifest.csv", dtype=str)
    assert set(test["patient_id"]) == set(TEST_IDS)


@pytest.mark.parametrize("where", ["config", "option"])
def test_test_patient_file_from_the_config_or_the_command_line(study, where):
    ids = study / "data" / "test_ids.txt"
    ids.write_text("# published fold 1\n" + "\n".join(TEST_IDS) + "\n\n")
    if where == "config":
        args = [str(_config(study, "  test_patients: data/test_ids.txt\n"))]
    else:
        args = [str(_config(study, "  test_size: 0.5\n")), "--test-patients", str(ids)]
    result = CliRunner().invoke(main, ["train", *args, "--quiet"])
    assert result.exit_code == 0, result.output
    assert _test_patients(study / "run") == set(TEST_IDS)
    assert "test_ids.txt" in result.output
    # the record names what decided the test set, not the test_size it replaced
    recorded = json.loads((study / "run" / "train_config.json").read_text(encoding="utf-8"))["data"]
    assert recorded["test_size"] is None and recorded["test_patients"].endswith("test_ids.txt")


def test_test_size_zero_holds_out_nobody(study):
    result = CliRunner().invoke(main, ["train", str(_config(study, "  test_size: 0\n")), "--quiet"])
    assert result.exit_code == 0, result.output
    assert _test_patients(study / "run") == set()
    assert not (study / "run" / "test_manifest.csv").exists()


def test_unknown_patients_in_the_id_file_are_named(study):
    ids = study / "ids.txt"
    ids.write_text("P000\nP999\nQ1\n")
    result = CliRunner().invoke(main, ["train", str(_config(study)), "--test-patients", str(ids),
                                       "--quiet"])
    assert result.exit_code != 0
    assert "ids.txt: 2 patient id(s) not in the cohort: 'P999', 'Q1'" in result.output
    assert "Traceback" not in result.output and not (study / "run").exists()


def test_a_bad_split_value_names_the_row_column_and_value(study):
    df = pd.read_csv(study / "data" / "manifest.csv", dtype=str, keep_default_na=False)
    df.loc[5, "split"] = "validation"
    df.to_csv(study / "data" / "manifest.csv", index=False)
    result = CliRunner().invoke(main, ["train", str(_config(study)), "--split-column", "split",
                                       "--quiet"])
    assert result.exit_code != 0
    assert "row 7 (position 5), column 'split': 'validation'; expected one of ['train', 'test']" \
        in result.output


def test_a_patient_on_both_sides_is_refused(study):
    df = pd.read_csv(study / "data" / "manifest.csv", dtype=str, keep_default_na=False)
    twice = df["patient_id"].value_counts()
    patient = twice[twice > 1].index[0]
    rows = df.index[df["patient_id"] == patient]
    df.loc[rows[0], "split"], df.loc[rows[1], "split"] = "train", "test"
    df.to_csv(study / "data" / "manifest.csv", index=False)
    result = CliRunner().invoke(main, ["train", str(_config(study)), "--split-column", "split",
                                       "--quiet"])
    assert result.exit_code != 0
    assert f"patient {patient!r} has nodes on both sides" in result.output


def test_missing_split_column_and_conflicting_keys_are_refused(study):
    result = CliRunner().invoke(main, ["train", str(_config(study)), "--split-column", "fold",
                                       "--quiet"])
    assert result.exit_code != 0 and "no column 'fold'" in result.output
    path = _config(study, "  test_size: 0.2\n  split_column: split\n")
    result = CliRunner().invoke(main, ["train", str(path), "--quiet"])
    assert result.exit_code != 0
    assert "keys ['data.split_column', 'data.test_size'] each decide the test patients" \
        in result.output


def test_threads_option_reaches_the_saved_settings(study):
    result = CliRunner().invoke(main, ["train", str(_config(study)), "--threads", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    saved = json.loads((study / "run" / "train_config.json").read_text())
    assert saved["model"]["n_threads"] == 1
    result = CliRunner().invoke(main, ["train", str(_config(study, model="  n_threads: 0\n")),
                                       "--overwrite", "--quiet"])
    assert result.exit_code != 0 and "key 'model.n_threads'" in result.output


def test_progress_in_a_log_is_one_line_per_branch_fit_with_elapsed_and_remaining(study):
    """CliRunner's output is not a terminal: no bars, one timed line per fit; --quiet: none."""
    result = CliRunner().invoke(main, ["train", str(_config(study))])
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("branch fit ")]
    # cv 3 + the refit, one branch: four fits, numbered in order
    assert [ln.split(":")[0] for ln in lines] == [f"branch fit {k}/4" for k in range(1, 5)]
    assert re.fullmatch(r"branch fit 1/4: tabular, fold1; elapsed \d+:\d\d, remaining ~\d+:\d\d",
                        lines[0])
    assert lines[-1].endswith("remaining ~0:00")
    assert "\r" not in result.output  # no progress bar redraws in a log
    quiet = CliRunner().invoke(main, ["train", str(_config(study)), "--overwrite", "--quiet"])
    assert quiet.exit_code == 0 and "branch fit" not in quiet.output


def test_test_manifest_keeps_mask_paths_usable_from_anywhere(tmp_path):
    """``test_manifest.csv`` is read from the run folder: image and mask paths are absolute."""
    from lnfusion.cli.train_cmd import absolute_manifest
    from lnfusion.data import Cohort, CohortSchema, Modality
    from lnfusion.datasets import LESION_CLASSES, make_lesion_cohort

    manifest = make_lesion_cohort(tmp_path / "c", n_patients=8, image_size=32)
    schema = CohortSchema(classes=LESION_CLASSES, node="lesion_id", site="hospital",
                          modalities={"bmode": Modality(colour=False)})
    cohort = Cohort.from_manifest(manifest, schema=schema)
    table = absolute_manifest(cohort.subset([0, 1, 2]))
    for col in ("bmode", "bmode_mask"):
        assert all(Path(p).is_absolute() and Path(p).is_file() for p in table[col])
    (tmp_path / "elsewhere").mkdir()
    table.to_csv(tmp_path / "elsewhere" / "test.csv", index=False)
    again = Cohort.from_manifest(tmp_path / "elsewhere" / "test.csv", schema=schema)
    assert again.masks("bmode") == cohort.subset([0, 1, 2]).masks("bmode")
