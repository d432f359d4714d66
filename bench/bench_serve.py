"""Benchmark: ``lnfusion serve`` under a bounded load on loopback.

Usage::

    .venv/bin/python bench/bench_serve.py MODEL_DIR MANIFEST [--requests 200] [--concurrency 8]
        [--card] [--torch-threads 1] [--port 0] [--json out.json]

Starts ``lnfusion serve MODEL_DIR`` in a child process on 127.0.0.1, waits for
``/healthz``, then sends ``--requests`` ``POST /api/predict`` requests,
``--concurrency`` at a time, each one patient (node) of MANIFEST in turn
(its images and descriptors, exactly as the page sends them; ``--card`` also
asks for the explanation card).  Prints the latency seen by the clients
(p50/p95/p99/max), the server's own time per patient (its ``timing_ms``: input
checks plus inference and explanation, which run one patient at a time under the
server's lock), the throughput and the number of errors (any answer other than
200, or a fused probability that does not sum to 1).

With one model answering one patient at a time, a client's latency is its
queueing time plus its own service time: at concurrency C it is about C times
the service time, so the service time per patient is the figure to compare with
a clinician's wait when the server is not shared.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np


def _patients(manifest: Path, n: int) -> list[tuple[list, dict]]:
    """(files, data) of the first ``n`` nodes of a manifest, as multipart arguments."""
    from lnfusion.data import Cohort
    from lnfusion.data.manifest import read_manifest

    df, _ = read_manifest(manifest)
    cohort = Cohort.from_manifest(df.head(n), schema=manifest.parent / "schema.json",
                                  root=manifest.parent, labelled=False, allow_empty_classes=True)
    out = []
    for i in range(len(cohort)):
        files = [(m, (Path(p).name, Path(p).read_bytes(), "application/octet-stream"))
                 for m in cohort.modalities for p in cohort.images(m)[i]]
        data = {}
        for name in cohort.schema.descriptors:
            v = cohort.table[name].iloc[i]
            data[name] = "" if v is None or v != v else (f"{v:g}" if isinstance(v, float) else str(v))
        out.append((files, data))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--patients", type=int, default=40, help="distinct nodes sent in turn")
    parser.add_argument("--card", action="store_true", help="also ask for the explanation card")
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    args = parser.parse_args(argv)

    import httpx

    patients = _patients(args.manifest, args.patients)
    port = args.port or _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]))}
    cmd = [sys.executable, "-c", "from lnfusion.cli import main; main()", "serve", str(args.model), "--port", str(port),
           "--torch-threads", str(args.torch_threads), "--log-level", "warning"]
    server = subprocess.Popen(cmd, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        start = time.perf_counter()
        with httpx.Client(base_url=url, timeout=300) as http:
            while True:
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.perf_counter() - start > 300:
                    raise SystemExit(f"the server did not start (exit {server.poll()})")
                time.sleep(0.2)
            load_s = time.perf_counter() - start
            extra = {"card": "true"} if args.card else {}
            files, data = patients[0]
            http.post("/api/predict", files=files, data={**data, **extra})   # warm-up

            def one(k: int) -> tuple[float, int, float | None, str]:
                files, data = patients[k % len(patients)]
                t = time.perf_counter()
                try:
                    r = http.post("/api/predict", files=files, data={**data, **extra})
                except httpx.HTTPError as exc:
                    return time.perf_counter() - t, 0, None, type(exc).__name__
                elapsed = time.perf_counter() - t
                if r.status_code != 200:
                    return elapsed, r.status_code, None, r.text[:200]
                body = r.json()
                if abs(sum(body["probabilities"]["fused"].values()) - 1) > 1e-6:
                    return elapsed, r.status_code, None, "probabilities do not sum to 1"
                timing = body["timing_ms"]
                return elapsed, 200, (timing["checks"] + timing["inference"]) / 1000, ""

            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                results = list(pool.map(one, range(args.requests)))
            wall = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(timeout=30)

    latency = np.array([r[0] for r in results])
    service = np.array([r[2] for r in results if r[2] is not None])
    errors = [r for r in results if r[1] != 200 or r[3]]
    q = lambda a, p: float(np.percentile(a, p)) if a.size else float("nan")  # noqa: E731
    figures = {
        "requests": args.requests, "concurrency": args.concurrency, "card": args.card,
        "distinct_patients": len(patients), "torch_threads": args.torch_threads,
        "errors": len(errors), "wall_s": round(wall, 2), "throughput_per_s": round(args.requests / wall, 2),
        "latency_s": {"p50": q(latency, 50), "p95": q(latency, 95), "p99": q(latency, 99),
                      "max": float(latency.max())},
        "service_s": {"p50": q(service, 50), "p95": q(service, 95), "max": float(service.max())
                      if service.size else float("nan")},
        "model_load_s": round(load_s, 1), "cpu_count": os.cpu_count(), "machine": platform.platform(),
    }
    print(json.dumps(figures, indent=2))
    for r in errors[:5]:
        print("error:", r, file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
