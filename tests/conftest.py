"""Project-wide test settings: offline, headless, small thread pools."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TIMM_FUSED_ATTN", "0")

import matplotlib  # noqa: E402
import pytest  # noqa: E402

matplotlib.use("Agg", force=True)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module of tiny-network tests: they gain little from a second
    thread, and threads spin badly on a busy machine.  Restores the previous count."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
