"""A bare timm baseline on BUSI (official BreastMNIST split), no lnfusion code.

ResNet-18 from scratch (no ImageNet weights) at 128 px, greyscale, AdamW + one-cycle,
random left-right flips and shifts, bf16 autocast + channels_last on CPUs/GPUs that
support it, 30 epochs, best epoch by validation AUC (official val split), test AUC
and accuracy at that epoch.  Task: malignant vs benign + normal.

    python bench/bare_timm_baseline.py --seeds 0 1 2
    python bench/bare_timm_baseline.py --quick          # 1 seed, 2 epochs, 64 px

``run(seed, ...)`` is imported by bench/bench_busi.py to run it side by side, and
``train_timm`` (the training loop on arrays) by bench/bench_breast_lesions.py.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image
from sklearn.metrics import roc_auc_score

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "busi"


def load_split(data: Path, image_size: int, drop_unconfident: bool = True):
    """Arrays (N, 1, S, S) uint8 and labels (1 = malignant) per official split."""
    split_map = pd.read_csv(data / "breastmnist_split_map.csv")
    if drop_unconfident:
        split_map = split_map[split_map["confident"].astype(bool)]
    out = {}
    for split, rows in split_map.groupby("breastmnist_split"):
        imgs = [np.asarray(Image.open(data / f).convert("L").resize((image_size, image_size), Image.BILINEAR))
                for f in rows["file"]]
        out[split] = (np.stack(imgs)[:, None], (rows["busi_class"] == "malignant").to_numpy().astype(np.int64),
                      rows["file"].tolist())
    return out


def train_timm(x_tr: np.ndarray, y_tr: np.ndarray, x_va: np.ndarray, y_va: np.ndarray, *, seed: int = 0,
               epochs: int = 30, batch_size: int = 32, lr: float = 2e-3, backbone: str = "resnet18",
               patience: int | None = None, verbose: bool = True, tag: str = ""):
    """Train a timm CNN from scratch on uint8 arrays (N, 1, S, S), labels 0/1; best epoch by val AUC.

    Returns ``(scores, best_epoch, val_auc)``: ``scores(x)`` gives P(class 1) per image
    with the best epoch's weights.  ``patience``: stop after that many epochs without a
    better validation AUC (None: run every epoch).
    """
    import timm

    image_size = x_tr.shape[-1]
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    bf16 = torch.ops.mkldnn._is_mkldnn_bf16_supported() if not torch.cuda.is_available() else True
    device = "cuda" if torch.cuda.is_available() else "cpu"
    ctx = (lambda: torch.autocast(device, dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
    model = timm.create_model(backbone, pretrained=False, num_classes=2, in_chans=1)
    model = model.to(device).to(memory_format=torch.channels_last)
    x_tr, y_tr = torch.from_numpy(x_tr), torch.from_numpy(np.asarray(y_tr, dtype=np.int64))
    steps = (len(x_tr) + batch_size - 1) // batch_size
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps, pct_start=0.2)
    mean, std = 0.449 * 255, 0.226 * 255

    def prep(x):
        return ((x.float() - mean) / std).to(device).contiguous(memory_format=torch.channels_last)

    def scores(x):
        model.eval()
        out = []
        with torch.inference_mode(), ctx():
            for i in range(0, len(x), 128):
                out.append(torch.softmax(model(prep(torch.from_numpy(x[i:i + 128]))).float(), 1)[:, 1].cpu())
        return torch.cat(out).numpy()

    best = (-1.0, 0, None)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_tr), generator=gen)
        for i in range(steps):
            idx = order[i * batch_size:(i + 1) * batch_size]
            x = x_tr[idx].float()
            flip = torch.rand(len(idx), generator=gen) < 0.5
            x[flip] = x[flip].flip(-1)
            pad = image_size // 16  # shifts up to 1/16 of the side
            x = F.pad(x, (pad, pad, pad, pad))
            dx, dy = torch.randint(0, 2 * pad + 1, (2,), generator=gen).tolist()
            x = x[..., dy:dy + image_size, dx:dx + image_size]
            with ctx():
                loss = F.cross_entropy(model(prep(x)).float(), y_tr[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        auc = roc_auc_score(y_va, scores(x_va))
        if auc > best[0]:
            best = (auc, epoch + 1, copy.deepcopy(model.state_dict()))
        if verbose:
            print(f"  [bare{tag}] epoch {epoch + 1}/{epochs} loss {loss.item():.3f} val AUC {auc:.3f}",
                  flush=True)
        if patience is not None and epoch + 1 - best[1] >= patience:
            break
    model.load_state_dict(best[2])
    return scores, best[1], float(best[0])


def run(seed: int = 0, epochs: int = 30, image_size: int = 128, batch_size: int = 32, lr: float = 2e-3,
        data: Path = DEFAULT_DATA, drop_unconfident: bool = True, verbose: bool = True) -> dict:
    """Train and evaluate once; returns test AUC/accuracy at the best validation epoch and timings."""
    t_start = time.perf_counter()
    splits = load_split(Path(data), image_size, drop_unconfident)
    x_tr, y_tr, _ = splits["train"]
    x_va, y_va, _ = splits["val"]
    scores, best_epoch, val_auc = train_timm(x_tr, y_tr, x_va, y_va, seed=seed, epochs=epochs,
                                             batch_size=batch_size, lr=lr, verbose=verbose,
                                             tag=f" seed {seed}")
    x_te, y_te, files = splits["test"]
    s = scores(x_te)
    return {"method": "bare timm", "seed": seed, "test_auc": float(roc_auc_score(y_te, s)),
            "test_acc": float(np.mean((s > 0.5) == y_te)), "best_epoch": best_epoch, "val_auc": val_auc,
            "n_train": len(y_tr), "n_test": len(y_te), "seconds": time.perf_counter() - t_start,
            "scores": s, "y_test": y_te, "test_files": files}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--keep-unconfident", action="store_true", help="keep split-map rows with confident=False")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--quick", action="store_true", help="1 seed, 2 epochs, 64 px")
    args = p.parse_args()
    if not (args.data / "breastmnist_split_map.csv").is_file():
        raise SystemExit(f"BUSI not found at {args.data}; pass --data")
    if args.quick:
        args.seeds, args.epochs, args.image_size = args.seeds[:1], 2, 64
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [run(s, args.epochs, args.image_size, data=args.data, drop_unconfident=not args.keep_unconfident)
            for s in args.seeds]
    for r in rows:
        print(f"seed {r['seed']}: test AUC {r['test_auc']:.3f} acc {r['test_acc']:.3f} "
              f"(best epoch {r['best_epoch']}, {r['seconds']:.0f} s)")
    print(f"mean test AUC {np.mean([r['test_auc'] for r in rows]):.3f}")


if __name__ == "__main__":
    main()
