"""Discharge planning from day one: the admission opens the plan with tasks, the weekend
flag, the delayed days, and a deliberate package decision at discharge."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from care_world import MRS_JONES, World, join_teams
from sqlalchemy import select

from careweave.care import config as care_config
from careweave.care import discharge
from careweave.care.context import Ctx
from careweave.security.errors import Conflict, Invalid
from careweave.store.models import DischargePlan, Notification, Task, User

HOLIDAYS = discharge.bank_holidays()


def plan(**kw: object) -> DischargePlan:
    p = DischargePlan(
        admitted_at=dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC),
        checklist={k: {"status": "to_do"} for k in discharge.CHECKLIST},
        discharged_at=None,
    )
    for k, v in kw.items():
        setattr(p, k, v)
    return p


@pytest.mark.parametrize(
    ("due", "flagged", "resume"),
    [
        (dt.date(2026, 12, 3), False, None),  # Thursday
        (dt.date(2026, 12, 4), True, "Monday 7 December"),  # Friday
        (dt.date(2026, 12, 5), True, "Monday 7 December"),  # Saturday
        (dt.date(2026, 12, 24), True, "Tuesday 29 December"),  # before Christmas
        (dt.date(2027, 3, 25), True, "Tuesday 30 March"),  # the day before Good Friday
        (dt.date(2027, 3, 30), False, None),  # the Tuesday after Easter
    ],
)
def test_weekend_flag_before_weekends_and_bank_holidays(
    due: dt.date, flagged: bool, resume: str | None
) -> None:
    p = plan(expected_discharge_date=due)
    flag = discharge.weekend_flag(p, HOLIDAYS)
    assert (flag is not None) == flagged
    if resume:
        assert flag is not None and flag.endswith(f"nothing new starts until {resume}")
    # A confirmed package is not flagged, nor is a plan already discharged.
    p.checklist = {**p.checklist, "package": {"status": "done"}}
    assert discharge.weekend_flag(p, HOLIDAYS) is None


def test_the_ready_date_counts_when_there_is_no_expected_date() -> None:
    assert discharge.weekend_flag(plan(discharge_ready_date=dt.date(2026, 12, 4)), HOLIDAYS)
    assert discharge.weekend_flag(plan(), HOLIDAYS) is None


def test_delayed_days_from_the_ready_date() -> None:
    p = plan(discharge_ready_date=dt.date(2026, 12, 2))
    assert discharge.delayed_days(p, dt.date(2026, 12, 1)) == 0
    assert discharge.delayed_days(p, dt.date(2026, 12, 2)) == 0
    assert discharge.delayed_days(p, dt.date(2026, 12, 7)) == 5
    p.discharged_at = dt.datetime(2026, 12, 4, 15, tzinfo=dt.UTC)
    assert discharge.delayed_days(p, dt.date(2026, 12, 30)) == 2
    assert discharge.delayed_days(plan(), dt.date(2026, 12, 30)) == 0


@contextmanager
def acting(w: World, username: str) -> Iterator[Ctx]:
    with w.session() as s, s.begin():
        user = s.execute(select(User).where(User.username == username)).scalar_one()
        yield Ctx(session=s, user=user, now=w.clock.now, config=care_config.load(None))


def the_plan(w: World) -> DischargePlan:
    with w.session() as s:
        p = discharge.current(s, MRS_JONES)
        assert p is not None
        return p


def test_admission_opens_the_plan_with_tasks_for_social_worker_and_home_care(
    world: World,
) -> None:
    w = world
    join_teams(w, (MRS_JONES,))
    friday = dt.date(2026, 11, 6)  # T0 is Monday 2 November
    out = w.event(
        MRS_JONES,
        "admission",
        w.clock.now,
        ward="Ward 3",
        hospital="Glangwili",
        expected_discharge_date=friday.isoformat(),
    )
    tasks = {t["title"]: t for t in w.get("sw", "/tasks").json()}
    assert any("confirm the package of care" in t for t in tasks)
    home = [t["title"] for t in w.get("homecare", "/tasks").json()]
    assert any("pause the home-care visits" in t for t in home)
    assert len(out["task_ids"]) >= 2
    p = the_plan(w)
    assert p.expected_discharge_date == friday and p.ward == "Ward 3"
    assert set(p.checklist) == set(discharge.CHECKLIST)
    assert discharge.weekend_flag(p) is not None
    # A second admission while in hospital joins the open plan.
    w.event(MRS_JONES, "admission", w.clock.now)
    with w.session() as s:
        assert len(s.execute(select(DischargePlan)).scalars().all()) == 1


def test_bad_expected_date_is_refused(world: World) -> None:
    r = world.post(
        "feed",
        "/events",
        {
            "nhs_number": MRS_JONES,
            "type": "admission",
            "occurred_at": world.clock.now.isoformat(),
            "payload": {"expected_discharge_date": "Friday"},
        },
    )
    assert r.status_code == 422
    assert "payload.expected_discharge_date" in r.json()["detail"]


def test_changes_are_told_and_a_stale_change_is_refused(world: World) -> None:
    w = world
    join_teams(w, (MRS_JONES,))
    w.event(MRS_JONES, "admission", w.clock.now)
    w.clock.advance(hours=3)
    ready = (w.clock.now + dt.timedelta(days=2)).date()
    with acting(w, "sw") as ctx:
        p, told = discharge.update(
            ctx,
            MRS_JONES,
            1,
            discharge.Changes(
                discharge_ready_date=ready,
                items={"package": "done"},
                package_decision="change",
                package_note="four calls a day, double-up",
            ),
        )
        assert p.version == 2
    assert "CC" in told and "HOMECARE" in told and "SW" not in told
    with w.session() as s:
        subject = (
            s.execute(select(Notification.subject).where(Notification.kind == "discharge_plan"))
            .scalars()
            .first()
        )
    assert subject is not None
    assert "package of care: change the package (four calls a day, double-up)" in subject
    with pytest.raises(Conflict), acting(w, "cc") as ctx:
        discharge.update(ctx, MRS_JONES, 1, discharge.Changes(items={"transport": "done"}))
    with pytest.raises(Invalid, match="package_note"), acting(w, "cc") as ctx:
        discharge.update(
            ctx, MRS_JONES, 2, discharge.Changes(package_decision="new", package_note="")
        )
    with pytest.raises(Invalid, match="discharge_ready_date"), acting(w, "cc") as ctx:
        discharge.update(
            ctx, MRS_JONES, 2, discharge.Changes(discharge_ready_date=dt.date(2020, 1, 1))
        )


def test_discharge_without_a_package_decision_is_not_silently_kept(world: World) -> None:
    w = world
    join_teams(w, (MRS_JONES,))
    w.event(MRS_JONES, "admission", w.clock.now)
    with acting(w, "cc") as ctx:
        discharge.update(
            ctx,
            MRS_JONES,
            1,
            discharge.Changes(discharge_ready_date=(w.clock.now + dt.timedelta(days=1)).date()),
        )
    gone = w.clock.advance(days=4)
    w.event(MRS_JONES, "discharge", gone)
    p = the_plan(w)
    assert p.discharged_at == gone and p.delayed_days == 3
    assert discharge.undecided(p)
    with w.session() as s:
        (task,) = s.execute(select(Task).where(Task.source == f"discharge:{p.id}")).scalars()
        assert "without a decision on the package of care" in task.title
        assert task.owner_user_id == w.ids["sw"]
        assert task.due_at == gone + dt.timedelta(hours=4)
    # The social worker decides: the task closes and the plan is no longer flagged.
    with acting(w, "sw") as ctx:
        discharge.update(
            ctx,
            MRS_JONES,
            p.version,
            discharge.Changes(items={"package": "done"}, package_decision="restart"),
        )
    with w.session() as s:
        (task,) = s.execute(select(Task).where(Task.source == f"discharge:{p.id}")).scalars()
        assert task.status == "done"
    assert not discharge.undecided(the_plan(w))


def test_a_decided_discharge_raises_no_task_and_watch_list_flags(world: World) -> None:
    w = world
    join_teams(w, (MRS_JONES,))
    w.event(MRS_JONES, "admission", w.clock.now, expected_discharge_date="2026-11-06")
    with acting(w, "cc") as ctx:
        (watched,) = discharge.watch_list(ctx)
        assert watched.weekend and watched.flagged
        discharge.update(
            ctx,
            MRS_JONES,
            1,
            discharge.Changes(items={"package": "done"}, package_decision="restart"),
        )
    with acting(w, "cc") as ctx:
        (watched,) = discharge.watch_list(ctx)
        assert not watched.flagged
    with acting(w, "outsider") as ctx:
        assert discharge.watch_list(ctx) == []  # no relationship with Mrs Jones
    w.event(MRS_JONES, "discharge", w.clock.advance(days=2))
    with w.session() as s:
        assert not s.execute(select(Task).where(Task.source.like("discharge:%"))).first()
    with acting(w, "cc") as ctx:
        assert discharge.watch_list(ctx) == []
