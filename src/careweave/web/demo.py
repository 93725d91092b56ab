"""Demo users, care teams and the Mr & Mrs Jones scenario for a newcomer to click through.

``demo_setup(db_url, warehouse)`` syncs the people index from the warehouse
when it is empty (``careweave.care.sync``), picks Mrs Jones (a woman aged 80+)
and Mr Jones (a man aged 75+ at the same practice) from it, or creates them
when the warehouse has nobody suitable, and then sets up:

- one user per role (password ``DEMO_PASSWORD``) and one per agency in the
  integrated story (co-ordinator, diabetes nurse, telecare control centre, rapid
  response, support worker, district nurse, GP, social worker, home care), plus
  ``gp.elsewhere``, a GP at another practice with no relationship to the Joneses;
- the services' staff: each agency's user works its service's duty inbox and
  queue (the control centre for telecare, the rapid response nurse for rapid
  response, and so on), the co-ordinator the single point of access;
- Mrs Jones's care team across organisations, her case-management episode,
  telehealth settings, a care plan, and a carer's assessment;
- blood-glucose readings out of range on 3 of the last 5 days, so the care
  co-ordinator's home page shows the telehealth alert.

It is idempotent: running it again on the same store changes nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from careweave.care import assessments, events, plans, register, relationships
from careweave.care import config as care_config
from careweave.care import services as service_staff
from careweave.care.context import Ctx, system_user
from careweave.care.plans import CarePlanContent
from careweave.care.referrals import seed_services
from careweave.security import auth
from careweave.store.db import make_engine, session_factory, transaction, upgrade
from careweave.store.models import Organisation, Person, User

DEMO_PASSWORD = "careweave-demo-2026"
DEMO_MARKER = "demo.admin"


def _age(dob: dt.date, today: dt.date) -> int:
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def _pick(session: Session, today: dt.date) -> tuple[Person, Person] | None:
    """Mrs Jones: woman 80+ at a practice with a man 75+ (Mr Jones); highest risk first."""
    women = session.execute(
        select(Person)
        .where(
            Person.sex == "female",
            Person.date_of_birth <= today.replace(year=today.year - 80),
            Person.date_of_death.is_(None),
            Person.practice_id.is_not(None),
            Person.locality_id.is_not(None),
        )
        .order_by(Person.risk_probability.desc().nulls_last(), Person.nhs_number)
        .limit(50)
    ).scalars()
    for mrs in women:
        mr = session.execute(
            select(Person)
            .where(
                Person.sex == "male",
                Person.practice_id == mrs.practice_id,
                Person.date_of_birth <= today.replace(year=today.year - 75),
                Person.date_of_death.is_(None),
            )
            .order_by(Person.nhs_number)
            .limit(1)
        ).scalar_one_or_none()
        if mr is not None:
            return mrs, mr
    return None


def _create_joneses(session: Session, now: dt.datetime) -> tuple[Person, Person]:
    """Synthetic Mr and Mrs Jones in their own demo practice and locality."""
    for org_id, kind, name, parent in (
        ("DEMO-LOC", "locality", "Demo locality", None),
        ("DEMO-CL", "cluster", "Demo cluster", "DEMO-LOC"),
        ("DEMO-GP1", "gp_practice", "Demo surgery", "DEMO-CL"),
        ("DEMO-GP2", "gp_practice", "Other demo surgery", "DEMO-CL"),
    ):
        if session.get(Organisation, org_id) is None:
            session.add(Organisation(org_id=org_id, org_type=kind, name=name, parent_id=parent))
    today = now.date()
    people = []
    for nhs, sex, years, level, seg, expl in (
        (
            "9990000018",
            "female",
            85,
            4,
            "70+: frail",
            ["insulin-dependent diabetes", "aged 85+", "carer for a person with dementia"],
        ),
        ("9990000026", "male", 87, 3, "70+: dementia", ["dementia", "aged 85+", "heart failure"]),
    ):
        p = session.get(Person, nhs)
        if p is None:
            p = Person(
                nhs_number=nhs,
                date_of_birth=today.replace(year=today.year - years, day=1),
                sex=sex,
                ethnic_group="white_british",
                practice_id="DEMO-GP1",
                locality_id="DEMO-LOC",
                care_home_resident=False,
                risk_as_of=today,
                risk_probability=0.42 if level == 4 else 0.2,
                risk_percentile=99.8 if level == 4 else 97.0,
                risk_band="very high" if level == 4 else "high",
                ccm_level=level,
                segment=seg,
                frailty_category="moderate",
                readmitter=False,
                risk_explanation=expl,
                conditions=[],
                synced_at=now,
            )
            session.add(p)
        people.append(p)
    session.flush()
    return people[0], people[1]


def demo_setup(
    db_url: str, warehouse: Path, *, readings: bool = True
) -> list[tuple[str, str, str]]:
    """Create the demo users and the Jones scenario; returns (username, password, role).

    ``readings=False`` leaves out Mrs Jones's week of glucose readings (the acceptance test
    sends them through the events API, as the telehealth hub would)."""
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    cfg = care_config.load(None)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with transaction(sessions) as s:
        seed_services(s, cfg, now)
        have_people = s.execute(select(Person.nhs_number).limit(1)).first() is not None
        if not have_people and Path(warehouse).is_file():
            from careweave.care.sync import sync

            sync(s, Path(warehouse), now)
    with transaction(sessions) as s:
        already = s.execute(select(User).where(User.username == DEMO_MARKER)).scalar_one_or_none()
        if already is None:
            _setup(s, cfg, now, readings=readings)
        return _users(s)


def _users(s: Session) -> list[tuple[str, str, str]]:
    names = set(
        s.execute(
            select(User.username).where(User.username.in_([u for u, _ in DEMO_USERS_ORDER]))
        ).scalars()
    )
    return [(u, DEMO_PASSWORD, r) for u, r in DEMO_USERS_ORDER if u in names]


DEMO_USERS_ORDER = (
    ("gp.jones", "clinician"),
    ("coordinator", "care_coordinator"),
    ("case.manager", "case_manager"),
    ("social.worker", "social_worker"),
    ("home.care", "care_provider"),
    ("nurse.diabetes", "clinician"),
    ("control.centre", "care_provider"),
    ("rapid.response", "clinician"),
    ("support.worker", "care_provider"),
    ("district.nurse", "clinician"),
    ("commissioner", "analyst"),
    ("demo.admin", "administrator"),
    ("gp.elsewhere", "clinician"),
)


def _name_joneses(mrs: Person, mr: Person) -> None:
    """The scenario's names and shared address, where the warehouse gave none (a dataset
    from before identity columns, or the built-in pair)."""
    for person, title, given in ((mrs, "Mrs", "Margaret"), (mr, "Mr", "Thomas")):
        if person.family_name:
            continue
        person.title = title
        person.set_names(given, "Jones")
        person.address_line_1 = "12 Heol y Bryn"
        person.town = "Llandeilo"
        person.postcode = "SA19 6AB"
        person.telephone = "01558 000000"
        person.preferred_language = "en"
        person.interpreter_required = False


def _setup(
    s: Session, cfg: care_config.CareConfig, now: dt.datetime, *, readings: bool = True
) -> None:
    """The Jones scenario: the couple, one user per agency, teams, plan, assessment, readings."""
    picked = _pick(s, now.date())
    mrs, mr = picked if picked is not None else _create_joneses(s, now)
    _name_joneses(mrs, mr)
    practice, locality = mrs.practice_id, mrs.locality_id
    other_practice = (
        s.execute(
            select(Organisation.org_id)
            .where(Organisation.org_type == "gp_practice", Organisation.org_id != practice)
            .limit(1)
        ).scalar_one_or_none()
        or "DEMO-GP-ELSEWHERE"
    )
    users = _demo_users(s, now, practice, locality, other_practice)
    ctx = Ctx(session=s, user=users["coordinator"], now=now, config=cfg)
    _teams(ctx, users, mrs, mr)
    events.set_telehealth(ctx, mrs.nhs_number, ["diabetes"], {"glucose": (4.0, 11.0)})
    _demo_plan(ctx, mrs.nhs_number)
    _carer_assessment(
        Ctx(session=s, user=users["social.worker"], now=now, config=cfg), mrs.nhs_number
    )
    if readings:
        _telehealth_readings(s, cfg, now, mrs.nhs_number)
    _daughter(ctx, mrs.nhs_number, mr.nhs_number)
    if locality:
        seed_maturity(
            Ctx(session=s, user=users["commissioner"], now=now, config=cfg), locality, now.date()
        )


def _demo_users(
    s: Session, now: dt.datetime, practice: str | None, locality: str | None, other_practice: str
) -> dict[str, User]:
    """One demo user per agency in the Jones story, all with the demo password."""
    spec = {
        "gp.jones": ("Dr Gwen Price (GP)", "clinician", practice, None),
        "coordinator": ("Carys Evans (care co-ordinator)", "care_coordinator", None, locality),
        "case.manager": ("Huw Morgan (case manager)", "case_manager", None, locality),
        "social.worker": ("Sian Davies (social worker)", "social_worker", None, locality),
        "home.care": ("Bethan Hughes (home care)", "care_provider", "HOMECARE-1", None),
        "nurse.diabetes": ("Rhys Owen (diabetes nurse)", "clinician", "COMMUNITY-1", None),
        "control.centre": (
            "Ffion Lloyd (telecare control centre)",
            "care_provider",
            "TELECARE-1",
            None,
        ),
        "rapid.response": ("Owain Jenkins (rapid response)", "clinician", "COMMUNITY-1", None),
        "support.worker": ("Megan Roberts (support worker)", "care_provider", "VOLUNTARY-1", None),
        "district.nurse": ("Elin Thomas (district nurse)", "clinician", "COMMUNITY-1", None),
        "commissioner": ("Alex Jenkins (commissioner)", "analyst", None, None),
        "demo.admin": ("Demo administrator", "administrator", None, None),
        "gp.elsewhere": ("Dr Tom Rees (GP, another practice)", "clinician", other_practice, None),
    }
    users: dict[str, User] = {}
    for username, (name, role, org, loc) in spec.items():
        users[username] = auth.create_user(
            s,
            username=username,
            display_name=name,
            role=role,
            password=DEMO_PASSWORD,
            org_id=org,
            locality_id=loc,
            now=now,
        )
    return users


def _teams(ctx: Ctx, users: dict[str, User], mrs: Person, mr: Person) -> None:
    """Mrs Jones enrolled with her multi-agency team, the responders on their services' staff,
    Mr Jones's team, and the carer link between them."""
    s, now, cfg = ctx.session, ctx.now, ctx.config
    register.enrol(
        ctx,
        mrs.nhs_number,
        reason="Level 4: unstable diabetes, carer for husband with dementia",
        lead_professional_id=users["case.manager"].id,
        source="demo",
    )
    for username, team_role, org in (
        ("gp.jones", "gp", "GP practice"),
        ("coordinator", "care_coordinator", "Locality team"),
        ("social.worker", "social_worker", "Local authority"),
        ("home.care", "home_care_provider", "Home care agency"),
        ("nurse.diabetes", "specialist_nurse", "Community diabetes team"),
        ("support.worker", "support_worker", "Voluntary sector support"),
        ("district.nurse", "district_nurse", "District nursing"),
    ):
        register.add_member(ctx, mrs.nhs_number, users[username].id, team_role, org)
    # Responders work from their service's duty inbox and queue, not a named team place.
    admin = Ctx(session=s, user=users["demo.admin"], now=now, config=cfg)
    for service_id, username in (
        ("diabetes-specialist-nursing", "nurse.diabetes"),
        ("telecare", "control.centre"),
        ("rapid-response", "rapid.response"),
        ("district-nursing", "district.nurse"),
        ("community-xray", "district.nurse"),
        ("social-care-assessment", "social.worker"),
        ("carers-support", "social.worker"),
        ("reablement", "home.care"),
        ("single-point-of-access", "coordinator"),
    ):
        service_staff.add_member(admin, service_id, users[username].id)
    for username, team_role, org in (
        ("gp.jones", "gp", "GP practice"),
        ("social.worker", "social_worker", "Local authority"),
    ):
        register.add_member(ctx, mr.nhs_number, users[username].id, team_role, org)
    # She is his carer: if she is admitted, falls or dies, he is flagged (care/relationships).
    relationships.add_link(ctx, mrs.nhs_number, mr.nhs_number, "carer_of")
    if "dementia" not in (mr.conditions or []):
        mr.conditions = sorted({*(mr.conditions or []), "dementia"})


