"""Benchmark: DICOM decoding speed per transfer syntax (images per second through ``read_image``).

Usage::

    .venv/bin/python bench/bench_dicom_decode.py [--size 512] [--files 20] [--repeats 3]
                                                 [--frames 30]

Writes ``--files`` ultrasound-like frames (a smooth gradient with speckle-like
noise, SIZE x SIZE, greyscale and RGB) in each transfer syntax as a scanner
exports them (:func:`lnfusion.datasets.scanner_dicom.write_scanner_dicom`:
burned-in text outside an ultrasound region), plus one multi-frame RLE cine
loop of ``--frames`` frames read frame by frame, to a temporary folder, then
prints for each: images decoded per second with
:func:`lnfusion.data.read_image` (best of ``--repeats`` passes over the files,
one thread), the mean file size, and the mean and largest absolute difference
from the pixels written (0 for lossless syntaxes; speckle is the worst case for
lossy codecs).
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def frame(size: int, colour: bool, rng: np.random.Generator) -> np.ndarray:
    """An ultrasound-like uint8 frame: a smooth gradient with multiplicative speckle."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = 60 + 120 * np.exp(-((xx - 0.5) ** 2 + (yy - 0.45) ** 2) * 6)
    speckle = rng.rayleigh(0.8, (size, size))
    grey = np.clip(base * speckle, 0, 255).astype(np.uint8)
    if not colour:
        return grey
    rgb = np.repeat(grey[..., None], 3, axis=2)
    blob = ((xx - 0.5) ** 2 + (yy - 0.5) ** 2) < 0.02
    rgb[blob, 0], rgb[blob, 2] = 220, 40
    return rgb


def best_rate(paths: list, repeats: int) -> float:
    from lnfusion.data import read_image

    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for p in paths:
            read_image(p)
        best = min(best, time.perf_counter() - t0)
    return len(paths) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()

    import torch

    from lnfusion.data import frame_ref, read_image
    from lnfusion.datasets.scanner_dicom import SYNTAXES, write_scanner_dicom

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{time.strftime('%Y-%m-%d')}; {args.size} x {args.size} image in a scanner frame, "
          f"{args.files} files, best of {args.repeats}")
    print("| syntax | image | images/s | mean file KiB | abs diff mean / max |")
    print("|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for syntax in SYNTAXES:
            for colour in (False, True):
                images = [frame(args.size, colour, rng) for _ in range(args.files)]
                paths = [write_scanner_dicom(root / f"{syntax}_{colour}_{i}.dcm", im, "BENCH", syntax)
                         for i, im in enumerate(images)]
                errors = np.stack([np.abs(read_image(p).astype(int) - im) for p, im in zip(paths, images)])
                kib = np.mean([p.stat().st_size for p in paths]) / 1024
                rate = best_rate(paths, args.repeats)
                print(f"| {syntax} | {'RGB' if colour else 'grey'} | {rate:.0f} | {kib:.0f} | "
                      f"{errors.mean():.2f} / {errors.max()} |")
        # a cine loop: every frame read by reference (the decoder reads one frame of the file)
        from lnfusion.datasets.scanner_dicom import set_pixels, ultrasound_dataset

        cine = np.stack([frame(args.size, False, rng) for _ in range(args.frames)])
        ds = ultrasound_dataset(multiframe=True)
        set_pixels(ds, cine, syntax="rle")
        path = root / "cine.dcm"
        ds.save_as(path, enforce_file_format=True)
        refs = [frame_ref(path, k) for k in range(args.frames)]
        rate = best_rate(refs, args.repeats)
        kib = path.stat().st_size / 1024 / args.frames
        print(f"| rle, {args.frames}-frame cine, one frame per read | grey | {rate:.0f} | {kib:.0f} | "
              "0.00 / 0 |")


if __name__ == "__main__":
    main()
