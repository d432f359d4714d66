"""The ASGI application: one page, a JSON API and a health check around one loaded model.

Routes (see :func:`create_app`):

* ``GET /``: the patient form, generated from the model's schema, with its
  result view (:mod:`lnfusion.serve.page`); self-contained, nothing loaded
  from the network;
* ``GET /api/schema``: the form's fields as JSON (:meth:`PatientForm.describe`);
* ``POST /api/predict``: one patient (multipart: the same fields) -> the
  fused and branch probabilities and their explanation (:meth:`Predictor.predict`);
* ``GET /healthz``: ``{"status": "ok", ...}`` once the model is loaded;
* ``GET /openapi.json``: the OpenAPI document (FastAPI's), and ``GET /docs``
  the same as a self-contained page (FastAPI's own ``/docs`` would load
  Swagger UI from a CDN).

Each request to ``/api/predict`` gets its own temporary folder (under
``ServeSettings.upload_dir`` or the system's temporary folder), where its
uploads are streamed and checked; the folder is removed when the answer is
ready, whatever happened.

No ``from __future__ import annotations`` here: FastAPI reads the route
functions' annotations (``request: Request``) at run time, and the framework's
classes are imported inside :func:`create_app`, not at module level.
"""
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lnfusion.serve.form import InputError
from lnfusion.serve.predictor import Predictor
from lnfusion.serve.uploads import UploadLimits, receive_form

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

__all__ = ["ServeSettings", "create_app"]

log = logging.getLogger(__name__)

#: Bytes of a refused request body read (and dropped) so the client can read the answer.
_DRAIN_LIMIT = 256 * 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    """Settings of a served model.

    Parameters
    ----------
    limits : UploadLimits
        Largest file (default 20 MB), most images per field (8), ...
    upload_dir : path-like or None
        Folder in which each request's temporary folder is made (default: the
        system's temporary folder).
    title : str
        Title of the page.
    """

    limits: UploadLimits = UploadLimits()
    upload_dir: str | os.PathLike | None = None
    title: str = "lnfusion: lesion classification"


def _openapi_form(spec: dict[str, Any]) -> dict[str, Any]:
    """The multipart request body of ``/api/predict`` in OpenAPI terms, from the form's fields."""
    props: dict[str, Any] = {}
    for f in spec["images"]:
        props[f["name"]] = {"type": "array", "items": {"type": "string", "format": "binary"},
                            "maxItems": f["max_images"],
                            "description": f"{f['name']} images (PNG, JPEG or DICOM); none if "
                                           "the modality was not acquired"}
    for d in spec["descriptors"]:
        entry: dict[str, Any] = {"type": "string", "description": d["description"] or d["kind"]}
        if "levels" in d:
            entry["enum"] = ["", *d["levels"]]
        else:
            entry["description"] += f" (number{', ' + d['unit'] if d['unit'] else ''})"
        props[d["name"]] = entry
    props["card"] = {"type": "string", "enum": ["", "true", "false"],
                     "description": "'true': also return the explanation card as HTML (card_html)"}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": props,
        "required": [d["name"] for d in spec["descriptors"]]}}}}}


def create_app(model: Any, settings: "ServeSettings | None" = None) -> "FastAPI":
    """The ASGI application serving one model.

    Parameters
    ----------
    model : LateFusionClassifier, Predictor, or path-like
        A fitted model, a :class:`Predictor` around one, or a saved model folder.
    settings : ServeSettings, optional

    Returns
    -------
    fastapi.FastAPI
        Run it with any ASGI server, e.g. ``uvicorn.run(app)`` (what
        ``lnfusion serve`` does).

    Raises
    ------
    ImportError
        FastAPI is not installed (``pip install 'lnfusion[serve]'``).
    """
    try:
        from fastapi import FastAPI, Request
        from fastapi.responses import HTMLResponse, JSONResponse
        from starlette.concurrency import run_in_threadpool
    except ImportError as exc:  # pragma: no cover - the extra is part of dev
        raise ImportError("lnfusion serve needs FastAPI and uvicorn: pip install 'lnfusion[serve]'") \
            from exc
    from lnfusion._version import __version__
    from lnfusion.serve.page import render_api_docs, render_page

    settings = settings or ServeSettings()
    if isinstance(model, Predictor):
        predictor = model
    elif isinstance(model, (str, os.PathLike)):
        predictor = Predictor.load(model)
    else:
        predictor = Predictor(model)
    spec = predictor.form.describe(max_images=settings.limits.max_images)
    page = render_page(spec, title=settings.title, max_file_mb=settings.limits.max_file_bytes / 1e6)

    # docs_url=None: Swagger UI would load from a CDN; /docs is rendered here instead
    app = FastAPI(title="lnfusion serve", version=__version__, docs_url=None, redoc_url=None,
                  description="Fused prediction and explanation of one lesion (node) by a "
                              "saved lnfusion model. Research software, not a medical device.")
    app.state.predictor = predictor
    app.state.settings = settings

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError) -> JSONResponse:
        log.info("refused %s %s: %s (field %s)", request.method, request.url.path, exc.status,
                 exc.field)
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=exc.status)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(render_api_docs(app.openapi()))

    @app.get("/healthz", summary="Health check")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "classes": list(predictor.model.classes_),
                "branches": list(predictor.model.branch_names_)}

    @app.get("/api/schema", summary="The fields of one patient (from the model's schema)")
    def schema() -> dict[str, Any]:
        return spec

    @app.post("/api/predict", summary="Predict and explain one patient",
              openapi_extra=_openapi_form(spec))
    async def predict(request: Request) -> JSONResponse:
        folder = Path(tempfile.mkdtemp(prefix="lnfusion-serve-", dir=settings.upload_dir))
        try:
            try:
                received = await receive_form(request.headers.get("content-type", ""),
                                              request.stream(), folder, predictor.form,
                                              settings.limits)
            except InputError:
                await _drain(request)
                raise
            card = [v.strip().lower() for v in received.values.pop("card", [])]
            result = await run_in_threadpool(predictor.predict, folder, received.values,
                                             received.files, card=card[-1:] == ["true"])
            return JSONResponse(result)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return app


async def _drain(request: Any) -> None:
    """Read (and drop) the rest of a refused body, so the client gets to read the answer."""
    from starlette.requests import ClientDisconnect

    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > _DRAIN_LIMIT:
                break
    except (ClientDisconnect, RuntimeError):  # already consumed, or the client went away
        pass
