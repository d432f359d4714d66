"""What a command reads, so that nothing it writes can land on it.

Each command that writes opens a :class:`CommandInputs` with its outputs
(:meth:`CommandInputs.of_command`, released when the command ends) and adds
its inputs as it learns them (the manifest and model folder first, the
image files once the manifest is read).  Every addition re-checks the outputs,
so a conflict is refused before any work is done, and every write the command
makes meanwhile goes through :func:`lnfusion.io.check_output`.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import click

from lnfusion.io import check_output, protect_inputs

__all__ = ["CommandInputs", "cohort_files", "path_params"]


class CommandInputs(contextlib.ExitStack):
    """Inputs of one command, protected from its writes for as long as the block runs.

    Parameters
    ----------
    *outputs : path-like or None
        The command's outputs (files or folders); ``None`` is skipped.
    """

    def __init__(self, *outputs: str | os.PathLike | None):
        super().__init__()
        self.outputs = [o for o in outputs if o is not None]

    @classmethod
    def of_command(cls, *outputs: str | os.PathLike | None) -> CommandInputs:
        """The inputs of the running click command, released when the command ends."""
        inputs = cls(*outputs)
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.call_on_close(inputs.close)
        return inputs

    def add(self, *paths: str | os.PathLike | Iterable[str | os.PathLike] | None) -> None:
        """Protect ``paths`` and check every output against all inputs so far.

        Raises
        ------
        OutputConflictError
            An output is, contains or lies inside an input.
        """
        self.enter_context(protect_inputs(*paths))
        for out in self.outputs:
            check_output(out)


def cohort_files(cohort: Any) -> Iterator[str]:
    """Every file a cohort reads: its manifest (when read from a file), images and masks."""
    source = getattr(cohort, "source", None)
    if source and Path(str(source)).is_file():
        yield str(source)
    from lnfusion.data.imageio import split_frame_ref

    for m in cohort.modalities:
        for paths in cohort.images(m):
            yield from (split_frame_ref(p)[0] for p in paths)  # the file of a frame reference
        for masks in cohort.masks(m):
            yield from (p for p in masks if p)


def path_params(params: Mapping[str, Any], names: tuple[str, ...]) -> Iterator[str]:
    """Values of the (possibly ``branch__``-prefixed, nested) parameters ``names`` that are paths."""
    for key, value in params.items():
        if isinstance(value, Mapping):
            yield from path_params(value, names)
        elif str(key).rsplit("__", 1)[-1] in names and isinstance(value, (str, os.PathLike)):
            if os.path.exists(value):
                yield os.fspath(value)
