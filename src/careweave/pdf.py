"""HTML to PDF, one way for every report (commissioner packs, maturity assessments).

WeasyPrint (pinned in pyproject.toml; Debian's Pango, HarfBuzz and fonts come from
``scripts/system-deps.sh``) lays out ordinary HTML and CSS as A4 pages: nothing
is drawn by hand. A caller renders its own HTML (a Jinja2 template, usually the
same charts as the page) and passes it here with:

- ``title``: the document's title (PDF metadata and the running header);
- ``footer``: a line printed at the foot of every page beside "Page N of M"
  (a report says where its figures come from and when they were produced);
- ``css``: extra CSS after :data:`PRINT_CSS` (which sets the page, type and tables);
- ``svg_css``: CSS for the inside of every inline ``<svg>``. WeasyPrint draws
  SVG with its own renderer, which does not see the document's stylesheets, so
  charts styled by class (``careweave.css``'s ``.cw-chart`` rules) need their
  rules repeated for them to keep their colours and dashes.

Inline SVG is handed to WeasyPrint as images, not as part of the page's HTML: each
``<svg>`` with a ``width`` and ``height`` that parses as XML becomes an ``<img>``
(its classes kept, its ``<title>`` as the alt text) whose source is the SVG as a
``data:`` URI, with ``svg_css``'s rules written onto the elements they select as
presentation attributes (WeasyPrint's SVG renderer treats a presentation attribute
and a CSS declaration alike). A pack of 60-odd charts rendered this way takes about
a third less time: WeasyPrint otherwise cascades the document's stylesheets over
every point of every chart and compiles each chart's own ``<style>`` anew.
``svg_css`` may hold simple rules only: each selector a chain of compounds
(``tag``, ``.class``, ``tag.class``), of which the last selects the elements (a
rule selecting the ``<svg>`` itself is the document's business and is left out).
An ``<svg>`` that is not converted keeps ``svg_css`` as a ``<style>`` inside it,
as before. Document CSS that sizes charts should select ``img.cw-chart`` as well
as ``svg`` (:data:`PRINT_CSS` does).

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

import base64
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from html import escape, unescape
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
svg, img.cw-chart { max-width: 100%; height: auto; }
.cw-pdf-source { font-size: 8pt; color: #4c6272; }
.cw-pdf-break { break-before: page; }
"""

_SVG_OPEN = re.compile(r"<svg\b[^>]*>", re.IGNORECASE)
_SVG = re.compile(r"<svg\b.*?</svg>", re.IGNORECASE | re.DOTALL)
_START_TAG = re.compile(
    r"<([A-Za-z][\w:-]*)((?:\s+[^\s=/>]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'))?)*)\s*(/?)>"
)
_ATTR = re.compile(r"([^\s=/>]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'))?")
_COMPOUND = re.compile(r"^([A-Za-z][\w-]*)?((?:\.[\w-]+)*)$")
SVG_NS = "http://www.w3.org/2000/svg"

#: One rule of ``svg_css``: its specificity (classes, tags), the tag (or None) and classes its last
#: compound selects, its declarations.
_Rule = tuple[tuple[int, int], str | None, frozenset[str], list[tuple[str, str]]]


def _with_svg_css(html: str, svg_css: str) -> str:
    style = f"<style>{svg_css}</style>"
    return _SVG_OPEN.sub(lambda m: m.group(0) + style, html)


def _svg_rules(svg_css: str) -> list[_Rule]:
    """``svg_css``'s rules, in cascade order; ValueError for a selector it cannot apply."""
    rules: list[_Rule] = []
    css = re.sub(r"/\*.*?\*/", "", svg_css, flags=re.DOTALL)
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = []
        for part in body.split(";"):
            name, colon, value = part.partition(":")
            if colon and name.strip():
                value = value.replace("!important", "").strip()
                declarations.append((name.strip().lower(), value))
        for selector in selectors.split(","):
            compounds = selector.split()
            if not compounds:
                continue
            tags = classes = 0
            last: tuple[str | None, frozenset[str]] = (None, frozenset())
            for c in compounds:
                m = _COMPOUND.match(c)
                if m is None or not (m.group(1) or m.group(2)):
                    raise ValueError(f"svg_css: cannot apply the selector {selector.strip()!r}")
                names = frozenset(m.group(2).split(".")[1:])
                tags += bool(m.group(1))
                classes += len(names)
                last = (m.group(1), names)
            rules.append(((classes, tags), last[0], last[1], declarations))
    # a stable sort: rules of equal specificity keep the stylesheet's order
    return sorted(rules, key=lambda r: r[0])


def _inline(svg: str, rules: list[_Rule]) -> str:
    """``svg`` with the rules' declarations written as attributes of the elements they
    select (over any attribute of the same name, as CSS would override it)."""

    def element(m: re.Match[str]) -> str:
        tag, attrs, close = m.group(1), m.group(2), m.group(3)
        if tag.lower() == "svg":
            return m.group(0)
        values = {
            a.group(1): unescape(a.group(2) or a.group(3) or "") for a in _ATTR.finditer(attrs)
        }
        classes = set(values.get("class", "").split())
        changed = False
        for _, rule_tag, rule_classes, declarations in rules:
            if (rule_tag is None or rule_tag == tag) and rule_classes <= classes:
                for name, value in declarations:
                    values[name] = value
                    changed = True
        if not changed:
            return m.group(0)
        text = "".join(f' {k}="{escape(v, quote=True)}"' for k, v in values.items())
        return f"<{tag}{text}{' /' if close else ''}>"

    return _START_TAG.sub(element, svg)


def _svg_image(svg: str, rules: list[_Rule], svg_css: str) -> str:
    """An ``<img>`` drawing ``svg`` (see the module doc), or ``svg`` with its ``<style>``
    when it has no width and height or is not well-formed XML."""
    opening = _SVG_OPEN.match(svg)
    assert opening is not None
    attrs = {
        a.group(1): unescape(a.group(2) or a.group(3) or "")
        for a in _ATTR.finditer(opening.group(0)[4:-1])
    }
    fallback = _with_svg_css(svg, svg_css) if svg_css else svg
    if "width" not in attrs or "height" not in attrs:
        return fallback
    document = _inline(svg, rules)
    if "xmlns" not in attrs:
        document = document.replace("<svg", f'<svg xmlns="{SVG_NS}"', 1)
    try:
        root = ET.fromstring(document)
    except ET.ParseError:
        return fallback
    title = root.find(f"{{{SVG_NS}}}title")
    alt = "".join(title.itertext()) if title is not None else ""
    data = base64.b64encode(document.encode("utf-8")).decode("ascii")
    return (
        f'<img class="{escape(attrs.get("class", ""), quote=True)}" alt="{escape(alt, quote=True)}" '
        f'width="{escape(attrs["width"], quote=True)}" height="{escape(attrs["height"], quote=True)}" '
        f'src="data:image/svg+xml;base64,{data}">'
    )


def _svg_images(html: str, svg_css: str) -> str:
    """Every inline ``<svg>`` of ``html`` as :func:`_svg_image` makes it."""
    rules = _svg_rules(svg_css)
    return _SVG.sub(lambda m: _svg_image(m.group(0), rules, svg_css), html)


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
    source = _document(_svg_images(html, svg_css), title, footer)
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
