"""Editing self-assessments on the web: roles, new versions (never overwritten), 409 on a
stale version, the NHS.UK error pattern, attached documents, agreeing, history and the
comparison across localities."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from careweave.store.db import make_engine, session_factory
from careweave.store.models import AuditEntry, MaturityAssessmentVersion, MaturityDocument

Clients = Callable[[str], tuple[TestClient, str]]
DRAFT = 2  # the demo's draft CCM assessment (1 is last year's, agreed)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _version(page: str) -> int:
    m = re.search(r'name="base_version" value="(\d+)"', page)
    assert m is not None
    return int(m.group(1))


def _rate(
    client: TestClient,
    csrf: str,
    base: int,
    element: str = "baseline-review",
    files: dict[str, Any] | None = None,
    **fields: str,
) -> Any:
    data = {
        "csrf_token": csrf,
        "base_version": str(base),
        "stage": "b",
        "narrative": "Services mapped with the council",
        "assessed_by": "Planning team",
        "ev_text_0": "Board paper",
        "ev_link_0": "https://example.org/board.pdf",
        "ev_text_1": "",
        "ev_link_1": "",
        **fields,
    }
    return client.post(
        f"/app/maturity/{DRAFT}/elements/{element}",
        data=data,
        files=files,
        follow_redirects=False,
    )


def _versions(demo_db: str) -> dict[int, dict[str, Any]]:
    engine = make_engine(demo_db)
    try:
        with session_factory(engine)() as s:
            rows = s.execute(
                select(MaturityAssessmentVersion)
                .where(MaturityAssessmentVersion.assessment_id == DRAFT)
                .order_by(MaturityAssessmentVersion.version)
            ).scalars()
            return {v.version: dict(v.ratings) for v in rows}
    finally:
        engine.dispose()


def test_care_roles_read_and_cannot_edit(client_for: Clients) -> None:
    client, csrf = client_for("coordinator")
    page = client.get(f"/app/maturity/{DRAFT}")
    assert page.status_code == 200 and ">Rate<" not in page.text
    assert "Agree the assessment" not in page.text
    assert client.get(f"/app/maturity/{DRAFT}/elements/baseline-review").status_code == 403
    assert _rate(client, csrf, 2).status_code == 403
    assert client.get("/app/maturity/new").status_code == 403


def test_a_commissioner_rates_an_element_as_a_new_version(
    client_for: Clients, demo_db: str
) -> None:
    client, csrf = client_for("commissioner")
    form = client.get(f"/app/maturity/{DRAFT}/elements/baseline-review")
    assert form.status_code == 200
    assert "Initial development" in form.text and "LHBs, LAs and Trusts have scoped" in form.text
    before = _versions(demo_db)
    r = _rate(client, csrf, _version(form.text))
    assert r.status_code == 303 and r.headers["location"].endswith("#baseline-review")
    page = client.get(r.headers["location"]).text
    assert "Baseline review of local services saved as version" in page
    after = _versions(demo_db)
    assert len(after) == len(before) + 1
    for n, ratings in before.items():  # earlier versions untouched
        assert after[n] == ratings
    newest = after[max(after)]
    assert newest["baseline-review"]["stage"] == "b"
    assert newest["needs-assessment"] == before[max(before)]["needs-assessment"]  # kept
    engine = make_engine(demo_db)
    with session_factory(engine)() as s:
        entry = (
            s.execute(
                select(AuditEntry)
                .where(AuditEntry.resource == "maturity_assessment", AuditEntry.action == "write")
                .order_by(AuditEntry.seq.desc())
            )
            .scalars()
            .first()
        )
        assert entry is not None and entry.actor == "commissioner"
        assert entry.resource_id == f"{DRAFT}v{max(after)}"
    engine.dispose()


def test_a_stale_version_is_409_and_nothing_is_saved(client_for: Clients, demo_db: str) -> None:
    client, csrf = client_for("commissioner")
    base = _version(client.get(f"/app/maturity/{DRAFT}/elements/shared-vision").text)
    assert _rate(client, csrf, base, "shared-vision").status_code == 303
    count = len(_versions(demo_db))
    stale = _rate(client, csrf, base, "shared-vision", narrative="Someone else's change")
    assert stale.status_code == 409
    assert "There is a problem" in stale.text and "Reload it" in stale.text
    assert "Someone else&#39;s change" in stale.text  # what they entered is kept
    assert len(_versions(demo_db)) == count


def test_bad_input_is_the_nhs_error_pattern(client_for: Clients, demo_db: str) -> None:
    client, csrf = client_for("commissioner")
    base = _version(client.get(f"/app/maturity/{DRAFT}/elements/best-practice").text)
    count = len(_versions(demo_db))
    r = _rate(client, csrf, base, "best-practice", ev_link_0="not a link", stage="z")
    assert r.status_code == 422
    assert 'href="#ev_link_0"' in r.text and "Evidence 1 link must be a web address" in r.text
    assert 'href="#stage-a"' in r.text and "Choose a stage from the list" in r.text
    assert 'class="nhsuk-error-message" id="ev_link_0-error"' in r.text
    assert len(_versions(demo_db)) == count


def test_documents_are_kept_in_the_store_with_limits(client_for: Clients, demo_db: str) -> None:
    client, csrf = client_for("commissioner")
    element = "resources"
    base = _version(client.get(f"/app/maturity/{DRAFT}/elements/{element}").text)
    fake = {"document": ("board.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")}
    r = _rate(client, csrf, base, element, files=fake)
    assert r.status_code == 422 and "The file is not a real .pdf file" in r.text
    exe = {"document": ("tool.exe", b"MZ", "application/octet-stream")}
    r = _rate(client, csrf, base, element, files=exe)
    assert r.status_code == 422 and "The file must be one of these types" in r.text
    big = {"document": ("big.pdf", PDF + b"0" * (5 * 1024 * 1024), "application/pdf")}
    r = _rate(client, csrf, base, element, files=big)
    assert r.status_code == 422 and "smaller than 5 MB" in r.text
    ok = {"document": ("Resource plan 2026.pdf", PDF, "application/pdf")}
    r = _rate(client, csrf, base, element, files=ok, document_text="Resource plan")
    assert r.status_code == 303, r.text[:300]
    newest = _versions(demo_db)
    ev = newest[max(newest)][element]["evidence"]
    doc_id = ev[-1]["document"]
    assert ev[-1]["text"] == "Resource plan"
    page = client.get(f"/app/maturity/{DRAFT}").text
    assert f'href="/app/maturity/documents/{doc_id}"' in page
    got = client.get(f"/app/maturity/documents/{doc_id}")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert "attachment" in got.headers["content-disposition"]
    reader, _ = client_for("coordinator")  # care roles read documents too
    assert reader.get(f"/app/maturity/documents/{doc_id}").status_code == 200
    engine = make_engine(demo_db)
    with session_factory(engine)() as s:
        assert s.execute(select(MaturityDocument)).scalars().one().size == len(PDF)
    engine.dispose()
    # Saving the element again keeps the document cited (a hidden field per evidence row).
    form = client.get(f"/app/maturity/{DRAFT}/elements/{element}").text
    assert f'name="ev_doc_1" value="{doc_id}"' in form


def test_start_agree_history_and_compare(client_for: Clients) -> None:
    client, csrf = client_for("commissioner")
    bad = client.post(
        "/app/maturity/new",
        data={"csrf_token": csrf, "matrix": "", "org_id": "", "assessed_on": "2026-13-01"},
    )
    assert bad.status_code == 422 and 'href="#matrix"' in bad.text and 'href="#org_id"' in bad.text
    made = client.post(
        "/app/maturity/new",
        data={
            "csrf_token": csrf,
            "matrix": "integration-nine-areas",
            "org_id": "LOC-EAST",
            "assessed_on": "2026-06-30",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    new_id = int(made.headers["location"].rsplit("/", 1)[-1])
    form = client.get(f"/app/maturity/{new_id}/elements/spend-included").text
    r = client.post(
        f"/app/maturity/{new_id}/elements/spend-included",
        data={
            "csrf_token": csrf,
            "base_version": str(_version(form)),
            "stage": "embedded",
            "narrative": "",
            "assessed_by": "",
            "ev_text_0": "",
            "ev_link_0": "",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/app/maturity/{new_id}").text
    v = int(re.findall(r'name="base_version" value="(\d+)"', page)[-1])
    none = client.post(
        f"/app/maturity/{new_id}/agree", data={"csrf_token": csrf, "base_version": str(v)}
    )
    assert none.status_code == 422 and "Enter at least one signatory" in none.text
    agreed = client.post(
        f"/app/maturity/{new_id}/agree",
        data={
            "csrf_token": csrf,
            "base_version": str(v),
            "sig_name_0": "A Chair",
            "sig_role_0": "Board",
            "sig_date_0": "2026-07-01",
        },
        follow_redirects=False,
    )
    assert agreed.status_code == 303
    page = client.get(agreed.headers["location"]).text
    assert "The assessment is agreed" in page and "A Chair, Board" in page and ">Rate<" not in page
    assert client.get(f"/app/maturity/{new_id}/elements/spend-included").status_code == 409
    history = client.get(f"/app/maturity/{DRAFT}/history").text
    assert "(draft)" in history and "Versions of the assessment" in history
    assert "agreed by Demo board chair" not in history  # that is assessment 1's version
    compare = client.get("/app/maturity/compare/integration-nine-areas").text
    assert "LOC-EAST, 30 Jun 2026" in compare and "Embedded" in compare
    reader, _ = client_for("coordinator")
    assert reader.get("/app/maturity/compare/ccm-wales").status_code == 200
