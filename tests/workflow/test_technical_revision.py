"""The technical team returns a file to the applicant for revision (issue 10): the applicant replaces the
document, resubmits, the back office checks it again, the technical team reviews it again, and the permit is
issued — on the running local stack, through the API and the pages."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from silastri_local.client import ApiError
from silastri_local.journey import FINDINGS, SKM_ELEMENTS, Journey, sample_pdf

from .conftest import runs_states

PERMIT_TYPE = "izin-operasional-orsos"  # the type with a technical recommendation (Dinas Sosial)


def html(base_url: str, path: str, token: str | None) -> str:
    """A page as its signed-in user sees it (the session cookie holds the ID token)."""
    request = urllib.request.Request(base_url + path,  # noqa: S310 - loopback stack
                                     headers={"Cookie": f"silastri_session={token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return str(response.read().decode())
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{path}: HTTP {exc.code}") from exc




def test_technical_team_returns_the_file_for_revision_and_the_resubmission_reaches_the_permit(stack, api, staff):
    # GIVEN an orsos application checked complete and forwarded to the technical team
    journey = Journey(api, staff, PERMIT_TYPE)
    journey.apply()
    journey.submit()
    journey.decide("back_office", "completeness_check", "complete", "Berkas lengkap")
    journey.wait_status(lambda s: s["downloads"]["receipt"], "receipt")
    spec = next(t for t in api.get("/api/catalog")["permit_types"] if t["permit_type"] == PERMIT_TYPE)
    document = spec["requirements"][1]["requirement_id"]
    row = journey.task("technical_team", "technical_review")
    page = html(api.base_url, f"/petugas/tugas/{row['task_id']}", staff["technical_team"].token)
    assert 'id="keputusan-revision"' in page and f'name="doc-{document}"' in page

    # WHEN the technical team returns it without a note, THEN it is refused and nothing changes
    with pytest.raises(ApiError) as no_note:
        journey.decide("technical_team", "technical_review", "revision")
    assert no_note.value.status == 400 and no_note.value.body["error"]["field"] == "note"
    # WHEN it returns the file with a note and what to replace
    journey.decide("technical_team", "technical_review", "revision", "Alamat sekretariat pada akta tidak sesuai",
                   {"document_notes": {document: "Unggah akta dengan alamat sekretariat yang baru"}})

    # THEN the applicant sees the revision request with the technical team's notes
    status = journey.wait_status(lambda s: s["status"] == "awaiting_revision", "revision request")
    assert status["revision_notes"] == {document: "Unggah akta dengan alamat sekretariat yang baru"}
    assert status["revision_deadline"] and status["current_step"] == "revision"
    decided = [e for e in status["timeline"] if e["step"] == "technical_review" and e["action"] == "decided"]
    assert decided[-1]["actor_role"] == "technical_team" and decided[-1]["details"]["outcome"] == "revision"
    requested = [e for e in status["timeline"] if e["action"] == "revision_requested"]
    assert [e["details"]["round"] for e in requested] == [1]  # counted like the back office's rounds
    assert journey.applicant
    mine = html(api.base_url, f"/permohonan/{journey.application_id}", journey.applicant.token)
    assert "Berkas perlu diperbaiki" in mine and "Unggah akta dengan alamat sekretariat yang baru" in mine
    assert "Tim Teknis OPD" in mine and "Alamat sekretariat pada akta tidak sesuai" in mine

    # WHEN the applicant resubmits without replacing the document, THEN it is refused
    with pytest.raises(ApiError) as stale:
        journey.applicant.post(f"/api/applications/{journey.application_id}/resubmit")
    assert stale.value.status == 400 and stale.value.body["error"]["field"] == "documents"
    # WHEN the document is replaced and the file resubmitted
    journey.upload(document, sample_pdf("Akta — alamat baru"))
    journey.applicant.post(f"/api/applications/{journey.application_id}/resubmit")

    # THEN the back office checks it again (seeing what was asked), then the technical team reviews it again
    row = journey.task("back_office", "completeness_check")
    check = staff["back_office"].get(f"/api/tasks/{row['task_id']}")
    assert check["application"]["revision_notes"] == {document: "Unggah akta dengan alamat sekretariat yang baru"}
    journey.decide("back_office", "completeness_check", "complete", "Akta sudah diganti")
    journey.decide("technical_team", "technical_review", "recommend", "Sesuai setelah perbaikan", FINDINGS)
    assert journey.status()["revision_notes"] == {}

    # AND the file goes on to the permit
    journey.decide("verifier", "verification", "verified")
    journey.decide("approver", "approval", "approved")
    row = journey.task("back_office", "numbering")
    number = staff["back_office"].get(f"/api/tasks/{row['task_id']}")["proposed_number"]
    staff["back_office"].post(f"/api/tasks/{row['task_id']}/decision",
                              {"outcome": "confirmed", "details": {"number": number}})
    journey.decide("head", "signing", "signed")
    journey.decide("back_office", "printing", "printed", details={"copies": 1})
    journey.applicant.post(f"/api/applications/{journey.application_id}/survey",
                           {"scores": dict.fromkeys(SKM_ELEMENTS, 4)})
    journey.decide("back_office", "pickup", "handed_over")
    final = journey.wait_status(lambda s: s["status"] == "completed", "completion")
    assert final["permit_number"] == number
    versions = [d["version"] for d in final["documents"] if d["requirement_id"] == document and d["state"] == "accepted"]
    assert versions == [1, 2]  # the earlier version stays in the history
    states = runs_states(stack, journey)
    assert states.count("TechnicalReview") == 2 and states.count("CheckCompleteness") == 2
    assert "RequestRevision" in states and "ContinueAsNewRun" in states and states[-1] == "CloseCompleted"


def test_technical_revisions_count_against_the_revision_round_limit(stack, api, staff):
    # GIVEN an office that allows 3 revision rounds, and a file sent back 3 times (back office, technical team)
    journey = Journey(api, staff, PERMIT_TYPE)
    journey.apply()
    journey.submit()
    assert journey.applicant
    for round_number in (1, 2, 3):
        journey.decide("back_office", "completeness_check", "complete")
        journey.decide("technical_team", "technical_review", "revision", f"Perbaikan ke-{round_number}")
        journey.wait_status(lambda s: s["status"] == "awaiting_revision", f"revision request {round_number}")
        journey.applicant.post(f"/api/applications/{journey.application_id}/resubmit")
    # WHEN the technical team returns it a fourth time
    journey.decide("back_office", "completeness_check", "complete")
    journey.decide("technical_team", "technical_review", "revision", "Perbaikan ke-4")
    # THEN no fourth round opens: the head signs a rejection letter
    journey.decide("head", "rejection_signing", "signed")
    status = journey.wait_status(lambda s: s["status"] == "rejected", "rejection")
    assert [e["details"]["round"] for e in status["timeline"] if e["action"] == "revision_requested"] == [1, 2, 3]
