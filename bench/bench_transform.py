"""Benchmark: per-image cost of build_transform (eval and train-time augmentation).

Usage::

    .venv/bin/python bench/bench_transform.py [--size 256] [--image-size 224] [--repeats 100]
                                              [--threads N]

Applies the transform of a greyscale (B-mode) and of a colour (Doppler /
elastography) modality, without (``train=False``) and with augmentation
(``train=True``), to one random SIZE x SIZE image ``--repeats`` times after a
warm-up call, and prints the mean wall-clock and process-CPU milliseconds per
image (CPU time summed over torch's threads; less sensitive to other load on a
shared machine, and shown with the load average).  ``--threads 1`` measures
what one DataLoader worker does (torch runs workers single-threaded).
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="input image side in pixels (default 256)")
    parser.add_argument("--image-size", type=int, default=224, help="output side in pixels (default 224)")
    parser.add_argument("--repeats", type=int, default=100, help="calls per measurement (default 100)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's own choice)")
    args = parser.parse_args()

    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)

    from lnfusion.data import build_transform

    rng = np.random.default_rng(0)
    images = {False: rng.integers(0, 256, (args.size, args.size), dtype=np.uint8),
              True: rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)}
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    print(f"input {args.size}x{args.size} -> output 3x{args.image_size}x{args.image_size}, "
          f"{args.repeats} calls each")
    print()
    print(f"load average (1 min) before: {os.getloadavg()[0]:.1f}")
    print()
    print(f"{'build_transform':<30} {'wall ms/image':>14} {'cpu ms/image':>13}")
    for colour in (False, True):
        for train in (False, True):
            transform = build_transform(colour, args.image_size, IMAGENET_MEAN, IMAGENET_STD,
                                        train=train, random_state=0)
            img = images[colour]
            out = transform(img)  # warm-up
            assert tuple(out.shape) == (3, args.image_size, args.image_size), out.shape
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(args.repeats):
                transform(img)
            wall = 1e3 * (time.perf_counter() - t0) / args.repeats
            cpu = 1e3 * (time.process_time() - c0) / args.repeats
            name = f"{'colour' if colour else 'grey'} train={train}"
            print(f"  {name:<28} {wall:14.2f} {cpu:13.2f}")


if __name__ == "__main__":
    main()