def _demo_plan(ctx: Ctx, nhs: str) -> None:
    """Mrs Jones's shared care plan, as the co-ordinator wrote it."""
    now = ctx.now
    today = now.date()
    plans.save(
        ctx,
        nhs,
        CarePlanContent.model_validate(
            {
                "goals": [{"text": "Stay well at home and keep caring for her husband"}],
                "interventions": [
                    {
                        "description": "Daily blood glucose readings by telehealth",
                        "owner_organisation": "Telecare and telehealth",
                        "owner_role": "care_coordinator",
                        "due_date": (today + dt.timedelta(days=30)).isoformat(),
                        "status": "in_progress",
                    },
                    {
                        "description": "Morning and evening home-care visits",
                        "owner_organisation": "Home care agency",
                        "owner_role": "home_care_provider",
                        "due_date": (today + dt.timedelta(days=90)).isoformat(),
                        "status": "in_progress",
                    },
                ],
                "crisis_contacts": [
                    {
                        "name": "Daughter (lives 150 miles away)",
                        "relationship": "daughter",
                        "phone": "07700 900123",
                    }
                ],
                "crisis_plan": "Pendant alarm to the telecare control centre; rapid response "
                "team goes at once. Mr Jones has dementia and cannot be left alone: "
                "arrange respite through the social worker.",
                "review_date": (today + dt.timedelta(days=90)).isoformat(),
            }
        ),
        None,
    )


