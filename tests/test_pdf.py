"""careweave.pdf: HTML to an A4 PDF whose text, running footer and charts survive."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest

from careweave import pdf
from careweave.errors import CareweaveError

SVG = (
    '<svg class="cw-chart" viewBox="0 0 100 50" width="200" height="100" '
    'xmlns="http://www.w3.org/2000/svg"><polyline class="cw-line" points="0,0 50,40 100,10"/>'
    "</svg>"
)


def _text(data: bytes) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages]


def test_a_fragment_becomes_an_a4_pdf_with_title_footer_and_page_numbers() -> None:
    data = pdf.render_pdf(
        "<h1>Locality pack</h1><p>12,345 people</p>" + '<p class="cw-pdf-break">Second</p>',
        title="North locality",
        footer="Source: warehouse.duckdb, measures of 1 Dec 2026",
    )
    assert data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    first, second = _text(data)
    assert "12,345 people" in first
    for page, n in ((first, 1), (second, 2)):
        assert "North locality" in page
        assert "Source: warehouse.duckdb, measures of 1 Dec 2026" in page
        assert f"Page {n} of 2" in page
    # the title and footer are printed in the margins, not also in the flow
    assert first.count("North locality") == 1


def test_svg_css_reaches_inside_inline_svg() -> None:
    assert (
        pdf._with_svg_css(SVG + SVG, ".cw-line{stroke:red}").count(
            "<style>.cw-line{stroke:red}</style>"
        )
        == 2
    )
    plain = pdf.render_pdf(SVG, title="t")
    styled = pdf.render_pdf(SVG, title="t", svg_css=".cw-chart .cw-line{fill:none;stroke:#d5281b}")
    assert plain != styled


def test_a_whole_document_keeps_its_head(tmp_path: Path) -> None:
    html = (
        '<!DOCTYPE html><html lang="en-GB"><head><title>Doc</title>'
        "<style>p{color:#005eb8}</style></head><body><p>Body text</p></body></html>"
    )
    out = pdf.write_pdf(html, tmp_path / "doc.pdf", title="Doc")
    assert out == tmp_path / "doc.pdf"
    assert "Body text" in _text(out.read_bytes())[0]
    assert [p.name for p in tmp_path.iterdir()] == ["doc.pdf"]  # no temporary left


def test_write_pdf_into_a_missing_folder_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(CareweaveError, match="does not exist"):
        pdf.write_pdf("<p>x</p>", tmp_path / "nope" / "x.pdf", title="x")


def test_inline_svg_becomes_an_image_with_its_css_as_attributes() -> None:
    import base64
    import re

    css = (
        ".cw-chart { max-width: 100%; }"
        ".cw-chart text { font-size: 14px; fill: #212b32 }"
        ".cw-chart .cw-line { fill: none; stroke: #005eb8 }"
        ".cw-chart .cw-spc-line { stroke: #768692 }"  # later, same specificity: wins
        ".cw-chart text.cw-big { font-size: 20px }"  # more specific than the tag alone
    )
    svg = (
        '<svg class="cw-chart" viewBox="0 0 100 50" width="200" height="100" '
        'xmlns="http://www.w3.org/2000/svg"><title>Admissions &amp; more</title>'
        '<polyline class="cw-line cw-spc-line" stroke="red" points="0,0 50,40"/>'
        '<text class="cw-big" x="1" y="9" aria-label="Jan &amp; 22">Jan 22</text>'
        '<text x="1" y="20">Dec 23</text></svg>'
    )
    out = pdf._svg_images("<p>x</p>" + svg, css)
    img = re.search(
        r'<img class="cw-chart" alt="Admissions &amp; more" width="200" '
        r'height="100" src="data:image/svg\+xml;base64,([^"]+)">',
        out,
    )
    assert img is not None and "<svg" not in out
    inner = base64.b64decode(img.group(1)).decode()
    assert (
        '<polyline class="cw-line cw-spc-line" stroke="#768692" points="0,0 50,40" fill="none" />'
        in inner
    )
    assert 'aria-label="Jan &amp; 22" font-size="20px" fill="#212b32">Jan 22' in inner
    assert '<text x="1" y="20" font-size="14px" fill="#212b32">Dec 23' in inner
    assert "max-width" not in inner  # the rule for the <svg> itself is the document's


def test_svg_that_cannot_be_an_image_stays_inline_with_its_style() -> None:
    no_size = '<svg class="cw-chart" viewBox="0 0 10 10"><line class="cw-line"/></svg>'
    not_xml = SVG.replace("</polyline>", "").replace("/>", ">&nbsp;")  # HTML only
    for svg in (no_size, not_xml):
        assert pdf._svg_images(svg, ".cw-line{stroke:red}") == pdf._with_svg_css(
            svg, ".cw-line{stroke:red}"
        )


def test_svg_css_with_a_selector_it_cannot_apply_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot apply the selector"):
        pdf._svg_images(SVG, ".cw-chart > .cw-line { stroke: red }")
    with pytest.raises(ValueError, match="cannot apply the selector"):
        pdf._svg_images(SVG, ".cw-line:hover { stroke: red }")


def test_chart_text_drawn_from_an_image_is_in_the_pdf() -> None:
    svg = (
        '<svg class="cw-chart" viewBox="0 0 200 50" width="200" height="50" '
        'xmlns="http://www.w3.org/2000/svg"><text class="cw-label" x="5" y="30">Dec 23</text></svg>'
    )
    data = pdf.render_pdf(svg, title="t", svg_css=".cw-chart .cw-label { font-size: 14px }")
    assert "Dec 23" in _text(data)[0]
