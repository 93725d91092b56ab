"""HTML to PDF, one way for every report (commissioner packs, maturity assessments).

WeasyPrint (pinned in pyproject.toml; Debian's Pango, HarfBuzz and fonts come from
``scripts/system-deps.sh``) lays out ordinary HTML and CSS as A4 pages: nothing
is drawn by hand. A caller renders its own HTML (a Jinja2 template, usually the
same charts as the page) and passes it here with:

- ``title``: the document's title (PDF metadata and the running header);
- ``footer``: a line printed at the foot of every page beside "Page N of M"
  (a report says where its figures come from and when they were produced);
- ``css``: extra CSS after :data:`PRINT_CSS` (which sets the page, type and tables);
- ``svg_css``: CSS put *inside* every inline ``<svg>``. WeasyPrint draws inline
  SVG with its own renderer, which does not see the document's stylesheets, so
  charts styled by class (``careweave.css``'s ``.cw-chart`` rules) need their
  rules repeated there to keep their colours and dashes.

:func:`render_pdf` returns the bytes (for a download); :func:`write_pdf` writes a
file atomically (a temporary file beside it, then renamed), so a failed render
leaves no half-written PDF. Both raise :class:`careweave.errors.CareweaveError`
with one sentence when the layout engine cannot be loaded or the file cannot be
written. Rendering is synchronous and CPU-bound: a web handler should call it in
a worker thread.

It sits in the bottom layer beside ``errors`` and ``duck`` (it imports nothing of
Careweave's but ``errors``), so the CLI, the web pages and the analytics packages
may all use it.
"""

from __future__ import annotations

import os
import re
import tempfile
from html import escape
from pathlib import Path
from typing import Any

from careweave.errors import CareweaveError

#: The page and type of every Careweave PDF (A4, NHS.UK-like type, tables that split
#: cleanly across pages). Callers add their own rules through ``css``.
PRINT_CSS = """
@page {
  size: A4;
  margin: 18mm 15mm 20mm 15mm;
  @top-left { content: element(cw-title); }
  @bottom-left { content: element(cw-footer); width: 75%; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages);
                  font-size: 7.5pt; color: #4c6272; }
}
html { font-family: Arial, "Liberation Sans", "DejaVu Sans", sans-serif;
       font-size: 10pt; color: #212b32; line-height: 1.35; }
/* The running header and footer: taken out of the flow onto every page. */
.cw-pdf-title { position: running(cw-title); font-size: 8pt; color: #4c6272; }
.cw-pdf-footer { position: running(cw-footer); font-size: 7.5pt; color: #4c6272; }
h1 { font-size: 20pt; margin: 0 0 4mm; }
h2 { font-size: 14pt; margin: 7mm 0 2mm; break-after: avoid; }
h3 { font-size: 11pt; margin: 5mm 0 1.5mm; break-after: avoid; }
p { margin: 0 0 2.5mm; }
table { border-collapse: collapse; width: 100%; margin: 0 0 4mm; font-size: 8.5pt; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
th, td { border-bottom: 0.5pt solid #aeb7bd; padding: 1.2mm 1.5mm; text-align: left;
         vertical-align: top; }
th { font-weight: bold; }
td.num, th.num { text-align: right; }
caption { text-align: left; font-weight: bold; padding-bottom: 1mm; }
figure { margin: 0 0 4mm; break-inside: avoid; }
figcaption { font-size: 8pt; color: #4c6272; }
svg { max-width: 100%; height: auto; }
.cw-pdf-source { font-size: 8pt; color: #4c6272; }
.cw-pdf-break { break-before: page; }
"""

_SVG_OPEN = re.compile(r"<svg\b[^>]*>", re.IGNORECASE)


def _with_svg_css(html: str, svg_css: str) -> str:
    style = f"<style>{svg_css}</style>"
    return _SVG_OPEN.sub(lambda m: m.group(0) + style, html)


def _document(html: str, title: str, footer: str | None) -> str:
    """``html`` with the running header and footer strings, whole document or fragment."""
    marks = f'<p class="cw-pdf-title">{escape(title)}</p>'
    if footer:
        marks += f'<p class="cw-pdf-footer">{escape(footer)}</p>'
    body = re.search(r"<body\b[^>]*>", html, re.IGNORECASE)
    if body:
        return html[: body.end()] + marks + html[body.end() :]
    return (
        f'<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body>{marks}{html}</body></html>"
    )


def _weasyprint() -> Any:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango or its friends missing
        raise CareweaveError(
            f"cannot make PDFs: WeasyPrint or its system libraries are missing ({exc}); "
            "run scripts/system-deps.sh"
        ) from exc
    return weasyprint


def render_pdf(
    html: str,
    *,
    title: str,
    footer: str | None = None,
    css: str = "",
    svg_css: str = "",
    base_url: str | Path | None = None,
) -> bytes:
    """The PDF of ``html`` (a whole document or a fragment) as bytes; see the module doc."""
    weasyprint = _weasyprint()
    source = _document(_with_svg_css(html, svg_css) if svg_css else html, title, footer)
    document = weasyprint.HTML(
        string=source, base_url=str(base_url) if base_url is not None else None
    )
    sheets = [weasyprint.CSS(string=PRINT_CSS)]
    if css:
        sheets.append(weasyprint.CSS(string=css))
    data = document.write_pdf(stylesheets=sheets)
    assert isinstance(data, bytes)
    return data


def write_pdf(
    html: str,
    out: str | Path,
    *,
    title: str,
    footer: str | None = None,
    css: str = "",
    svg_css: str = "",
    base_url: str | Path | None = None,
) -> Path:
    """Render ``html`` and write it to ``out`` atomically; returns the path written."""
    path = Path(out)
    if not path.parent.is_dir():
        raise CareweaveError(f"{path}: its folder {path.parent} does not exist")
    data = render_pdf(html, title=title, footer=footer, css=css, svg_css=svg_css, base_url=base_url)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CareweaveError(f"{path}: cannot write the PDF ({exc.strerror})") from exc
    return path
