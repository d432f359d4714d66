"""Project-wide test settings: offline, headless, small thread pools."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TIMM_FUSED_ATTN", "0")

import matplotlib  # noqa: E402

matplotlib.use("Agg", force=True)
