"""Pre-training ablation: an encoder pre-trained on a public dataset vs the same branch from scratch.

``--pretrain-data`` takes a MedMNIST ``.npz`` (e.g. BreastMNIST) or an ImageFolder-style
folder; without it an independent simulated cohort stands in (no network needed).  The
test patients' images are excluded from pre-training by digest, and checked.
Run: ``python examples/03_pretraining_ablation.py --pretrain-data breastmnist.npz``.
"""
from __future__ import annotations

from pathlib import Path

from _common import parse_args

from lnfusion.data import file_sha256, split_patients
from lnfusion.datasets import make_demo_cohort
from lnfusion.models import compare_pretraining, pretrain, read_pretrain_hashes

args = parse_args(__doc__.splitlines()[0], extra={
    "--pretrain-data": dict(type=Path, default=None,
                            help="MedMNIST .npz or ImageFolder folder (default: simulated stand-in)"),
    "--modality": dict(default="elasto", choices=("bmode", "cdfi", "elasto"))})
backbone = args.model_params["backbone"]
image_size, epochs = (args.model_params["image_params"][k] for k in ("image_size", "epochs"))
cohort = make_demo_cohort(args.out / "cohort", preset=args.preset, overwrite=True)
split = split_patients(cohort.y, cohort.groups, test_size=0.3, random_state=0)
train, test = cohort.subset(split.train), cohort.subset(split.test)

data, extra = args.pretrain_data, {}
if data is None:  # stand-in: other simulated patients (another seed), B-mode images
    data = make_demo_cohort(args.out / "standin", preset=args.preset, seed=12345, overwrite=True)
    extra = {"modality": "bmode"}
test_digests = {file_sha256(p) for m in test.modalities for paths in test.images(m) for p in paths}
checkpoint = pretrain(data, backbone=backbone, image_size=image_size,
                      epochs=epochs, out_dir=args.out / "pretrained",
                      exclude=test_digests, progress=False, overwrite=True, **extra)
seen = read_pretrain_hashes(checkpoint)
assert not seen & test_digests
print(f"pre-trained on {len(seen)} images ({data if args.pretrain_data else 'stand-in'}); "
      f"none of the {len(test_digests)} test images among them")

arms = compare_pretraining(train, test, args.modality, pretrained=checkpoint,
                           backbone=backbone, image_size=image_size,
                           epochs=epochs, progress=False, random_state=0)
arms.to_csv(args.out / "ablation.csv", index=False)
print(arms[["init", "auc", "auc_ci_low", "auc_ci_high", "accuracy", "fit_seconds"]]
      .round(3).to_string(index=False))