def _carer_assessment(sw: Ctx, nhs: str) -> None:
    """The social worker's carer's assessment of Mrs Jones (high strain, telecare wanted)."""
    cfg = sw.config
    carer = cfg.templates.get("carer")
    if carer:
        t = carer[max(carer)]
        wanted = {"caring_hours_per_week": 70, "carer_strain": "high", "telecare_wanted": True}
        answers = {q.id: wanted[q.id] for q in t.questions if q.id in wanted}
        assessments.record(sw, nhs, t.id, answers, t.version)


def _telehealth_readings(
    s: Session, cfg: care_config.CareConfig, now: dt.datetime, nhs: str
) -> None:
    """A week of Mrs Jones's glucose readings from the telehealth hub, the last days out of range."""
    system = system_user(s, now)
    feed = Ctx(session=s, user=system, now=now, config=cfg)
    readings = (7.2, 6.8, 8.1, 13.5, 3.4, 14.2, 12.8)  # out of range on the last days
    for i, value in enumerate(readings):
        at = now - dt.timedelta(days=len(readings) - 1 - i, hours=2)
        events.ingest(
            feed,
            nhs,
            "telehealth_reading",
            at,
            {"measure": "glucose", "value": value, "unit": "mmol/L"},
            external_id=f"demo-glucose-{nhs}-{i}",
            source="telehealth hub (demo)",
        )


