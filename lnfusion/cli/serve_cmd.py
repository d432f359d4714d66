"""``lnfusion serve MODEL_DIR [--host 127.0.0.1] [--port 8000]``: a local web application."""
from __future__ import annotations

import ipaddress
from pathlib import Path

import click

__all__ = ["command", "is_loopback"]


def is_loopback(host: str) -> bool:
    """True when ``host`` is a loopback address or ``localhost`` (reachable from this machine only)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command(name="serve")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. The default answers this machine only; any other "
                   "address lets other machines upload patient images (a warning is printed).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on.")
@click.option("--max-file-mb", default=20.0, show_default=True, type=click.FloatRange(min=0.001),
              help="Largest uploaded file, in MB.")
@click.option("--max-images", default=8, show_default=True, type=click.IntRange(min=1),
              help="Most images per modality in one request.")
@click.option("--torch-threads", default=1, show_default=True, type=click.IntRange(min=1),
              help="Threads of torch's CPU kernels (one patient's few images gain little from "
                   "more, and extra threads spin on a busy machine).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def command(model_dir: Path, host: str, port: int, max_file_mb: float, max_images: int,
            torch_threads: int, log_level: str) -> None:
    """Serve the saved model MODEL_DIR as a web page and a JSON API.

    Open http://HOST:PORT/ in a browser: the form (one upload field per
    modality, one field per descriptor, from the model's schema) returns the
    fused and per-branch probabilities with their explanation and the
    explanation card.  JSON API: GET /api/schema, POST /api/predict
    (multipart, the same fields), GET /healthz; documentation at /docs.
    Uploads live in a temporary folder per request, removed after the answer.
    Needs the serve extra: pip install 'lnfusion[serve]'.
    """
    from lnfusion.exceptions import LnfusionError

    try:
        import uvicorn

        from lnfusion.serve import ServeSettings, UploadLimits, create_app
    except ImportError as exc:
        raise click.ClickException(f"lnfusion serve needs FastAPI and uvicorn ({exc}); "
                                   "install them with: pip install 'lnfusion[serve]'") from exc
    import torch

    torch.set_num_threads(torch_threads)
    settings = ServeSettings(limits=UploadLimits(max_file_bytes=int(max_file_mb * 1e6),
                                                 max_images=max_images))
    click.echo(f"Loading model {model_dir} ...", err=True)
    try:
        app = create_app(model_dir, settings)
    except LnfusionError as exc:
        raise click.ClickException(str(exc)) from exc
    if not is_loopback(host):
        click.echo(f"WARNING: listening on {host}, not on localhost: other machines on the network "
                   "can reach this server and upload patient images. It has no authentication "
                   "and no encryption (HTTP); put it behind an authenticating HTTPS proxy or use "
                   "--host 127.0.0.1.", err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Serving {model_dir} at http://{shown}:{port}/ (API docs at /docs); Ctrl+C stops.",
               err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
