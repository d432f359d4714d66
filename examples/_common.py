"""Command-line options shared by the example scripts (``--preset``, ``--out``).

Not an example itself: every script imports :func:`parse_args` from here so the
options behave the same everywhere.  The preset defaults to the
``LNFUSION_PRESET`` environment variable, else ``small``.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

PRESETS = ("small", "default")

#: Training settings per preset.  "small": a tiny timm test network at 32 px for one epoch and
#: a single inner hold-out split (seconds per branch; numbers near chance); "default": resnet18
#: at 128 px, 15 epochs, 5-fold out-of-fold stacking (hours on a CPU, minutes on a GPU).
TRAINING = {
    "small": dict(backbone="test_resnet", image_size=32, epochs=1, cv="holdout", n_boot=100),
    "default": dict(backbone="resnet18", image_size=128, epochs=15, cv=5, n_boot=1000),
}


def parse_args(description: str, extra: dict | None = None) -> argparse.Namespace:
    """Parse ``--preset {small,default}`` and ``--out FOLDER`` (created).

    ``extra`` maps more option names to ``add_argument`` keyword arguments.
    ``args.training`` holds the preset's :data:`TRAINING` settings.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--preset", choices=PRESETS,
                        default=os.environ.get("LNFUSION_PRESET", "small"),
                        help="'small': seconds to minutes on a laptop CPU (CI); "
                             "'default': the full demo cohort (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("lnfusion_example_output"),
                        help="folder for everything the example writes (default: %(default)s)")
    for name, kwargs in (extra or {}).items():
        parser.add_argument(name, **kwargs)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.training = TRAINING[args.preset]
    return args


def image_params(args: argparse.Namespace) -> dict:
    """``image_params`` for :class:`lnfusion.fusion.LateFusionClassifier` from the preset."""
    return {"image_size": args.training["image_size"], "epochs": args.training["epochs"]}
