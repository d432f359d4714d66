"""The served page: the patient form built from the model's fields, and its result view.

One self-contained HTML document (inline CSS and script, no font, script or
image loaded from the network, so it works on a hospital machine without
internet access).  The form posts to ``/api/predict`` with ``fetch``; the
script draws the answer (probabilities of the fused model and of each branch,
missing modalities, modality and descriptor contributions, one Grad-CAM
overlay per image) with DOM text nodes only, and offers the explanation card
as a download (drawn on demand: a second request with ``card=true``).
"""
from __future__ import annotations

import html
from typing import Any

__all__ = ["render_page", "render_api_docs"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1c2833;background:#f4f6f7}
header{background:#1f3a5f;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:1.35rem} header p{margin:4px 0 0;font-size:.9rem;opacity:.85}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
fieldset{background:#fff;border:1px solid #d5dbdb;border-radius:6px;margin:0 0 14px;padding:12px 16px}
legend{font-weight:600;padding:0 6px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:10px 18px}
label{display:block;font-size:.9rem} label span.hint{color:#5d6d7e;font-size:.8rem}
input,select{width:100%;box-sizing:border-box;margin-top:3px;padding:5px;font-size:.95rem}
button{background:#1f3a5f;color:#fff;border:0;border-radius:4px;padding:9px 22px;font-size:1rem;cursor:pointer}
button:disabled{opacity:.5;cursor:wait}
#status{margin-left:12px} .error{color:#b03a2e;font-weight:600} .bad{outline:2px solid #b03a2e}
section.card{background:#fff;border:1px solid #d5dbdb;border-radius:6px;margin:14px 0;padding:12px 16px}
table{border-collapse:collapse;font-size:.9rem} td,th{padding:3px 10px;border-bottom:1px solid #eaecee;text-align:right}
th:first-child,td:first-child{text-align:left}
.bar{display:inline-block;height:10px;vertical-align:middle}
.pos{background:#c0392b} .neg{background:#2471a3}
.overlays{display:flex;flex-wrap:wrap;gap:12px} figure{margin:0;text-align:center;font-size:.85rem}
figure img{width:220px;height:auto;image-rendering:auto;border:1px solid #d5dbdb}
.note{color:#5d6d7e;font-size:.82rem}
"""

_SCRIPT = r"""
(() => {
  const form = document.getElementById('patient');
  const statusEl = document.getElementById('status');
  const result = document.getElementById('result');
  const button = form.querySelector('button[type=submit]');
  let cardUrl = null;

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function pct(p) { return p === null || p === undefined ? 'n/a' : (100 * p).toFixed(1) + ' %'; }
  function table(head, rows) {
    const t = el('table'); const tr = el('tr');
    head.forEach(h => tr.appendChild(el('th', h))); t.appendChild(tr);
    rows.forEach(r => { const row = el('tr');
      r.forEach(c => { const td = el('td'); if (c instanceof Node) td.appendChild(c); else td.textContent = c; row.appendChild(td); });
      t.appendChild(row); });
    return t;
  }
  function bar(value, scale) {
    const span = el('span', null, 'bar ' + (value >= 0 ? 'pos' : 'neg'));
    span.style.width = Math.max(1, Math.round(80 * Math.abs(value) / (scale || 1))) + 'px';
    return span;
  }
  function section(id, title) {
    const s = el('section', null, 'card'); s.id = id; s.appendChild(el('h2', title));
    result.appendChild(s); return s;
  }
  function show(r) {
    result.replaceChildren();
    const head = section('prediction', 'Prediction: ' + r.predicted);
    head.appendChild(el('p', 'Fused probability of ' + r.predicted + ': ' + pct(r.probabilities.fused[r.predicted]) + '.'));
    const rows = [['fused model'].concat(r.classes.map(c => pct(r.probabilities.fused[c])))];
    Object.entries(r.probabilities.branches).forEach(([b, p]) =>
      rows.push([b + ' branch'].concat(r.classes.map(c => p ? pct(p[c]) : 'missing'))));
    head.appendChild(table([''].concat(r.classes), rows));
    head.appendChild(el('p', r.missing_modalities.length
      ? 'Missing modalities (predicted from the other branches): ' + r.missing_modalities.join(', ')
      : 'No modality missing.', 'missing'));

    const mod = section('modalities', 'Modality contributions towards ' + r.modality_contributions.towards);
    const ms = Math.max(...r.modality_contributions.values.map(v => Math.abs(v.shap)), 1e-9);
    mod.appendChild(table(['branch', 'SHAP (' + r.modality_contributions.unit + ')', ''],
      r.modality_contributions.values.map(v => [v.branch + (v.missing ? ' (missing)' : ''), v.shap.toFixed(3), bar(v.shap, ms)])));

    if (r.descriptor_contributions) {
      const d = section('descriptors', 'Descriptor contributions towards ' + r.descriptor_contributions.towards + ' (clinical branch)');
      const ds = Math.max(...r.descriptor_contributions.values.map(v => Math.abs(v.shap)), 1e-9);
      d.appendChild(table(['descriptor', 'value', 'SHAP (' + r.descriptor_contributions.unit + ')', ''],
        r.descriptor_contributions.values.map(v => [v.descriptor, v.value === null ? 'not recorded' : String(v.value), v.shap.toFixed(3), bar(v.shap, ds)])));
    }

    const g = section('gradcam', 'Grad-CAM per image');
    const box = el('div', null, 'overlays');
    if (!r.images.length) g.appendChild(el('p', 'No image was uploaded.'));
    r.images.forEach(im => {
      const f = el('figure'); const img = el('img');
      img.src = 'data:image/png;base64,' + im.overlay_png;
      img.alt = im.modality + ' image ' + im.index + ' Grad-CAM towards ' + im.target;
      f.appendChild(img); f.appendChild(el('figcaption', im.modality + ' image ' + im.index + ', towards ' + im.target));
      box.appendChild(f);
    });
    g.appendChild(box);

    const c = section('card', 'Explanation card');
    c.appendChild(el('p', 'The card (images with their Grad-CAM maps, contributions, probabilities) as one HTML file to keep with the record.', 'note'));
    const b = el('button', 'Download the explanation card (HTML)'); b.type = 'button'; b.id = 'card-button';
    b.addEventListener('click', () => downloadCard(b));
    c.appendChild(b);
    result.hidden = false;
  }

  // The form as last submitted: the card is drawn on demand from the same fields.
  let submitted = null;

  async function post(data) {
    const response = await fetch('api/predict', {method: 'POST', body: data});
    const body = await response.json();
    if (!response.ok) {
      statusEl.className = 'error'; statusEl.textContent = body.detail || ('error ' + response.status);
      const field = body.field && form.elements.namedItem(body.field);
      if (field && field.classList) field.classList.add('bad');
      return null;
    }
    return body;
  }

  async function downloadCard(b) {
    const data = new FormData();
    for (const [k, v] of submitted.entries()) data.append(k, v);
    data.append('card', 'true');
    b.disabled = true; statusEl.className = ''; statusEl.textContent = 'Drawing the card ...';
    try {
      const body = await post(data);
      if (!body) return;
      if (cardUrl) URL.revokeObjectURL(cardUrl);
      cardUrl = URL.createObjectURL(new Blob([body.card_html], {type: 'text/html'}));
      let a = document.getElementById('card-download');
      if (!a) { a = el('a', 'explanation_card.html'); a.id = 'card-download'; b.after(a); }
      a.href = cardUrl; a.download = 'explanation_card.html';
      a.click();
      statusEl.textContent = 'Card ready (also linked beside the button).';
      document.body.dataset.card = 'true';
    } catch (err) {
      statusEl.className = 'error'; statusEl.textContent = 'The server could not be reached: ' + err;
    } finally {
      b.disabled = false;
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    form.querySelectorAll('.bad').forEach(e => e.classList.remove('bad'));
    const data = new FormData(form);
    button.disabled = true; statusEl.className = ''; statusEl.textContent = 'Predicting ...';
    try {
      const body = await post(data);
      if (!body) return;
      submitted = data;
      show(body);
      statusEl.textContent = 'Done in ' + Math.round(body.timing_ms.checks + body.timing_ms.queued + body.timing_ms.inference) + ' ms.';
      document.body.dataset.done = 'true';
    } catch (err) {
      statusEl.className = 'error'; statusEl.textContent = 'The server could not be reached: ' + err;
    } finally {
      button.disabled = false;
    }
  });
})();
"""


def _image_field(f: dict[str, Any], max_file_mb: float) -> str:
    name = html.escape(f["name"])
    hint = f"up to {f['max_images']} images, PNG/JPEG/DICOM, {max_file_mb:g} MB each; none if not acquired"
    desc = f" ({html.escape(f['description'])})" if f["description"] else ""
    return (f"<label>{name}{desc}<br><span class='hint'>{html.escape(hint)}</span>"
            f"<input type='file' name='{name}' id='f-{name}' multiple "
            "accept='.png,.jpg,.jpeg,.dcm,.dicom,image/png,image/jpeg,application/dicom'></label>")


def _descriptor_field(d: dict[str, Any]) -> str:
    name = html.escape(d["name"])
    desc = html.escape(d["description"])
    if "levels" in d:
        options = "".join(f"<option value='{html.escape(v)}'>{html.escape(v)}</option>"
                          for v in d["levels"])
        control = (f"<select name='{name}' id='f-{name}'><option value=''>not recorded</option>"
                   f"{options}</select>")
        hint = d["kind"]
    else:
        control = f"<input type='number' step='any' name='{name}' id='f-{name}' placeholder='not recorded'>"
        hint = f"number{', ' + d['unit'] if d.get('unit') else ''}"
    extra = f" {desc}" if desc else ""
    return f"<label>{name} <span class='hint'>({html.escape(hint)}){extra}</span>{control}</label>"


def render_page(spec: dict[str, Any], *, title: str = "lnfusion", max_file_mb: float = 20.0) -> str:
    """The page of a served model.

    Parameters
    ----------
    spec : dict
        The form's fields (:meth:`lnfusion.serve.PatientForm.describe`).
    title : str
    max_file_mb : float
        The upload limit shown beside each image field.

    Returns
    -------
    str
        A complete HTML document with no external resource.
    """
    images = "".join(_image_field(f, max_file_mb) for f in spec["images"])
    descriptors = "".join(_descriptor_field(d) for d in spec["descriptors"])
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<link rel='icon' href='data:,'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{html.escape(title)}</h1><p>Classes: "
        f"{html.escape(', '.join(spec['classes']))}. Upload one lesion's images and "
        "descriptors; nothing is kept after the answer.</p></header><main>",
        "<form id='patient' enctype='multipart/form-data' autocomplete='off'>",
    ]
    if images:
        parts.append(f"<fieldset><legend>Images</legend><div class='grid'>{images}</div></fieldset>")
    if descriptors:
        parts.append("<fieldset><legend>Descriptors</legend><div class='grid'>"
                     f"{descriptors}</div></fieldset>")
    parts += ["<button type='submit'>Predict</button><span id='status' role='status'></span>",
              "</form><div id='result' hidden></div>",
              "<p class='note'>Research software, not a medical device: the explanations "
              "describe the model, not the disease. API: "
              "<a href='docs'>docs</a>, <a href='api/schema'>api/schema</a>.</p>",
              f"</main><script>{_SCRIPT}</script></body></html>"]
    return "\n".join(parts) + "\n"


def render_api_docs(openapi: dict[str, Any]) -> str:
    """The OpenAPI document as one self-contained HTML page (what ``GET /docs`` shows).

    FastAPI's default ``/docs`` loads Swagger UI from a CDN; a served model must
    work without network, so its documentation is rendered here from the same
    OpenAPI document (``GET /openapi.json``).
    """
    info = openapi.get("info", {})
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             "<link rel='icon' href='data:,'>",
             f"<title>{html.escape(info.get('title', 'API'))} - API</title><style>{_CSS}</style>",
             "</head><body>",
             f"<header><h1>{html.escape(info.get('title', 'API'))} {html.escape(info.get('version', ''))}"
             f"</h1><p>{html.escape(info.get('description', ''))}</p></header><main>",
             "<p>Machine-readable: <a href='openapi.json'>openapi.json</a>. The form: <a href='./'>/</a>.</p>"]
    for path, methods in openapi.get("paths", {}).items():
        for method, op in methods.items():
            parts.append(f"<section class='card'><h2>{html.escape(method.upper())} {html.escape(path)}</h2>"
                         f"<p>{html.escape(op.get('summary', ''))}</p>")
            body = op.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                schema = content.get("schema", {})
                required = set(schema.get("required", []))
                rows = []
                for name, prop in schema.get("properties", {}).items():
                    kind = prop.get("type", "")
                    if kind == "array":
                        kind = f"file(s), at most {prop.get('maxItems', '')}"
                    if "enum" in prop:
                        kind += ": " + " | ".join(repr(v) for v in prop["enum"])
                    rows.append(f"<tr><td>{html.escape(name)}</td><td>{html.escape(kind)}</td>"
                                f"<td>{'yes' if name in required else ''}</td>"
                                f"<td>{html.escape(prop.get('description', ''))}</td></tr>")
                parts.append(f"<p>Body: {html.escape(media)}</p><table><tr><th>field</th><th>type</th>"
                             f"<th>required</th><th>meaning</th></tr>{''.join(rows)}</table>")
            codes = ", ".join(f"{html.escape(c)} {html.escape(r.get('description', ''))}"
                              for c, r in op.get("responses", {}).items())
            parts.append(f"<p class='note'>Responses: {codes}</p></section>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"
