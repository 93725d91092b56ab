"""The small world the care tests play in: organisations, people, staff with API tokens,
a fixed clock and an app over a store (see conftest.py for the fixtures)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from careweave.api import create_app
from careweave.security import auth
from careweave.store.db import make_engine, session_factory
from careweave.store.models import Organisation, Person

KEY = b"test-pseudonym-key-0123456789abcdef"
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)

MRS_JONES = "9434765919"
MR_JONES = "9434765870"
NEIGHBOUR = "9434765846"  # same locality, no care team
ELSEWHERE = "9434765862"  # another practice and locality


@dataclass
class Clock:
    now: dt.datetime = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw: float) -> dt.datetime:
        self.now = self.now + dt.timedelta(**kw)
        return self.now


# username -> (role, org_id, locality_id, team role for the Joneses or None)
STAFF: dict[str, tuple[str, str | None, str | None, str | None]] = {
    "dr_gp": ("clinician", "P1", None, "gp"),
    "cc": ("care_coordinator", None, "L1", "care_coordinator"),
    "sw": ("social_worker", "LA1", None, "social_worker"),
    "homecare": ("care_provider", "HC1", None, "home_care_provider"),
    "dn": ("clinician", "CP1", None, "district_nurse"),
    "dsn": ("clinician", "CP1", None, "specialist_nurse"),
    "rr": ("care_provider", "CP1", None, "rapid_response"),
    "support": ("care_provider", "VS1", None, "support_worker"),
    "control": ("care_provider", "TC1", None, "telecare_control_centre"),
    "cm": ("case_manager", "CP1", None, None),
    "outsider": ("clinician", "P9", "L9", None),
    "analyst": ("analyst", "HB", None, None),
    "admin": ("administrator", "HB", None, None),
    "feed": ("integration", "HOSP", None, None),
}


@dataclass
class World:
    client: TestClient
    url: str
    clock: Clock
    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    _sessions: sessionmaker[Session] | None = None

    def h(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def get(self, who: str, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.h(who), **kw)

    def post(self, who: str, path: str, body: Any = None, **kw: Any) -> Any:
        return self.client.post(path, headers=self.h(who), json=body, **kw)

    def put(self, who: str, path: str, body: Any = None) -> Any:
        return self.client.put(path, headers=self.h(who), json=body)

    def session(self) -> Session:
        if self._sessions is None:
            self._sessions = session_factory(make_engine(self.url))
        return self._sessions()

    def event(self, nhs: str, type_: str, at: dt.datetime, **payload: Any) -> Any:
        r = self.post(
            "feed",
            "/events",
            {"nhs_number": nhs, "type": type_, "occurred_at": at.isoformat(), "payload": payload},
        )
        assert r.status_code == 200, r.text
        return r.json()

    def inbox(self, who: str) -> list[dict[str, Any]]:
        r = self.get(who, "/notifications")
        assert r.status_code == 200, r.text
        return list(r.json())


def person(nhs: str, practice: str, locality: str | None, born: int = 1941) -> Person:
    return Person(
        nhs_number=nhs,
        date_of_birth=dt.date(born, 5, 1),
        sex="female",
        ethnic_group="white",
        practice_id=practice,
        locality_id=locality,
        care_home_resident=False,
        ccm_level=4,
        risk_probability=0.4,
        risk_band="very high",
        risk_explanation=["emergency admissions", "age"],
        conditions=[],
        synced_at=T0,
    )


def build_world(url: str, clock: Clock, config_dir: Path | None = None) -> World:
    app = create_app(url, clock=clock, pseudonym_key=KEY, config_dir=config_dir)
    client = TestClient(app, base_url="https://testserver")
    w = World(client, url, clock)
    engine = make_engine(url)
    with session_factory(engine)() as s, s.begin():
        s.add_all(
            [
                Organisation(org_id="L1", org_type="locality", name="North locality"),
                Organisation(org_id="P1", org_type="gp_practice", name="Riverside", parent_id="L1"),
                Organisation(org_id="L9", org_type="locality", name="South locality"),
                Organisation(org_id="P9", org_type="gp_practice", name="Hillside", parent_id="L9"),
            ]
        )
        s.add_all(
            [
                person(MRS_JONES, "P1", "L1", 1941),
                person(MR_JONES, "P1", "L1", 1938),
                person(NEIGHBOUR, "P1", "L1", 1950),
                person(ELSEWHERE, "P9", "L9", 1960),
            ]
        )
        for username, (role, org, loc, _) in STAFF.items():
            u = auth.create_user(
                s,
                username=username,
                display_name=username.upper(),
                role=role,
                org_id=org,
                locality_id=loc,
                now=clock(),
            )
            w.ids[username] = u.id
            w.tokens[username] = auth.issue_token(s, u, "test", clock())
    engine.dispose()
    return w


def join_teams(w: World, people: tuple[str, ...] = (MRS_JONES, MR_JONES)) -> None:
    """Put the named staff in each person's care team (the care co-ordinator adds them)."""
    for nhs in people:
        for username, (_, _, _, team_role) in STAFF.items():
            if team_role is None:
                continue
            r = w.post(
                "cc",
                f"/people/{nhs}/care-team",
                {"user_id": w.ids[username], "team_role": team_role},
            )
            assert r.status_code == 201, r.text
