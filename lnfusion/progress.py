"""Progress output: bars on a terminal, one line per step in a log, nothing when quiet.

Long steps (epochs of an image branch, branch fits of a fusion model) report
their progress in one of three modes, chosen by :func:`progress_mode`:

``"bar"``
    The output (standard error) is a terminal: tqdm progress bars, and one line
    per epoch.
``"lines"``
    The output is a file, a pipe or a job scheduler's log: no bars (their
    carriage returns fill a log with half-drawn lines); one line per epoch and
    one per branch fit instead, each with the elapsed and the estimated
    remaining time (:class:`ProgressLog`).
``"off"``
    Progress turned off (``progress=False``, ``--quiet``): nothing.

Imports tqdm only when a bar is drawn.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

__all__ = ["progress_mode", "format_duration", "ProgressLog", "progress_iter", "progress_echo"]


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (ValueError, OSError):  # a closed or detached stream
        return False


def progress_mode(enabled: bool, stream: TextIO | None = None) -> str:
    """``"off"`` when ``enabled`` is false, else ``"bar"`` on a terminal and ``"lines"`` elsewhere.

    Parameters
    ----------
    enabled : bool
        Whether progress is wanted at all (an estimator's ``progress``).
    stream : text stream, optional
        Where progress goes; default ``sys.stderr``.
    """
    if not enabled:
        return "off"
    return "bar" if _is_terminal(sys.stderr if stream is None else stream) else "lines"


def format_duration(seconds: float) -> str:
    """``m:ss`` below an hour, ``h:mm:ss`` above (``"0:07"``, ``"12:30"``, ``"1:02:03"``)."""
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return "?"
    total = int(round(max(seconds, 0.0)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_echo(text: str, stream: TextIO | None = None) -> None:
    """Write one progress line: through tqdm on a terminal (so bars are not broken), else plainly.

    The line goes to ``stream`` (default ``sys.stderr``) and is flushed at once,
    so a log shows it while the run goes on.
    """
    stream = sys.stderr if stream is None else stream
    if _is_terminal(stream):
        from tqdm.auto import tqdm

        tqdm.write(text, file=stream)
    else:
        stream.write(text + "\n")
        stream.flush()


class ProgressLog:
    """Lines ``<desc> k/total[: detail]; elapsed m:ss, remaining ~m:ss`` for a run of ``total`` steps.

    The remaining time is the mean time of the steps done so far times the
    steps left (an upper bound when a run can stop early, as training with
    early stopping does).

    Parameters
    ----------
    total : int
        Number of steps.
    desc : str
        What the steps are (``"branch fit"``, ``"epoch"``).
    stream : text stream, optional
        Default ``sys.stderr``.
    start : int, default 0
        Steps already done before this log started (a resumed run): they count
        in ``k`` but not in the time per step.
    """

    def __init__(self, total: int, desc: str, stream: TextIO | None = None, start: int = 0):
        self.total = int(total)
        self.desc = desc
        self.stream = stream
        self.start = int(start)
        self._t0 = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds since the log started."""
        return time.perf_counter() - self._t0

    def line(self, done: int, detail: str = "") -> str:
        """The line after ``done`` steps (``detail``: what the last step was or gave)."""
        elapsed = self.elapsed()
        ran = done - self.start
        remaining = elapsed / ran * (self.total - done) if ran > 0 else float("nan")
        head = f"{self.desc} {done}/{self.total}" + (f": {detail}" if detail else "")
        return f"{head}; elapsed {format_duration(elapsed)}, remaining ~{format_duration(remaining)}"

    def step(self, done: int, detail: str = "") -> None:
        """Write :meth:`line` (see :func:`progress_echo`)."""
        progress_echo(self.line(done, detail), self.stream)


def progress_iter(items: Iterable[Any], desc: str, enabled: bool, *, unit: str = "it",
                  total: int | None = None, describe: Callable[[Any], str] | None = None,
                  stream: TextIO | None = None) -> Iterator[Any]:
    """Iterate over ``items`` showing progress in the :func:`progress_mode` of ``enabled``.

    ``"bar"``: a tqdm bar (removed when done); ``"lines"``: after the caller
    has processed each item, one :class:`ProgressLog` line (``describe(item)``
    as its detail); ``"off"``: nothing.

    Parameters
    ----------
    items : iterable
    desc : str
        Label of the bar and of the lines.
    enabled : bool
        Whether progress is wanted at all.
    unit : str
        Unit of the bar.
    total : int, optional
        Number of items (default ``len(items)``).
    describe : callable, optional
        Item -> short text naming it in its line.
    stream : text stream, optional
        Default ``sys.stderr``.
    """
    mode = progress_mode(enabled, stream)
    if mode == "off":
        yield from items
        return
    if total is None:
        items = list(items)
        total = len(items)
    if mode == "bar":
        from tqdm.auto import tqdm

        yield from tqdm(items, desc=desc, unit=unit, total=total, leave=False,
                        file=sys.stderr if stream is None else stream)
        return
    log = ProgressLog(total, desc, stream)
    for k, item in enumerate(items, 1):
        yield item
        log.step(k, describe(item) if describe is not None else "")
