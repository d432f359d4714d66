"""Where the fits of a fit plan run: in order, in local processes, or on a Ray cluster.

A fused model is K folds x M branches + M refits of independent fits
(:func:`lnfusion.fusion.oof.cross_fit`).  :func:`run_tasks` runs such a list of
tasks with one of three executors and returns the results in task order, so
the caller's bookkeeping (which fold predicted which patient) does not depend
on where a fit ran:

``"sequential"``
    One after the other in this process (the default with ``n_jobs=1``).
``"processes"``
    Local worker processes (joblib), ``n_jobs`` at a time (the default with
    ``n_jobs`` other than 1).
``"ray"``
    One Ray task per fit, on an existing cluster (``address``) or on a local
    one started on first use.  The objects every task reads (the cohort table,
    the labels) are put in Ray's object store once; the images are read by the
    workers from their paths or from the image cache
    (:mod:`lnfusion.data.image_cache`), so they must be on storage every
    worker sees.  Image fits declare ``num_gpus`` (tabular fits never do).

The executor is named by a string, or by a dict (also the YAML form) with a
``kind`` key and the options of :class:`ExecutorSpec`::

    executor: {kind: ray, address: auto, num_cpus: 4, num_gpus: 1, max_retries: 2}

Every executor gives the same results for the same inputs and seeds: the
tasks are independent and each seeds itself; on CPU the results are bit for
bit equal when the fits run with the same number of threads.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from lnfusion.exceptions import FitTaskError, NotAvailableError, ParameterError

__all__ = ["EXECUTORS", "ExecutorSpec", "resolve_executor", "run_tasks", "RETRIED_ERRORS"]

#: Executor kinds.
EXECUTORS = ("sequential", "processes", "ray")

#: Exceptions after which a Ray task is tried again (transient: I/O on shared
#: storage, a GPU out of memory, a lost connection); a worker that dies is
#: always retried.  Other errors (bad data, bad settings) fail at once.
RETRIED_ERRORS: tuple[type[BaseException], ...] = (OSError, RuntimeError, MemoryError)


@dataclass(frozen=True)
class ExecutorSpec:
    """An executor and its options (see the module docstring).

    Parameters
    ----------
    kind : {"sequential", "processes", "ray"}
    address : str, optional
        Ray only: the cluster to join (``"auto"``, ``"ray://host:10001"``, or
        ``host:port``); default ``$RAY_ADDRESS`` when set, else a local cluster
        started in this process (kept for later fits; ``ray.shutdown()`` stops it).
    num_workers : int, optional
        Ray only, local cluster: CPUs it offers (default: all cores).
    num_cpus : float, default 1
        Ray only: CPUs each fit reserves (its torch / XGBoost threads).
    num_gpus : float, default 0
        Ray only: GPUs each image fit reserves (fractions share a GPU);
        tabular fits reserve none.
    max_retries : int, default 2
        Ray only: times a fit is tried again after its worker died or it raised
        one of :data:`RETRIED_ERRORS`.
    """

    kind: str = "sequential"
    address: str | None = None
    num_workers: int | None = None
    num_cpus: float = 1
    num_gpus: float = 0
    max_retries: int = 2

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise ParameterError("executor", self.kind, f"one of {list(EXECUTORS)}")
        for name in ("num_cpus", "num_gpus"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ParameterError(f"executor.{name}", v, "a number >= 0")
        for name, low in (("max_retries", 0), ("num_workers", 1)):
            v = getattr(self, name)
            if name == "num_workers" and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ParameterError(f"executor.{name}", v, f"an integer >= {low}")
        if self.address is not None and not isinstance(self.address, str):
            raise ParameterError("executor.address", self.address, "None or a Ray address string")


def resolve_executor(executor: Any, n_jobs: int | None = 1) -> ExecutorSpec:
    """The :class:`ExecutorSpec` of an ``executor`` parameter (a kind, a dict or a spec).

    None (the estimators' default) means ``"sequential"``, or ``"processes"``
    when ``n_jobs`` asks for parallel fits.

    Raises
    ------
    ParameterError
        Unknown kind or option.
    """
    if executor is None:
        return ExecutorSpec(kind="sequential" if n_jobs in (None, 1) else "processes")
    if isinstance(executor, ExecutorSpec):
        return executor
    if isinstance(executor, str):
        return ExecutorSpec(kind=executor)
    if isinstance(executor, Mapping):
        known = {f.name for f in fields(ExecutorSpec)}
        unknown = sorted(set(map(str, executor)) - known)
        if unknown:
            raise ParameterError("executor", dict(executor), f"options among {sorted(known)}; "
                                 f"{unknown} are not")
        return ExecutorSpec(**{str(k): v for k, v in executor.items()})
    raise ParameterError("executor", executor, f"one of {list(EXECUTORS)} or a dict with 'kind' "
                         "and Ray options")


def _import_ray():
    try:
        import ray
    except ImportError as exc:
        raise NotAvailableError("executor='ray' needs Ray, which is not installed; install it with "
                                "`pip install lnfusion[ray]` (or `pip install ray`)") from exc
    return ray


def _ray_init(ray: Any, spec: ExecutorSpec) -> None:
    if ray.is_initialized():
        return
    address = spec.address or os.environ.get("RAY_ADDRESS") or None
    if address is None:
        ray.init(num_cpus=spec.num_workers or os.cpu_count() or 1, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    else:
        ray.init(address=address, log_to_driver=False, configure_logging=False)


def run_tasks(fn: Callable[..., Any], tasks: Sequence[tuple], labels: Sequence[str], *,
              shared: tuple = (), executor: Any = None, n_jobs: int | None = 1,
              uses_gpu: Sequence[bool] | None = None, progress: bool = False,
              desc: str = "branch fit") -> list[Any]:
    """``[fn(*shared, *task) for task in tasks]``, run by ``executor``, in task order.

    Parameters
    ----------
    fn : callable
        A module-level function (it is sent to worker processes).
    tasks : sequence of tuple
        Arguments of each call, after ``shared``.
    labels : sequence of str
        A name per task, for progress lines and errors (e.g. ``"bmode, fold3"``:
        ``"branch fit 3/12: bmode, fold3"``, ``"branch fit bmode, fold3 failed on Ray"``).
    shared : tuple
        Arguments every call starts with (shipped once to Ray's object store).
    executor : str, dict or ExecutorSpec
        See :func:`resolve_executor`.
    n_jobs : int or None
        ``"processes"``: parallel processes (None or 1: in order, -1: all
        cores).  Ignored by the others.
    uses_gpu : sequence of bool, optional
        Per task: whether it may use a GPU (Ray reserves ``num_gpus`` for it).
    progress : bool
        Show progress (:func:`lnfusion.progress.progress_iter` in order; joblib's
        lines for ``"processes"``).
    desc : str
        Progress label.

    Returns
    -------
    list
        One result per task, in task order.

    Raises
    ------
    FitTaskError
        Ray: a task failed for good (after its retries); names the task.
    NotAvailableError
        ``"ray"`` without Ray installed.
    """
    spec = resolve_executor(executor, n_jobs)
    if len(labels) != len(tasks):
        raise ValueError(f"{len(labels)} labels for {len(tasks)} tasks")
    if spec.kind == "ray":
        return _run_ray(fn, tasks, [f"{desc} {label}" for label in labels], shared, spec,
                        [False] * len(tasks) if uses_gpu is None else list(uses_gpu))
    if spec.kind == "processes" and n_jobs not in (None, 1) and len(tasks) > 1:
        from joblib import Parallel, delayed

        return Parallel(n_jobs=n_jobs, verbose=5 if progress else 0)(
            delayed(fn)(*shared, *task) for task in tasks)
    from lnfusion.progress import progress_iter

    return [fn(*shared, *task) for task, _ in progress_iter(list(zip(tasks, labels)), desc, progress,
                                                            unit="fit", describe=lambda item: item[1])]


def _run_ray(fn: Callable[..., Any], tasks: Sequence[tuple], labels: Sequence[str], shared: tuple,
             spec: ExecutorSpec, uses_gpu: list[bool]) -> list[Any]:
    ray = _import_ray()
    _ray_init(ray, spec)
    refs_shared = [ray.put(obj) for obj in shared]  # once, read by every task
    remote = ray.remote(fn)
    refs = []
    for task, gpu in zip(tasks, uses_gpu):
        options = dict(num_cpus=spec.num_cpus, num_gpus=spec.num_gpus if gpu else 0,
                       max_retries=spec.max_retries, retry_exceptions=list(RETRIED_ERRORS))
        refs.append(remote.options(**options).remote(*refs_shared, *task))
    results = []
    try:
        for label, ref in zip(labels, refs):
            try:
                results.append(ray.get(ref))
            except ray.exceptions.RayError as exc:
                cause = getattr(exc, "cause", None) or exc
                raise FitTaskError(f"{label} failed on Ray (tried {spec.max_retries + 1} times at "
                                   f"most): {type(cause).__name__}: {cause}") from exc
    except BaseException:
        for ref in refs:  # the other fits are of no use now
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - a finished task cannot be cancelled
                pass
        raise
    return results
