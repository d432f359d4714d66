"""Training and inference throughput of lnfusion's loop vs a bare timm loop, same shapes, same process.

Prints images/s (median of --repeats runs) for:
  * bare timm: forward + backward + AdamW step on a pre-built normalised batch (no data handling);
  * lnfusion: ``train_model`` (uint8 cache -> batch augmentation -> normalise -> step, plus the
    schedule and bookkeeping) and ``predict_batches`` for inference;
the measured matmul peak (GFLOP/s, fp32 and bf16) for context, and the peak resident memory.

    python bench/bench_speed.py                      # resnet18, 128 px, batch 32, bf16 + channels_last
    python bench/bench_speed.py --quick              # a smoke run (seconds)
"""
from __future__ import annotations

import argparse
import contextlib
import platform
import resource
import statistics
import time

import numpy as np
import torch


def matmul_gflops(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def bare_train(model, x, y, steps: int, dtype) -> float:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    ctx = (lambda: torch.autocast("cpu", dtype=dtype)) if dtype else contextlib.nullcontext
    model.train()
    t0 = time.perf_counter()
    for _ in range(steps):
        with ctx():
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * len(x) / (time.perf_counter() - t0)


def bare_infer(model, x, steps: int, dtype) -> float:
    ctx = (lambda: torch.autocast("cpu", dtype=dtype)) if dtype else contextlib.nullcontext
    model.eval()
    t0 = time.perf_counter()
    with torch.inference_mode():
        for _ in range(steps):
            with ctx():
                model(x)
    return steps * len(x) / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backbone", default="resnet18")
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=8, help="optimizer steps per timed run")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--precision", choices=["bf16", "fp32", "auto"], default="auto")
    p.add_argument("--quick", action="store_true", help="tiny smoke run")
    args = p.parse_args()
    if args.quick:
        args.image_size, args.batch_size, args.steps, args.repeats = 64, 16, 3, 2
    if args.threads:
        torch.set_num_threads(args.threads)

    import timm

    from lnfusion.models.hardware import resolve_precision
    from lnfusion.models.inference import predict_batches
    from lnfusion.models.training import ImageSet, TrainConfig, train_model

    dtype = resolve_precision(args.precision, torch.device("cpu"))
    prec = "bf16" if dtype is not None else "fp32"
    s, b = args.image_size, args.batch_size
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}  {platform.processor() or platform.machine()}  "
          f"torch {torch.__version__} timm {timm.__version__}  threads {torch.get_num_threads()}")
    print(f"# {args.backbone} {s} px, batch {b}, in_chans 1, {prec} autocast, channels_last; "
          f"{args.steps} steps x {args.repeats} repeats, medians")
    print(f"matmul peak 2048^3: fp32 {matmul_gflops(torch.float32):.0f} GFLOP/s, "
          f"bf16 {matmul_gflops(torch.bfloat16):.0f} GFLOP/s")

    torch.manual_seed(0)
    model = timm.create_model(args.backbone, num_classes=3, in_chans=1).to(memory_format=torch.channels_last)
    rng = np.random.default_rng(0)
    n = args.steps * b
    cache = rng.integers(0, 256, (n, 1, s, s), dtype=np.uint8)
    labels = rng.integers(0, 3, n)
    x = ((torch.from_numpy(cache[:b]).float() / 255 - 0.45) / 0.225).contiguous(memory_format=torch.channels_last)
    y = torch.from_numpy(labels[:b])

    bare_train(model, x, y, 2, dtype)  # warm-up (oneDNN primitive creation)
    results: dict[str, list[float]] = {k: [] for k in ("bare_train", "lib_train", "lib_train_noaug",
                                                       "bare_infer", "lib_infer")}
    # one epoch of n images; its time is the epoch loop only (history "seconds"): the one-off
    # BatchNorm recalibration pass at the end of a fit is switched off here
    cfg = TrainConfig(epochs=1, batch_size=b, progress=False, precision=args.precision, warmup_epochs=0,
                      recalibrate_bn=False)
    cfg_noaug = TrainConfig(epochs=1, batch_size=b, progress=False, precision=args.precision,
                            warmup_epochs=0, augment=None, recalibrate_bn=False)
    data = ImageSet(cache, labels)
    for _ in range(args.repeats):  # interleaved so load changes hit all variants alike
        results["bare_train"].append(bare_train(model, x, y, args.steps, dtype))
        for key, c in (("lib_train", cfg), ("lib_train_noaug", cfg_noaug)):
            res = train_model(model, data, None, c, mean=[0.45], std=[0.225], device="cpu")
            results[key].append(n / res.history[0]["seconds"])
        results["bare_infer"].append(bare_infer(model, x, args.steps, dtype))
        t0 = time.perf_counter()
        predict_batches(model, cache, mean=[0.45], std=[0.225], batch_size=b, precision=args.precision)
        results["lib_infer"].append(n / (time.perf_counter() - t0))
    med = {k: statistics.median(v) for k, v in results.items()}
    if dtype is not None:
        fp32 = statistics.median(bare_train(model, x, y, args.steps, None) for _ in range(max(1, args.repeats // 2)))
        print(f"bare train fp32 (no autocast): {fp32:.1f} img/s -> bf16 speed-up x{med['bare_train'] / fp32:.2f}")
    print(f"train  bare timm      {med['bare_train']:8.1f} img/s")
    print(f"train  lnfusion       {med['lib_train']:8.1f} img/s  ({100 * med['lib_train'] / med['bare_train']:.0f}% "
          f"of bare; includes batch augmentation)")
    print(f"train  lnfusion noaug {med['lib_train_noaug']:8.1f} img/s  "
          f"({100 * med['lib_train_noaug'] / med['bare_train']:.0f}% of bare)")
    print(f"infer  bare timm      {med['bare_infer']:8.1f} img/s")
    print(f"infer  lnfusion       {med['lib_infer']:8.1f} img/s  ({100 * med['lib_infer'] / med['bare_infer']:.0f}% of bare)")
    print("all runs: " + ", ".join(f"{k}=[{', '.join(f'{v:.0f}' for v in vs)}]" for k, vs in results.items()))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
