"""Progress output: bars on a terminal, timed lines in a log, nothing when turned off."""
from __future__ import annotations

import io
import re

import pytest

from lnfusion.progress import ProgressLog, format_duration, progress_iter, progress_mode

LINE = r"{desc} {k}/{n}(: .*)?; elapsed \d+:\d\d, remaining ~(\d+:\d\d|\?)"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("seconds, shown", [(0, "0:00"), (7.4, "0:07"), (750, "12:30"),
                                            (3723, "1:02:03"), (float("nan"), "?")])
def test_format_duration(seconds, shown):
    assert format_duration(seconds) == shown


def test_mode_is_bars_on_a_terminal_lines_elsewhere_and_off_when_disabled():
    assert progress_mode(True, FakeTerminal()) == "bar"
    assert progress_mode(True, io.StringIO()) == "lines"
    assert progress_mode(False, FakeTerminal()) == "off"


def test_lines_mode_writes_one_timed_line_per_item_after_it_is_done():
    out = io.StringIO()
    done = []
    for item in progress_iter(["a", "b", "c"], "branch fit", True, describe=str.upper, stream=out):
        done.append(item)
        assert out.getvalue().count("\n") == len(done) - 1  # the line follows the work
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    for k, line in enumerate(lines, 1):
        assert re.fullmatch(LINE.format(desc="branch fit", k=k, n=3), line), line
    assert lines[1].startswith("branch fit 2/3: B;")
    assert lines[-1].endswith("remaining ~0:00")


def test_bar_and_off_modes_write_no_lines():
    quiet = io.StringIO()
    assert list(progress_iter(range(3), "x", False, stream=quiet)) == [0, 1, 2]
    assert quiet.getvalue() == ""
    term = FakeTerminal()
    assert list(progress_iter(range(3), "x", True, stream=term)) == [0, 1, 2]
    drawn = term.getvalue()
    assert "\r" in drawn and "x:" in drawn and "remaining ~" not in drawn  # a tqdm bar, no lines


def test_remaining_time_counts_only_the_steps_run_here():
    log = ProgressLog(10, "epoch", start=4)
    assert "remaining ~?" in log.line(4)       # nothing run yet: no estimate
    assert log.line(5, "loss 0.1").startswith("epoch 5/10: loss 0.1; elapsed ")


def test_image_branch_writes_one_timed_line_per_epoch_to_a_log(tmp_path, capsys, one_torch_thread):
    """pytest's captured stderr is not a terminal: epoch lines, no bars."""
    pytest.importorskip("timm")
    import numpy as np
    import pandas as pd
    from PIL import Image

    from lnfusion.data import Cohort, CohortSchema, Modality
    from lnfusion.models import ImageBranchClassifier

    rng = np.random.default_rng(0)
    rows = []
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (24, 24), dtype=np.uint8)).save(tmp_path / f"{i}.png")
        rows.append({"patient_id": f"p{i}", "label": "ab"[i % 2], "bmode": f"{i}.png"})
    schema = CohortSchema(classes=("a", "b"), node=None, site=None,
                          modalities={"bmode": Modality(colour=False)})
    cohort = Cohort.from_manifest(pd.DataFrame(rows), schema, root=tmp_path)
    ImageBranchClassifier("bmode", backbone="test_resnet", image_size=16, epochs=2, batch_size=8,
                          val_size=0.0, augment=False, progress=True).fit(cohort)
    err = capsys.readouterr().err
    epochs = [ln for ln in err.splitlines() if ln.startswith("bmode epoch ")]
    assert len(epochs) == 2, err
    for k, line in enumerate(epochs, 1):
        assert re.fullmatch(LINE.format(desc="bmode epoch", k=k, n=2), line), line
        assert "train_loss" in line
    assert "\r" not in err  # no bars in a log
