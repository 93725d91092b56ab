"""Sign-in answers the same way, in the same time, for an unknown username, a wrong
password, a deactivated and a locked account; failures are throttled by client address
as well as by account."""

from __future__ import annotations

import statistics
import time

from care_world import World
from sqlalchemy import select

from careweave.security import auth
from careweave.security.throttle import ADDRESS_FAILURES
from careweave.store.models import AuditEntry, User

PASSWORD = "the right password"


def _accounts(w: World) -> None:
    with w.session() as s, s.begin():
        for name in ("wrong.pw", "leaver", "locked"):
            auth.create_user(
                s,
                username=name,
                display_name=name,
                role="clinician",
                password=PASSWORD,
                now=w.clock(),
            )
        s.execute(select(User).where(User.username == "leaver")).scalar_one().active = False
        locked = s.execute(select(User).where(User.username == "locked")).scalar_one()
        locked.locked_until = w.clock() + auth.LOCKOUT


CASES = {
    "unknown": ("nobody.here", "some password 1"),
    "wrong": ("wrong.pw", "not the password"),
    "deactivated": ("leaver", PASSWORD),
    "locked": ("locked", PASSWORD),
}


def test_every_refusal_reads_the_same(sqlite_world: World) -> None:
    w = sqlite_world
    _accounts(w)
    answers = set()
    for username, password in CASES.values():
        r = w.client.post("/auth/login", json={"username": username, "password": password})
        assert r.status_code == 401
        answers.add(r.json()["detail"])
    assert answers == {auth.FAILED_LOGIN}
    assert "locked" not in auth.FAILED_LOGIN.split("(")[0]
    # The true reason is kept for administrators, in the audit log only.
    with w.session() as s:
        details = dict(
            s.execute(
                select(AuditEntry.actor, AuditEntry.detail).where(
                    AuditEntry.action == "login_failed"
                )
            ).all()
        )
    assert details["nobody.here"] == "unknown username"
    assert details["leaver"] == "deactivated account"
    assert details["locked"].startswith("account locked until")


def test_every_refusal_takes_the_same_time(sqlite_world: World) -> None:
    """Each case's median over several tries is within 25% (and 40 ms) of the wrong
    password's: all of them verify one Argon2 hash. The lockout used to answer in 3 ms
    against about 100 ms for an unknown user."""
    w = sqlite_world
    _accounts(w)
    times: dict[str, list[float]] = {k: [] for k in CASES}
    for _ in range(5):
        for case, (username, password) in CASES.items():
            t = time.perf_counter()
            r = w.client.post("/auth/login", json={"username": username, "password": password})
            times[case].append(time.perf_counter() - t)
            assert r.status_code == 401
        with w.session() as s, s.begin():  # keep "wrong" from locking during the test
            s.execute(
                select(User).where(User.username == "wrong.pw")
            ).scalar_one().failed_logins = 0
    medians = {k: statistics.median(v) for k, v in times.items()}
    base = medians["wrong"]
    for m in medians.values():
        assert abs(m - base) < max(0.25 * base, 0.040), medians


def test_failures_are_throttled_by_client_address(sqlite_world: World) -> None:
    """Spraying one password across many accounts from one address stops at the limit,
    with words about the address (not any account); the right password then waits too."""
    w = sqlite_world
    _accounts(w)
    for i in range(ADDRESS_FAILURES):
        r = w.client.post("/auth/login", json={"username": f"user{i}", "password": "Winter2026!!"})
        assert r.status_code == 401
    r = w.client.post("/auth/login", json={"username": "wrong.pw", "password": PASSWORD})
    assert r.status_code == 429
    assert "from this address" in r.json()["detail"]
    w.clock.advance(minutes=16)
    r = w.client.post("/auth/login", json={"username": "wrong.pw", "password": PASSWORD})
    assert r.status_code == 200, r.text
