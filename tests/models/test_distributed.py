"""Multi-process training of one image branch (``distributed=True`` under torchrun), on CPU with gloo.

Two processes sharing each batch of ``batch_size`` images must train the same
network as one process with that batch: the same shuffling and augmentation
on every process, each process's loss scaled by its share, gradients averaged.
The backbone has no BatchNorm (on CPU each process would normalise its own
share), so the two runs agree to float tolerance.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from lnfusion.models import ImageBranchClassifier  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PARAMS = dict(backbone="test_efficientnet_gn", image_size=32, epochs=2, batch_size=8, val_size=0.0,
              class_weight=None, augment=True, precision="fp32", channels_last=False,
              device="cpu", progress=False, random_state=3)

SCRIPT = textwrap.dedent('''
    import sys
    import numpy as np
    import torch
    import torch.distributed as dist
    from lnfusion.data import Cohort
    from lnfusion.models import ImageBranchClassifier

    torch.set_num_threads(1)
    manifest, out, params = sys.argv[1], sys.argv[2], eval(sys.argv[3])
    clf = ImageBranchClassifier("bmode", distributed=True, **params).fit(Cohort.from_manifest(manifest))
    if dist.get_rank() == 0:
        np.savez(out, **{k: v.numpy() for k, v in clf.model_.state_dict().items()},
                 __loss=clf.history_["train_loss"].to_numpy())
    dist.destroy_process_group()
''')


def test_two_gloo_processes_train_as_one_process_with_the_same_batch(demo_small, tmp_path, one_torch_thread):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    out = tmp_path / "ddp.npz"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(script), str(demo_small.root / "manifest.csv"), str(out), repr(PARAMS)]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]

    single = ImageBranchClassifier("bmode", distributed=True, **PARAMS).fit(demo_small)  # one process
    ddp = np.load(out)
    state = single.model_.state_dict()
    assert set(state) == {k for k in ddp.files if k != "__loss"}
    for name, value in state.items():
        np.testing.assert_allclose(ddp[name], value.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(ddp["__loss"], single.history_["train_loss"].to_numpy(), rtol=1e-5)
    # the runs really trained: the weights moved away from their initialisation
    fresh = ImageBranchClassifier("bmode", **PARAMS)._build_model(len(single.classes_), 1, None)
    moved = [not np.allclose(fresh.state_dict()[k].numpy(), v.numpy()) for k, v in state.items()
             if v.dtype.is_floating_point]
    assert sum(moved) > len(moved) // 2
