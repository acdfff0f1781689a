"""Stop the local stack mid-flow, start it again: applications, documents and waiting tasks continue."""

from __future__ import annotations

from silastri.adapters.signing import DevPkiSigner, verify_signed_pdf
from silastri_local.client import ApiClient
from silastri_local.journey import Journey, officer_clients
from silastri_local.stack_process import StackProcess


def test_restart_mid_flow_then_the_run_completes(tmp_path):
    first = StackProcess(tmp_path / "data").start()
    try:
        api = ApiClient(first.url)
        journey = Journey(api, officer_clients(api, first.officers()), "izin-operasional-orsos")
        journey.apply()
        journey.submit()
        journey.decide("back_office", "completeness_check", "complete")
        journey.task("technical_team", "technical_review")
        waiting_task = journey.task("technical_team", "technical_review")["task_id"]
    finally:
        first.stop()

    second = StackProcess(tmp_path / "data")
    second.port, second.aws_port = first.port, first.aws_port  # same URLs, as a user restarting would have
    second.start()
    try:
        assert "dilanjutkan" in second.log()
        api = ApiClient(second.url)
        journey.api = api
        journey.officers = officer_clients(api, second.officers())
        journey.applicant = ApiClient(second.url, journey.applicant.token)
        assert journey.task("technical_team", "technical_review")["task_id"] == waiting_task
        journey.decide("technical_team", "technical_review", "recommend")
        journey.decide("verifier", "verification", "verified")
        journey.decide("approver", "approval", "approved")
        row = journey.task("back_office", "numbering")
        number = journey.officers["back_office"].get(f"/api/tasks/{row['task_id']}")["proposed_number"]
        journey.officers["back_office"].post(f"/api/tasks/{row['task_id']}/decision",
                                             {"outcome": "confirmed", "details": {"number": number}})
        journey.decide("head", "signing", "signed")
        journey.decide("back_office", "printing", "printed")
        journey.applicant.post(f"/api/applications/{journey.application_id}/survey",
                               {"scores": {e: 3 for e in ["persyaratan", "prosedur", "waktu", "biaya", "produk",
                                                          "kompetensi", "perilaku", "pengaduan", "sarana"]}})
        journey.decide("back_office", "pickup", "handed_over")
        status = journey.wait_status(lambda s: s["status"] == "completed", "completion")
        assert len([d for d in status["documents"] if d["state"] == "accepted"]) == 11  # documents survived
        from silastri_local.client import fetch

        link = journey.applicant.get(f"/api/applications/{journey.application_id}/files/permit")
        report = verify_signed_pdf(fetch(link["url"]), DevPkiSigner(second.data_dir / "pki").trust_roots_pem())
        assert report.valid, report.reasons
    finally:
        second.stop()
