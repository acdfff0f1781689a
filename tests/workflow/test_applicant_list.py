"""The applicant's list of applications (GET /api/applications): newest first, a page at a time, each entry what
the list shows (status, numbers, the current step), a cursor to the next page, only the caller's own."""

from __future__ import annotations

import pytest
from silastri_local.client import ApiError
from silastri_local.journey import FORMS, Journey


def test_the_list_pages_newest_first_and_only_shows_the_callers_own(api, staff):
    journey = Journey(api, staff, "sip")
    applicant = journey.register()
    assert applicant.get("/api/applications") == {"applications": [], "next": None}  # none yet
    made = [applicant.post("/api/applications", {"permit_type": "sip", "form": FORMS["sip"]})["application_id"]
            for _ in range(2)]
    made.append(journey.apply())  # with its documents: submitted below
    other = Journey(api, staff, "sip")
    other.register()
    other.apply()  # someone else's application never shows

    first = applicant.get("/api/applications?limit=2")
    assert [a["application_id"] for a in first["applications"]] == made[::-1][:2]
    assert first["next"]
    second = applicant.get(f"/api/applications?limit=2&after={first['next']}")
    assert [a["application_id"] for a in second["applications"]] == made[:1]
    assert second["next"] is None
    whole = applicant.get("/api/applications")
    assert [a["application_id"] for a in whole["applications"]] == made[::-1] and whole["next"] is None
    entry = whole["applications"][0]
    assert entry["status"] == "draft" and entry["registration_number"] is None and entry["open"] is False
    assert entry["permit_type"] == "sip" and entry["holder_name"] == FORMS["sip"]["practitioner_name"]
    assert "timeline" not in entry  # the status page has it: GET /api/applications/{id}

    journey.submit()
    submitted = applicant.get("/api/applications?limit=1")["applications"][0]
    assert submitted["application_id"] == made[-1] and submitted["status"] == "in_progress"
    assert submitted["registration_number"] == journey.registration_number
    assert submitted["current_step"] and submitted["current_step_title"]


@pytest.fixture(scope="module")
def applicant(api, staff):
    return Journey(api, staff, "sip").register()


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "limit=%C2%B2", "after=bm90LWEtY3Vyc29y",
                                   "after=%25%25"])
def test_a_bad_page_request_is_refused_with_its_field(applicant, query):
    with pytest.raises(ApiError) as err:
        applicant.get(f"/api/applications?{query}")
    assert err.value.status == 400
    assert err.value.body["error"]["field"] == query.split("=")[0]
