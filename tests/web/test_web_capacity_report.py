"""The PDF pack's capacity and unmet-need sections, read back out of the PDF, are the
figures careweave.capacity works out from the same store (counts suppressed)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
import pytest
from test_web_intelligence import make_measures
from web_helpers import demo_store

from careweave.capacity import norms, plan, staffing, unmet
from careweave.cli.main import main
from careweave.store.db import make_engine, session_factory

pytestmark = pytest.mark.xdist_group("web-intelligence")


def test_board_pack_has_capacity_and_unmet_need(tmp_path: Path) -> None:
    warehouse = make_measures(tmp_path / "warehouse.duckdb")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    demo_store(url)
    out = tmp_path / "board.pdf"
    args = ["report", "--warehouse", str(warehouse), "--db", url, "--area", "board"]
    assert main([*args, "--period", "2024-01..2025-08", "--out", str(out)]) == 0
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(out.read_bytes())).pages)
    flat = " ".join(text.split())
    assert "Capacity: staff needed and in post" in flat
    assert "Staff needed and in post (WTE), Whole health board" in flat
    assert "seed 000 §6.5" in flat
    n = norms.load()
    with session_factory(make_engine(url))() as s:
        _, board = plan.build(s, n, staffing.from_store(s, n))
        need = unmet.compute(s, n, __import__("datetime").datetime.now(__import__("datetime").UTC))
    for line in board.lines:
        needed = "–" if line.needed_wte is None else f"{line.needed_wte:,.1f}"
        row = rf"{re.escape(line.norm.title)} [\d, ]+ {re.escape(line.people.text)} \S+ {re.escape(needed)} {line.in_post_wte:,.1f}"
        assert re.search(row, flat), (line.norm.title, flat[flat.index("Capacity:") :][:1500])
    assert "Referrals showing unmet need, Whole health board" in flat
    for kind, words in unmet.KINDS.items():
        assert f"{words} {need.total('kind', kind).text}" in flat
