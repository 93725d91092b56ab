"""Audit chain: intact chains verify; altered, removed or reordered entries are named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from careweave.cli.main import main
from careweave.security import audit
from careweave.store.db import make_engine, session_factory, transaction, upgrade

T = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _fill(url: str, n: int = 6) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    for i in range(n):
        with transaction(sessions) as s:
            audit.record(
                s,
                actor="dr_gp",
                action="read",
                resource="person",
                nhs_number="9434765919",
                detail=f"basis=care_team {i}",
                now=T + dt.timedelta(minutes=i),
            )
    return engine


def _tamper(engine: Engine, sql: str) -> None:
    """What a DBA with direct access could do: lift the append-only triggers, then edit."""
    with engine.begin() as c:
        if engine.dialect.name == "sqlite":
            c.execute(text("DROP TRIGGER audit_log_no_update"))
            c.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            c.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        c.execute(text(sql))


def _verify(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["audit", "verify", "--db", url])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_intact_chain_exits_0_with_count(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(store_url).dispose()
    code, out = _verify(store_url, capsys)
    assert code == 0
    assert "6 entries" in out


def test_database_refuses_update_and_delete(store_url: str) -> None:
    engine = _fill(store_url)
    for sql in (
        "UPDATE audit_log SET actor = 'x' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as c:
            c.execute(text(sql))
    engine.dispose()


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE audit_log SET actor = 'intruder' WHERE seq = 3", "entry 3: altered"),
        ("UPDATE audit_log SET detail = 'basis=practice 4' WHERE seq = 5", "entry 5: altered"),
        ("DELETE FROM audit_log WHERE seq = 4", "entry 4: missing"),
        ("DELETE FROM audit_log WHERE seq = 6", "entry 6: missing"),
        # Reorder: swap the contents of entries 2 and 3 (keeping their sequence numbers).
        (
            "UPDATE audit_log SET detail = CASE seq WHEN 2 THEN 'basis=care_team 2' "
            "ELSE 'basis=care_team 1' END, at = CASE seq WHEN 2 THEN (SELECT at FROM audit_log "
            "WHERE seq = 3) ELSE (SELECT at FROM audit_log WHERE seq = 2) END WHERE seq IN (2, 3)",
            "entry 2: altered",
        ),
        # Renumber to close the gap left by a deletion.
        (
            "DELETE FROM audit_log WHERE seq = 2; UPDATE audit_log SET seq = seq - 1 WHERE seq > 2",
            "entry 2: does not follow",
        ),
    ],
)
def test_tampering_is_detected_and_named(
    store_url: str, capsys: pytest.CaptureFixture[str], sql: str, expected: str
) -> None:
    engine = _fill(store_url)
    for statement in sql.split("; "):
        _tamper(engine, statement) if statement == sql.split("; ")[0] else _raw(engine, statement)
    engine.dispose()
    code, out = _verify(store_url, capsys)
    assert code == 1
    assert expected in out


def _raw(engine: Engine, sql: str) -> None:
    with engine.begin() as c:
        c.execute(text(sql))


def test_chain_does_not_fork_under_concurrent_writers(store_url: str) -> None:
    """Threads appending at once still build one chain."""
    from concurrent.futures import ThreadPoolExecutor

    engine = _fill(store_url, 1)
    sessions = session_factory(engine)

    def work(i: int) -> None:
        for j in range(10):
            with transaction(sessions) as s:
                audit.record(
                    s, actor=f"u{i}", action="read", resource="person", now=T, detail=str(j)
                )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    with sessions() as s:
        v = audit.verify(s)
    assert v.intact, v.problem
    assert v.count == 41
    engine.dispose()


def test_verify_refuses_a_missing_or_unmigrated_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert main(["audit", "verify", "--db", missing]) == 2
    assert "no such store file" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()
    make_engine(f"sqlite:///{tmp_path / 'empty.db'}").connect().close()
    assert main(["audit", "verify", "--db", f"sqlite:///{tmp_path / 'empty.db'}"]) == 2
    assert "careweave db upgrade" in capsys.readouterr().err


# ---------------------------------------------------------------- anchors


def _rewrite_whole_chain(engine: Engine, keep: int, actor: str = "dr_gp") -> None:
    """What verify alone cannot catch: someone with the database rewrites entries and head
    consistently (here: keeps the first ``keep`` entries, re-signs them as ``actor``)."""
    _tamper(engine, f"DELETE FROM audit_log WHERE seq > {keep}")
    with engine.begin() as c:
        rows = c.execute(
            text(
                "SELECT seq, at, action, resource, resource_id, nhs_number, detail "
                "FROM audit_log ORDER BY seq"
            )
        ).all()
        prev = audit.GENESIS
        for r in rows:
            digest = audit.entry_hash(
                r.seq,
                r.at,
                actor,
                r.action,
                r.resource,
                r.resource_id,
                r.nhs_number,
                r.detail,
                prev,
            )
            c.execute(
                text("UPDATE audit_log SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s"),
                {"a": actor, "p": prev, "h": digest, "s": r.seq},
            )
            prev = digest
        c.execute(
            text("UPDATE audit_head SET last_seq = :s, last_hash = :h WHERE id = 1"),
            {"s": len(rows), "h": prev},
        )


def _anchor(url: str, path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["audit", "anchor", "--db", url, "--append", str(path)]) == 0
    printed = capsys.readouterr().out.strip()
    assert path.read_text().splitlines()[-1] == printed
    return dict(json.loads(printed))


def test_anchors_catch_a_chain_rewritten_with_its_head(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchors = tmp_path / "anchors.jsonl"
    engine = _fill(store_url, 4)
    first = _anchor(store_url, anchors, capsys)
    assert first["seq"] == 4 and len(str(first["hash"])) == 64
    sessions = session_factory(engine)
    for i in range(2):
        with transaction(sessions) as s:
            audit.record(s, actor="nurse", action="read", resource="person", now=T, detail=str(i))
    assert _anchor(store_url, anchors, capsys)["seq"] == 6
    assert main(["audit", "verify", "--db", store_url, "--anchors", str(anchors)]) == 0
    assert "6 entries; 2 anchors match" in capsys.readouterr().out

    _rewrite_whole_chain(engine, keep=6, actor="someone_else")
    engine.dispose()
    assert _verify(store_url, capsys)[0] == 0  # consistent on its own: only anchors can tell
    assert main(["audit", "verify", "--db", store_url, "--anchors", str(anchors)]) == 1
    err = capsys.readouterr().err
    assert "entry 4 no longer has its anchored hash" in err and "rewritten" in err


def test_anchors_catch_a_truncated_chain(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchors = tmp_path / "anchors.jsonl"
    engine = _fill(store_url, 5)
    _anchor(store_url, anchors, capsys)
    _rewrite_whole_chain(engine, keep=3)  # drop the last two and fix the head to match
    engine.dispose()
    assert _verify(store_url, capsys)[0] == 0
    assert main(["audit", "verify", "--db", store_url, "--anchors", str(anchors)]) == 1
    assert "entry 5 is missing" in capsys.readouterr().err


def test_empty_chain_anchors_and_broken_chain_is_not_anchored(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchors = tmp_path / "anchors.jsonl"
    _fill(store_url, 0).dispose()
    assert _anchor(store_url, anchors, capsys) | {"at": ""} == {
        "seq": 0,
        "hash": audit.GENESIS,
        "at": "",
    }
    engine = _fill(store_url, 3)
    _tamper(engine, "UPDATE audit_log SET actor = 'intruder' WHERE seq = 2")
    engine.dispose()
    before = anchors.read_text()
    assert main(["audit", "anchor", "--db", store_url, "--append", str(anchors)]) == 1
    err = capsys.readouterr().err
    assert "entry 2: altered" in err and "not anchored" in err
    assert anchors.read_text() == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"seq": 1, "hash": "abc", "at": "2026-11-01T00:00:00+00:00"}\n', ":1: hash must be"),
        ("\n\nnot json\n", ":3: not a JSON line"),
        ('{"seq": -1, "hash": "' + "0" * 64 + '", "at": "x"}\n', ":1: seq must be"),
        ("[1, 2]\n", ":1: expected an object"),
    ],
)
def test_bad_anchor_file_is_named_with_its_line(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    _fill(store_url, 1).dispose()
    bad = tmp_path / "anchors.jsonl"
    bad.write_text(content)
    assert main(["audit", "verify", "--db", store_url, "--anchors", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}{expected}" in err and len(err.strip().splitlines()) == 1
    assert main(["audit", "verify", "--db", store_url, "--anchors", str(tmp_path / "no")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_anchor_to_an_unwritable_file_is_one_line(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(store_url, 1).dispose()
    assert main(["audit", "anchor", "--db", store_url, "--append", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"--append {tmp_path}: cannot write" in err and len(err.strip().splitlines()) == 1
