"""careweave report and the pages' PDF download: the pack's figures, read back out of the
PDF as text, are the persisted measures after disclosure control."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
import pytest
from fastapi.testclient import TestClient
from test_web_intelligence import DNA, make_measures
from web_helpers import demo_store, sign_in

from careweave.cli.main import main
from careweave.server import build_app
from careweave.settings import Settings

pytestmark = pytest.mark.xdist_group("web-intelligence")


def _text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_measures(tmp_path_factory.mktemp("report") / "warehouse.duckdb")


def _report(warehouse: Path, out: Path, *area: str, period: str = "2024-01..2025-08") -> str:
    code = main(
        [
            "report",
            "--warehouse",
            str(warehouse),
            "--area",
            *area,
            "--period",
            period,
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return _text(out.read_bytes())


def test_board_pack_has_the_kpis_outliers_and_its_sources(warehouse: Path, tmp_path: Path) -> None:
    text = _report(warehouse, tmp_path / "board.pdf", "board")
    flat = " ".join(text.split())
    assert "Whole health board" in flat and "Jan 2024 to Aug 2025" in flat
    # the summary row: Aug 2025's 155 admissions per 1,000 person-years, special cause
    row = re.search(r"Emergency admissions per 1,000 Aug 2025 (\S+) (\S+)", flat)
    assert row is not None and row.group(1) == "155.0", flat[:2000]
    assert "Special cause: concerning (high)" in flat
    # the DNA rate's outlier by practice, named from the warehouse
    assert "Valley Surgery (21.0%)" in flat
    # every page is sourced and dated
    pages = pypdf.PdfReader(tmp_path / "board.pdf").pages
    for page in pages:
        t = " ".join(page.extract_text().split())
        assert "Source: population_measures in warehouse.duckdb" in t
        assert "definition test, duckdb, computed 1 Jan 2026 00:00)" in t
    assert "12 months to 31 Aug 2025" in flat
    # no store given: the pyramid says where it would come from
    assert "give --db" in flat or "give - -db" in flat


def test_practice_pack_suppresses_small_counts(warehouse: Path, tmp_path: Path) -> None:
    text = _report(
        warehouse, tmp_path / "gp1.pdf", "practice", "DEMO-GP1", period="2025-01..2025-08"
    )
    flat = " ".join(text.split())
    assert "Jan 2025 to Aug 2025" in flat
    # 40 admissions over 100 person-years is 400.0; the months of 3 (30.0) never show
    assert re.search(r"Emergency admissions per 1,000 Aug 2025 400\.0", flat)
    assert "30.0" not in flat
    # its funnel position on the DNA rate: 100 of 1,000, inside
    assert re.search(r"Outpatient did-not-attend rate 10\.0% \S+ \S+ to \S+ Inside", flat), flat
    gp6 = " ".join(_report(warehouse, tmp_path / "gp6.pdf", "practice:GP6").split())
    assert "Not plotted (count below 8)" in gp6
    assert "12.5%" not in gp6  # its 5 of 40
    gp4 = " ".join(_report(warehouse, tmp_path / "gp4.pdf", "practice", "GP4").split())
    assert re.search(r"Outpatient did-not-attend rate 21\.0% \S+ \S+ to \S+ Above", gp4)
    # benchmarking: first of the 5 shown practices, in the highest quarter (lower is better)
    assert re.search(
        r"Outpatient did-not-attend rate 21\.0% 1 of 5 10\.2% \(10\.0% to 11\.\d%\) "
        r"Highest quarter: worse than the median",
        gp4,
    ), gp4
    assert "No peers: no age and deprivation profile for this practice" in gp4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--area", "ward", "X"], "is not board, locality CODE or practice CODE"),
        (["--area", "practice", "NOPE"], "no measures for practice 'NOPE'"),
        (["--area", "board", "--period", "2025"], "is not FROM..TO"),
        (["--area", "board", "--period", "2025-05..2025-01"], "starts after it ends"),
    ],
)
def test_bad_choices_are_one_line_errors(
    warehouse: Path,
    tmp_path: Path,
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["report", "--warehouse", str(warehouse), "--out", str(tmp_path / "x.pdf"), *argv]
    if "--period" not in argv:
        args += ["--period", "2024-01..2025-08"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x.pdf").exists()


def test_the_pages_download_the_pack(warehouse: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    demo_store(url)
    app = build_app(
        Settings(db=url, warehouse=warehouse, insecure_cookies=True, pseudonym_key="r" * 32)
    )
    with TestClient(app) as analyst, TestClient(app) as coordinator:
        sign_in(analyst, "commissioner")
        sign_in(coordinator, "coordinator")
        page = analyst.get("/app/population/kpis", params={"area": "practice:GP4"})
        link = re.search(r'href="(/app/population/report\.pdf[^"]+)" id="download-pack"', page.text)
        assert link is not None
        r = analyst.get(link.group(1).replace("&amp;", "&"))
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        assert (
            r.headers["content-disposition"]
            == 'attachment; filename="careweave-pack-practice-GP4-2024-01-2025-08.pdf"'
        )
        flat = " ".join(_text(r.content).split())
        assert "Valley Surgery (practice)" in flat
        assert re.search(r"Outpatient did-not-attend rate 21\.0% \S+ \S+ to \S+ Above", flat)
        # with the store: the CCM pyramid of the whole board
        board = " ".join(_text(analyst.get("/app/population/report.pdf").content).split())
        assert "People in each level, Whole health board" in board
        assert "4 Case management" in board
        funnel = analyst.get("/app/population/funnel", params={"kpi": DNA})
        assert 'href="/app/population/report.pdf" id="download-pack"' in funnel.text
        assert coordinator.get("/app/population/report.pdf").status_code == 403
        bad = analyst.get("/app/population/report.pdf", params={"area": "practice:NOPE"})
        assert bad.status_code == 422


def test_the_pack_has_the_latest_stored_evaluation(warehouse: Path, tmp_path: Path) -> None:
    """With a store holding an evaluation result, the pack ends with its section: verdict,
    effects beside the naive before/after, balance, counts through disclosure control."""
    import datetime as dt

    import duckdb
    from test_web_evaluation import stored

    from careweave.care import evaluations
    from careweave.store.db import make_engine, session_factory, transaction, upgrade
    from careweave.web import report

    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        with sessions() as s:
            empty = report.build(
                con,
                area=("all", "all"),
                period=(dt.date(2025, 1, 1), dt.date(2025, 8, 1)),
                names={},
                source="w.duckdb",
                session=s,
            )
        assert empty.evaluation is None
        assert 'id="evaluation"' not in report.html(empty, {})
        with transaction(sessions) as s:
            evaluations.save(
                s, stored(), {"follow_up_days": 365}, dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
            )
        with sessions() as s:
            pack = report.build(
                con,
                area=("all", "all"),
                period=(dt.date(2025, 1, 1), dt.date(2025, 8, 1)),
                names={},
                source="w.duckdb",
                session=s,
            )
    finally:
        con.close()
    flat = " ".join(_text(report.render(pack, {})).split())
    assert "Evaluation: case management" in flat
    assert "Enrolment was followed by 12% fewer emergency admissions." in flat
    assert "3,925 people enrolled, 3,830 matched to 9,010" in flat
    assert re.search(r"Emergency admissions −12\.4% −17\.4% to −7\.1% −14\.2% 10%\+", flat), flat[
        -1500:
    ]


def test_the_report_command_does_not_import_the_web_framework() -> None:
    """`careweave report` without a store loads neither FastAPI, the API nor the store's
    models (about two seconds of CPU of a pack that should take at most ten), nor
    scipy.stats (over a second; the funnel limits use scipy.special)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from careweave.cli import report as cli_report\n"
        "from careweave.web import report, intelligence\n"
        "heavy = [m for m in ('fastapi', 'careweave.api', 'careweave.store.models', 'argon2',"
        " 'scipy.stats')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_the_report_path_does_not_import_ibis(warehouse: Path, tmp_path: Path) -> None:
    """The pack and the pages only read computed results: importing the report module,
    and making a whole pack with `careweave report`, never imports Ibis (about 0.4 s of
    CPU a cold process; the catalogue is read without the sources, which are Ibis)."""
    import subprocess
    import sys

    out = tmp_path / "board.pdf"
    code = (
        "import sys\n"
        "import careweave.web.report\n"
        "print('imported', 'ibis' in sys.modules)\n"
        "from careweave.cli.main import main\n"
        f"code = main(['report', '--warehouse', {str(warehouse)!r}, '--area', 'board',"
        f" '--period', '2024-01..2025-08', '--out', {str(out)!r}])\n"
        "print('made', code, 'ibis' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = run.stdout.splitlines()
    assert lines[0] == "imported False" and lines[-1] == "made 0 False", run.stdout
    assert "Whole health board" in " ".join(_text(out.read_bytes()).split())
