"""``lnfusion pretrain``: pre-train an encoder on a public medical image dataset."""
from __future__ import annotations

import json

import click

__all__ = ["command"]


@click.command(name="pretrain")
@click.argument("dataset", type=click.Path(exists=True))
@click.option("--out", "out_dir", required=True, type=click.Path(),
              help="Folder to create: config.json, encoder.safetensors, images.sha256.")
@click.option("--backbone", default="resnet18", show_default=True, help="timm model name.")
@click.option("--image-size", default=128, show_default=True, type=int, help="Training image side (px).")
@click.option("--epochs", default=30, show_default=True, type=int)
@click.option("--method", type=click.Choice(["supervised", "simclr"]), default="supervised",
              show_default=True, help="supervised: on the dataset's labels; simclr: self-supervised.")
@click.option("--split", default="train", show_default=True,
              help="MedMNIST .npz split(s) to use, e.g. 'train' or 'train+val'.")
@click.option("--colour", is_flag=True, help="Train on RGB (3 channels) instead of greyscale.")
@click.option("--exclude", "exclude_file", type=click.Path(exists=True, dir_okay=False),
              help="File of SHA-256 digests (first column, as sha256sum writes) of images never to use, "
                   "e.g. a test set's.")
@click.option("--batch-size", default=64, show_default=True, type=int)
@click.option("--lr", default=1e-3, show_default=True, type=float)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1, ...")
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp32"]), default="auto", show_default=True)
@click.option("--seed", "random_state", default=0, show_default=True, type=int)
@click.option("--overwrite", is_flag=True, help="Replace an existing --out folder.")
@click.option("--quiet", is_flag=True, help="No progress output (otherwise bars on a terminal, one timed line per epoch in a log).")
def command(dataset: str, out_dir: str, backbone: str, image_size: int, epochs: int, method: str,
            split: str, colour: bool, exclude_file: str | None, batch_size: int, lr: float, device: str,
            precision: str, random_state: int, overwrite: bool, quiet: bool) -> None:
    """Pre-train a BACKBONE encoder on DATASET and write a reusable checkpoint folder.

    DATASET is a folder with one sub-folder of images per class (ImageFolder
    layout; BUSI is one) or a MedMNIST .npz file (its train split unless
    --split says otherwise).  Use the folder as
    ImageBranchClassifier(..., pretrained=OUT) or create_encoder(..., pretrained=OUT).
    """
    from lnfusion.cli.inputs import CommandInputs
    from lnfusion.exceptions import LnfusionError
    from lnfusion.models.encoders import read_pretrain_config
    from lnfusion.models.pretraining import pretrain

    exclude = None
    if exclude_file:
        with open(exclude_file, encoding="utf-8") as fh:
            exclude = {line.split()[0].lower() for line in fh if line.strip()}
    try:
        CommandInputs.of_command(out_dir).add(dataset, exclude_file)
        path = pretrain(dataset, backbone=backbone, image_size=image_size, epochs=epochs, out_dir=out_dir,
                        exclude=exclude, method=method, split=split, colour=colour, batch_size=batch_size,
                        lr=lr, device=device, precision=precision, random_state=random_state,
                        progress=not quiet, overwrite=overwrite)
    except LnfusionError as exc:
        raise click.ClickException(str(exc)) from exc
    cfg = read_pretrain_config(path)
    data = cfg["data"]
    click.echo(f"wrote {path}: {cfg['backbone']} ({cfg['method']}, {cfg['image_size']} px, "
               f"in_chans={cfg['in_chans']}) on {data['n_images']} images of {data['path']}"
               + (f" [{data['split']}]" if data.get("split") else "")
               + (f", {data['n_excluded']} excluded" if data.get("n_excluded") else "")
               + f", {cfg['seconds']:.0f} s")
    last = cfg["history"][-1] if cfg["history"] else {}
    if last:
        click.echo(json.dumps({"final_train_loss": round(last["train_loss"], 4)}))
