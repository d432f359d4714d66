"""Command-line options shared by the example scripts (``--preset``, ``--out``).

Not an example itself: every script imports :func:`parse_args` from here so the
options behave the same everywhere.  The preset defaults to the
``LNFUSION_PRESET`` environment variable, else ``small``; its cohort size and
training settings come from :data:`lnfusion.datasets.PRESETS`, the table
``lnfusion demo`` and the notebooks use too.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from lnfusion.datasets import PRESETS, preset_settings


def parse_args(description: str, extra: dict | None = None) -> argparse.Namespace:
    """Parse ``--preset {small,default}`` and ``--out FOLDER`` (created).

    ``extra`` maps more option names to ``add_argument`` keyword arguments.
    ``args.model_params`` holds the preset's
    :class:`~lnfusion.fusion.LateFusionClassifier` parameters and ``args.n_boot``
    its number of bootstrap resamples.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--preset", choices=sorted(PRESETS),
                        default=os.environ.get("LNFUSION_PRESET", "small"),
                        help="'small': seconds to minutes on a laptop CPU (CI); "
                             "'default': the full demo cohort (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("lnfusion_example_output"),
                        help="folder for everything the example writes (default: %(default)s)")
    for name, kwargs in (extra or {}).items():
        parser.add_argument(name, **kwargs)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    settings = preset_settings(args.preset)
    args.model_params = settings["model"]
    args.n_boot = settings["n_boot"]
    return args
