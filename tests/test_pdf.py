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
