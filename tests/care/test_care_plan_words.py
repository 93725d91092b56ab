"""Care plan changes in plain English (care/plan_words.py)."""

from __future__ import annotations

from typing import Any

from careweave.care.plan_words import describe, sentence

BEFORE: dict[str, Any] = {
    "goals": [{"text": "Stay at home", "target_date": None}],
    "interventions": [
        {
            "description": "Daily glucose readings",
            "owner_organisation": "Telecare",
            "owner_role": "care_coordinator",
            "due_date": "2026-12-30",
            "status": "in_progress",
        }
    ],
    "crisis_contacts": [{"name": "Daughter", "relationship": "daughter", "phone": "07700900123"}],
    "crisis_plan": "Pendant",
    "step_status": "stable",
    "review_date": "2027-02-01",
}


def test_the_issue_example() -> None:
    after = {
        **BEFORE,
        "interventions": [
            *BEFORE["interventions"],
            {
                "description": "Diabetes nurse visit",
                "owner_organisation": "Community diabetes team",
                "owner_role": "specialist_nurse",
                "due_date": "2026-12-03",
                "status": "planned",
            },
        ],
        "step_status": "step_up",
        "review_date": "2026-12-15",
    }
    assert sentence("Carys Evans", "Mrs Jones's", BEFORE, after) == (
        "Carys Evans stepped up Mrs Jones's care plan: added 'Diabetes nurse visit by "
        "3 December'; next review 15 December"
    )


def test_changes_are_matched_by_what_they_say_not_position() -> None:
    after = {
        **BEFORE,
        "goals": [{"text": "Keep caring for Mr Jones", "target_date": None}],
        "interventions": [{**BEFORE["interventions"][0], "status": "done"}],
        "crisis_contacts": [{**BEFORE["crisis_contacts"][0], "phone": "07700900999"}],
        "crisis_plan": "Pendant and falls sensor",
    }
    assert describe(BEFORE, after) == [
        "'Daily glucose readings' is now done",
        "added the goal 'Keep caring for Mr Jones'",
        "removed the goal 'Stay at home'",
        "new telephone for crisis contact Daughter",
        "changed the crisis plan",
    ]
    assert sentence("Huw", "Mrs Jones's", BEFORE, after).startswith(
        "Huw updated Mrs Jones's care plan: 'Daily glucose readings' is now done;"
    )
    moved = {**BEFORE, "interventions": []}
    assert describe(BEFORE, moved) == ["removed 'Daily glucose readings by 30 December'"]
    assert sentence("Huw", "Mrs Jones's", None, BEFORE) == (
        "Huw created Mrs Jones's care plan: added 'Daily glucose readings by 30 December'; "
        "next review 1 February"
    )
