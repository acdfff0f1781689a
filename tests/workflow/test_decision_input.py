"""Implausible decision input is a 400 with the field, and changes nothing (the task stays open)."""

from __future__ import annotations

import pytest
from silastri_local.client import ApiError
from silastri_local.journey import Journey
from silastri_local.journey import journey_at as to_step


@pytest.mark.parametrize("details, field", [
    ({"findings": ["Kantor ada"], "visited_on": "0001-01-01"}, "visited_on"),
    ({"findings": ["Kantor ada"], "visited_on": "2999-12-31"}, "visited_on"),
    ({"findings": ["Kantor ada"], "visited_on": "kemarin"}, "visited_on"),
    ({"findings": ["Kantor\u0000ada"]}, "findings.0"),
    ({"findings": ["Kantor \u202eada"]}, "findings.0"),
    ({"findings": "Kantor ada"}, "findings"),
])
def test_technical_review_refuses_implausible_details(stack, api, staff, details, field):
    journey: Journey = to_step(api, staff, "technical_review")
    task = journey.task("technical_team", "technical_review")
    with pytest.raises(ApiError) as refused:
        staff["technical_team"].post(f"/api/tasks/{task['task_id']}/decision",
                                     {"outcome": "recommend", "details": details})
    assert refused.value.status == 400
    assert refused.value.body["error"]["field"] == field
    assert staff["technical_team"].get(f"/api/tasks/{task['task_id']}")["task"]["status"] == "open"


@pytest.mark.parametrize("copies", [True, 0, 11, "2", 1.5])
def test_printing_refuses_copies_that_are_not_a_count(stack, api, staff, copies):
    journey = to_step(api, staff, "printing", permit_type="sip")
    task = journey.task("back_office", "printing")
    with pytest.raises(ApiError) as refused:
        staff["back_office"].post(f"/api/tasks/{task['task_id']}/decision",
                                  {"outcome": "printed", "details": {"copies": copies}})
    assert refused.value.status == 400 and refused.value.body["error"]["field"] == "copies"
    assert staff["back_office"].get(f"/api/tasks/{task['task_id']}")["task"]["status"] == "open"
