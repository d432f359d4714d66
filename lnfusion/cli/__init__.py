"""The ``lnfusion`` command line.

Thin by design: each command lives in its own module ``<name>_cmd.py`` exposing
a click command named ``command``; it parses arguments, calls the library and
prints.  Modules are imported lazily so ``lnfusion --help`` stays fast and a
command's heavy dependencies load only when it runs.
"""
from __future__ import annotations

import importlib

import click

from lnfusion._version import __version__

__all__ = ["main"]

#: command name -> (module, one-line help shown by ``lnfusion --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("lnfusion.cli.validate_cmd", "Validate a cohort manifest and print a summary."),
    "demo": ("lnfusion.cli.demo_cmd", "Build the simulated demo cohort and run the whole pipeline."),
    "stats": ("lnfusion.cli.stats_cmd", "Write a clinical Table 1 for a manifest."),
    "pretrain": ("lnfusion.cli.pretrain_cmd", "Pre-train an encoder on a public medical image dataset."),
    "train": ("lnfusion.cli.train_cmd", "Train a late-fusion model from a YAML config."),
    "evaluate": ("lnfusion.cli.evaluate_cmd", "Evaluate a saved model on a manifest."),
    "predict": ("lnfusion.cli.predict_cmd", "Write per-class probabilities for a manifest."),
    "explain": ("lnfusion.cli.explain_cmd", "Write explanation cards and global plots."),
    "serve": ("lnfusion.cli.serve_cmd", "Serve a saved model as a local web page and JSON API."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[name][0])
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lnfusion")
def main() -> None:
    """lnfusion: multimodal ultrasound classification of lesions.

    Any class set (two classes or more), any number of imaging modalities,
    with or without clinical descriptors.  A node is one lesion (a lymph node,
    a breast mass, a thyroid nodule); a patient may have several.  Enlarged
    cervical lymph nodes (metastatic / lymphoma / benign) are the worked
    example and the demo.  Your own cohort: docs/your_own_cohort.md.
    """