def _daughter(ctx: Ctx, *nhs_numbers: str) -> None:
    """Their daughter, 150 miles away and not a user: told by text of an admission, a fall
    alarm or her mother's being unable to care (care/contacts.py), on each parent's record."""
    from careweave.care import contacts

    for nhs in nhs_numbers:
        contacts.add(
            ctx,
            nhs,
            contacts.ContactIn(
                "Siân Jones (daughter, Bristol)",
                "daughter",
                "sian.jones@example.org",
                "07700 900123",
                by_email=False,
                by_sms=True,
                topics=["admission", "fall_alarm", "carer_at_risk"],
            ),
        )


def seed_maturity(ctx: Ctx, locality: str, today: dt.date) -> None:
    """The demo locality's CCM self-assessments: last year's agreed, this year's draft
    (so the maturity page shows a grid with change since the last assessment)."""
    from careweave.care import maturity
    from careweave.maturity.matrices import get_matrix

    ccm = get_matrix("ccm-wales")
    # A year before (the day capped at 28, so 29 February never fails).
    last, this = dt.date(today.year - 1, today.month, min(today.day, 28)), today
    r = maturity.Rating
    v = maturity.save(
        ctx,
        ccm,
        locality,
        last,
        {
            "needs-assessment": r(stage="a", narrative="Needs extrapolated from practice data."),
            "shared-vision": r(stage="a", narrative="Discussed at the partnership board."),
        },
        None,
    )
    signed = [maturity.Signatory(name="Demo board chair", role="Partnership board", signed_on=last)]
    maturity.agree(ctx, v.assessment_id, signed, v.version)
    maturity.save(
        ctx,
        ccm,
        locality,
        this,
        {
            "needs-assessment": r(
                stage="b",
                narrative="Risk stratification at all four levels informs commissioning.",
                evidence=[maturity.Evidence(text="careweave stratify runs monthly")],
            ),
            "shared-vision": r(stage="a", narrative="Strategy in draft."),
        },
        None,
    )
    _seed_nine_areas(ctx, locality, last)


# Three localities' agreed positions on seed 001's nine-area matrix, so the comparison page
# reads like seed 001's ratings of its localities (a few rows each; invented, not the seed's).
NINE_AREAS_DEMO = {
    "": {
        "population-addressed": "well-developed",
        "spend-included": "implementing",
        "information-governance": "well-developed",
        "performance": "implementing",
    },
    "-NORTH": {
        "population-addressed": "implementing",
        "spend-included": "small-start",
        "information-governance": "implementing",
        "performance": "small-start",
    },
    "-SOUTH": {
        "population-addressed": "embedded",
        "spend-included": "well-developed",
        "information-governance": "embedded",
        "performance": "well-developed",
    },
}


def _seed_nine_areas(ctx: Ctx, locality: str, day: dt.date) -> None:
    from careweave.care import maturity
    from careweave.maturity.matrices import get_matrix

    nine = get_matrix("integration-nine-areas")
    for suffix, stages in NINE_AREAS_DEMO.items():
        ratings = {k: maturity.Rating(stage=v) for k, v in stages.items()}
        v = maturity.save(ctx, nine, f"{locality}{suffix}", day, ratings, None)
        signed = [
            maturity.Signatory(name="Demo board chair", role="Partnership board", signed_on=day)
        ]
        maturity.agree(ctx, v.assessment_id, signed, v.version)
