"""Fixtures of the fault-injection suite: one tiny study and one small fitted model, built once.

Every test works on its own copy (:func:`workspace`): ``study/`` (a user's cohort
folder: manifest.csv, schema.json, images/, no lnfusion marker), ``model/`` (a
saved model, read-only input of predict/evaluate/explain) and ``train.yaml`` (a
tiny training config).  :meth:`Workspace.inputs_digest` hashes every input file,
so a test can assert the inputs are byte-identical after a fault.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

MARKER = ".lnfusion-output.json"   # lnfusion.io.OUTPUT_MARKER (a user's folder has none)

#: LateFusionClassifier settings of the suite: one tiny CNN branch + the clinical branch.
MODEL = {"modalities": ("bmode",), "backbone": "test_resnet",
         "image_params": {"image_size": 32, "epochs": 1}, "tabular": "logistic", "cv": "holdout",
         "random_state": 0}

TRAIN_YAML = """\
output: {output}
data: {{manifest: study/manifest.csv, test_size: 0.25, random_state: 0}}
model: {{modalities: [bmode], backbone: test_resnet, image_params: {{image_size: 32, epochs: 1}},
        tabular: logistic, cv: holdout, random_state: 0}}
"""


@pytest.fixture(scope="session")
def fault_study(tmp_path_factory) -> Path:
    """A simulated cohort (24 patients, 32 px) as a user would keep it: no lnfusion marker."""
    from lnfusion.datasets import make_demo_cohort

    root = tmp_path_factory.mktemp("faults") / "study"
    make_demo_cohort(root, n_patients=24, image_size=32, seed=3)
    (root / MARKER).unlink(missing_ok=True)
    return root


@pytest.fixture(scope="session")
def fault_model(fault_study, tmp_path_factory) -> Path:
    """A LateFusionClassifier (bmode CNN + logistic clinical branch) fitted on the study, saved."""
    import torch

    from lnfusion.data import Cohort
    from lnfusion.fusion import LateFusionClassifier

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = LateFusionClassifier(**MODEL, progress=False, n_threads=1)
        model.fit(Cohort.from_manifest(fault_study / "manifest.csv"))
    finally:
        torch.set_num_threads(threads)
    return model.save(tmp_path_factory.mktemp("faults_model") / "model")


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@dataclass
class Workspace:
    root: Path

    @property
    def study(self) -> Path:
        return self.root / "study"

    @property
    def manifest(self) -> Path:
        return self.study / "manifest.csv"

    @property
    def model(self) -> Path:
        return self.root / "model"

    def config(self, output: str = "run", folder: Path | None = None) -> Path:
        """Write the tiny training config (in ``folder``, default the workspace) and return it."""
        folder = self.root if folder is None else folder
        manifest = os.path.relpath(self.manifest, folder)
        path = folder / "train.yaml"
        path.write_text(TRAIN_YAML.format(output=output).replace("study/manifest.csv", manifest))
        return path

    def inputs_digest(self) -> dict[str, dict[str, str]]:
        """SHA-256 of every file of the study and of the model folder."""
        return {"study": _digest(self.study), "model": _digest(self.model)}

    def temporaries(self) -> list[Path]:
        """Hidden temporaries (``.*.tmp``) anywhere in the workspace."""
        return sorted(p for p in self.root.rglob(".*.tmp"))


@pytest.fixture
def workspace(tmp_path, fault_study, fault_model) -> Workspace:
    """A fresh copy of the study and the model in ``tmp_path``."""
    shutil.copytree(fault_study, tmp_path / "study")
    shutil.copytree(fault_model, tmp_path / "model")
    return Workspace(tmp_path)
