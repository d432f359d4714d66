"""Device, numeric precision and threads: where a network runs, whether it autocasts to bf16,
and how many CPU threads a fit may use."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from lnfusion.exceptions import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["resolve_device", "resolve_precision", "autocast", "available_cores", "parallel_workers",
           "default_threads", "resolve_threads", "check_threads", "torch_threads"]


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when present, else CPU; anything else is passed to ``torch.device``."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device={device!r} is not a torch device ('auto', 'cpu', 'cuda', ...)") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} requested but CUDA is not available")
    return dev


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype: bf16 where the hardware runs it natively, else ``None`` (fp32).

    ``"auto"``: bf16 on CUDA GPUs that support it and on CPUs with native bf16
    instructions (AVX512-BF16 / AMX), fp32 otherwise.  ``"bf16"`` forces it,
    ``"fp32"`` disables it.
    """
    import torch

    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision != "auto":
        raise ConfigError(f"precision must be 'auto', 'bf16' or 'fp32', got {precision!r}")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type == "cpu":
        try:
            return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else None
        except (AttributeError, RuntimeError):  # pragma: no cover - very old torch
            return None
    return None


def autocast(device: torch.device, dtype: torch.dtype | None):
    """``torch.autocast`` to ``dtype`` on ``device``, or a no-op context when ``dtype`` is None."""
    import contextlib

    import torch

    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


# --------------------------------------------------------------------------------------
# threads
# --------------------------------------------------------------------------------------
def available_cores() -> int:
    """CPU cores this process may run on.

    The process's CPU affinity (``os.sched_getaffinity``: what ``taskset``, a
    container's cpuset or a batch scheduler grants), not the machine's core
    count; ``os.cpu_count()`` where affinity is not available.  An
    ``OMP_NUM_THREADS`` environment variable set to a positive integer caps it
    (the usual way to tell a numerical library how many threads it may use).
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - macOS, Windows
        cores = os.cpu_count() or 1
    cap = os.environ.get("OMP_NUM_THREADS", "").strip()
    if cap.isdigit() and int(cap) > 0:
        cores = min(cores, int(cap))
    return max(1, cores)


def parallel_workers(n_jobs: int | None, cores: int | None = None) -> int:
    """Number of worker processes joblib's ``n_jobs`` means on ``cores`` cores.

    ``None`` and ``1``: one; a positive integer: itself; ``-1``: every core;
    ``-k``: ``cores + 1 - k`` (joblib's convention), at least one.
    """
    cores = available_cores() if cores is None else cores
    if n_jobs is None:
        return 1
    n_jobs = int(n_jobs)
    if n_jobs > 0:
        return n_jobs
    return max(1, cores + 1 + n_jobs)


def default_threads(n_jobs: int | None = 1) -> int:
    """Threads per worker when ``n_jobs`` workers share the cores: :func:`available_cores` // workers.

    Never below one, so ``n_jobs`` workers of this many threads each never ask
    for more threads than there are cores (unless there are more workers than
    cores, when each gets one).
    """
    cores = available_cores()
    return max(1, cores // parallel_workers(n_jobs, cores))


def check_threads(n_threads: Any, owner: str) -> None:
    """Raise :class:`~lnfusion.exceptions.ParameterError` unless ``n_threads`` is None or an integer >= 1."""
    import numbers

    from lnfusion.exceptions import ParameterError

    if n_threads is not None and (isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral)
                                  or n_threads < 1):
        raise ParameterError("n_threads", n_threads, "None (the cores available to the process, "
                             "shared between parallel workers) or an integer >= 1", owner)


def resolve_threads(n_threads: int | None, n_jobs: int | None = 1) -> int:
    """``n_threads`` itself, or :func:`default_threads` of ``n_jobs`` when it is None."""
    return default_threads(n_jobs) if n_threads is None else int(n_threads)


@contextlib.contextmanager
def torch_threads(n_threads: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n_threads)``; the previous count is restored."""
    import torch

    before = torch.get_num_threads()
    if n_threads != before:
        torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
