"""The officers' side through the API: Plt. signing, batch signing, revocation, verify-permit,
the counter, the technical recommendation, the authorization matrix and concurrent decisions."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from pypdf import PdfReader, PdfWriter
from silastri.adapters.signing import DevPkiSigner
from silastri_local.client import ApiError, fetch
from silastri_local.journey import SKM_ELEMENTS, Journey, journey_at


def to_signing(api, staff, permit_type: str = "sip") -> Journey:
    journey = Journey(api, staff, permit_type)
    journey.apply()
    journey.submit()
    journey.decide("back_office", "completeness_check", "complete")
    if permit_type != "sip":
        journey.decide("technical_team", "technical_review", "recommend", None,
                       {"findings": ["Sekretariat ada dan papan nama terpasang", "Kegiatan berjalan"],
                        "visited_on": "2026-11-20"})
    journey.decide("verifier", "verification", "verified")
    journey.decide("approver", "approval", "approved")
    row = journey.task("back_office", "numbering")
    number = staff["back_office"].get(f"/api/tasks/{row['task_id']}")["proposed_number"]
    staff["back_office"].post(f"/api/tasks/{row['task_id']}/decision", {"outcome": "confirmed",
                                                                        "details": {"number": number}})
    journey.task("head", "signing")
    return journey


def permit_pdf(journey: Journey) -> bytes:
    assert journey.applicant
    return fetch(journey.applicant.get(f"/api/applications/{journey.application_id}/files/permit")["url"])


def verify_cli(stack, path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "silastri_local.cli", "--data-dir", str(stack.data_dir),
                           "verify-permit", str(path), "--url", stack.url], capture_output=True, text=True, timeout=120)


def test_acting_head_signs_in_own_name_marked_plt(stack, api, staff):
    journey = to_signing(api, staff)
    row = journey.task("head", "signing")
    staff["head_acting"].post(f"/api/tasks/{row['task_id']}/decision", {"outcome": "signed"})
    status = journey.wait_status(lambda s: s["status"] == "issued", "issued")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(permit_pdf(journey))).pages)
    assert "Plt." in text and "Zulkifli" in text
    public = api.get(f"/api/verify/{status['permit_id']}")
    assert public["valid"] and public["signer_title"].startswith("Plt.") and "Zulkifli" in public["signer_name"]
    signed = [e for e in journey.status()["timeline"] if e["step"] == "signing" and e["action"] == "decided"]
    assert signed[0]["details"]["acting"] == "Plt."


def test_head_signs_several_waiting_permits_at_once(stack, api, staff):
    first, second = to_signing(api, staff), to_signing(api, staff)
    ids = [first.task("head", "signing")["task_id"], second.task("head", "signing")["task_id"]]
    with pytest.raises(ApiError) as not_head:
        staff["approver"].post("/api/signing/batch", {"task_ids": ids})
    assert not_head.value.status == 403
    results = staff["head"].post("/api/signing/batch", {"task_ids": ids})["results"]
    assert [r["signed"] for r in results] == [True, True]
    again = staff["head"].post("/api/signing/batch", {"task_ids": ids[:1]})["results"]
    assert again[0]["signed"] is False and again[0]["status"] == 409
    for journey in (first, second):
        journey.wait_status(lambda s: s["status"] == "issued", "issued")


def test_verify_permit_cli_and_revocation(stack, api, staff, tmp_path):
    journey = to_signing(api, staff, "izin-operasional-orsos")
    journey.decide("head", "signing", "signed")
    status = journey.wait_status(lambda s: s["status"] == "issued", "issued")
    pdf = permit_pdf(journey)
    good = tmp_path / "izin.pdf"
    good.write_bytes(pdf)
    ok = verify_cli(stack, good)
    assert ok.returncode == 0 and ok.stdout.splitlines()[0] == "VALID", ok.stdout + ok.stderr
    # found by the id in its QR code, whatever the office's numbering format; the issuing office is named
    assert ok.stdout.splitlines()[-1] == (f"Izin: {status['permit_number']} — diterbitkan oleh "
                                          "DPMPTSP Kabupaten Rokan Hilir"), ok.stdout

    flipped = bytearray(pdf)
    flipped[len(pdf) // 3] ^= 0x01
    (tmp_path / "flipped.pdf").write_bytes(bytes(flipped))
    appended = pdf + b"\n1 0 obj\n<< /Type /Annot >>\nendobj\n%%EOF\n"
    (tmp_path / "appended.pdf").write_bytes(appended)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    if len(writer.pages) > 1:
        writer.remove_page(len(writer.pages) - 1)
    buffer = io.BytesIO()
    writer.write(buffer)
    (tmp_path / "removed.pdf").write_bytes(buffer.getvalue())
    for name in ("flipped.pdf", "appended.pdf", "removed.pdf"):
        bad = verify_cli(stack, tmp_path / name)
        assert bad.returncode == 1 and bad.stdout.startswith("INVALID"), (name, bad.stdout, bad.stderr)

    with pytest.raises(ApiError) as not_head:
        staff["approver"].post(f"/api/permits/{status['permit_id']}/revoke", {"reason": "x"})
    assert not_head.value.status == 403
    with pytest.raises(ApiError) as no_reason:
        staff["head"].post(f"/api/permits/{status['permit_id']}/revoke", {})
    assert no_reason.value.status == 400
    staff["head"].post(f"/api/permits/{status['permit_id']}/revoke", {"reason": "Organisasi dibubarkan"})
    assert api.get(f"/api/verify/{status['permit_id']}")["valid"] is False
    revoked = verify_cli(stack, good)
    assert revoked.returncode == 1 and "revoked" in revoked.stdout
    assert DevPkiSigner(stack.data_dir / "pki").trust_roots_pem()


def test_counter_shows_masked_identity_and_survey_state(stack, api, staff):
    journey = to_signing(api, staff)
    journey.decide("head", "signing", "signed")
    journey.decide("back_office", "printing", "printed", details={"copies": 2})
    journey.task("back_office", "pickup")
    view = staff["back_office"].get(f"/api/counter/{journey.registration_number}")
    assert view["survey_done"] is False and view["print_count"] == 2 and view["pickup_task_id"]
    assert view["nik_masked"].endswith(journey.credentials["nik"][-4:]) and journey.credentials["nik"] not in str(view)
    assert journey.credentials["phone"] not in str(view) and view["phone_masked"].endswith(journey.credentials["phone"][-4:])
    with pytest.raises(ApiError) as no_survey:
        journey.decide("back_office", "pickup", "handed_over")
    assert no_survey.value.status == 409 and no_survey.value.body["error"]["field"] == "survey"
    with pytest.raises(ApiError) as wrong_role:
        staff["verifier"].get(f"/api/counter/{journey.registration_number}")
    assert wrong_role.value.status == 403
    journey.applicant.post(f"/api/applications/{journey.application_id}/survey",
                           {"scores": dict.fromkeys(SKM_ELEMENTS, 3)})
    with pytest.raises(ApiError) as second_survey:
        journey.applicant.post(f"/api/applications/{journey.application_id}/survey",
                               {"scores": dict.fromkeys(SKM_ELEMENTS, 4)})
    assert second_survey.value.status == 409
    journey.decide("back_office", "pickup", "handed_over")
    journey.wait_status(lambda s: s["status"] == "completed", "completion")


def test_technical_recommendation_pdf_from_the_findings(stack, api, staff):
    journey = to_signing(api, staff, "izin-operasional-orsos")
    link = staff["verifier"].get(f"/api/applications/{journey.application_id}/files/technical-recommendation")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(fetch(link["url"]))).pages)
    assert "REKOMENDASI TEKNIS" in text.upper() and "papan nama" in text
    with pytest.raises(ApiError):
        journey.applicant.get(f"/api/applications/{journey.application_id}/files/technical-recommendation")


ACTIONS = {  # step → (role that may decide, outcome)
    "completeness_check": ("back_office", "complete"),
    "verification": ("verifier", "verified"),
    "approval": ("approver", "approved"),
}


def test_authorization_matrix_only_the_right_role_of_the_right_office_succeeds(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    other = Journey(api, staff, "sip")
    other.register()
    for step, (allowed, outcome) in ACTIONS.items():
        row = journey.task(allowed, step)
        path = f"/api/tasks/{row['task_id']}/decision"
        for role, client in staff.items():
            group = "head" if role == "head_acting" else role
            if group == allowed:
                continue
            with pytest.raises(ApiError) as denied:
                client.post(path, {"outcome": outcome})
            assert denied.value.status == 403, (step, role)
        for applicant in (journey.applicant, other.applicant):
            with pytest.raises(ApiError) as denied:
                applicant.post(path, {"outcome": outcome})
            assert denied.value.status in (403, 404), step
        staff[allowed].post(path, {"outcome": outcome})


def test_two_concurrent_decisions_record_one(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    row = journey.task("back_office", "completeness_check")
    outcomes: list[int] = []

    def decide(outcome: str, note: str | None) -> None:
        try:
            staff["back_office"].post(f"/api/tasks/{row['task_id']}/decision", {"outcome": outcome, "note": note})
            outcomes.append(200)
        except ApiError as exc:
            outcomes.append(exc.status)

    threads = [threading.Thread(target=decide, args=("complete", None)),
               threading.Thread(target=decide, args=("incomplete", "kurang"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [200, 409]
    decided = [e for e in journey.status()["timeline"] if e["action"] == "decided"]
    assert len(decided) == 1


def test_concurrent_confirmations_of_different_files_each_get_the_next_free_number(stack, api, staff):
    """Issue 12 item 6: files waiting at numbering at once are all shown the same next number; confirmed at
    the same moment, each gets its own (distinct, gap-free), none is refused; a second confirmation of the
    same file is the only 409."""
    files = 12
    with ThreadPoolExecutor(max_workers=4) as pool:
        journeys = list(pool.map(lambda _: journey_at(api, staff, "numbering", permit_type="sip"), range(files)))
    back_office = staff["back_office"]
    rows = [j.task("back_office", "numbering") for j in journeys]
    shown = [back_office.get(f"/api/tasks/{row['task_id']}")["proposed_number"] for row in rows]
    start = threading.Barrier(files)

    def confirm(index: int) -> int:
        start.wait()
        try:
            back_office.post(f"/api/tasks/{rows[index]['task_id']}/decision",
                             {"outcome": "confirmed", "details": {"number": shown[index]}})
            return 200
        except ApiError as exc:
            return exc.status

    with ThreadPoolExecutor(max_workers=files) as pool:
        answers = list(pool.map(confirm, range(files)))
    assert answers == [200] * files
    assigned = [j.status()["permit_number"] for j in journeys]
    sequences = sorted(int(n.split("/")[2]) for n in assigned)
    assert sequences == list(range(sequences[0], sequences[0] + files))  # distinct and gap-free
    for journey, number, proposal in zip(journeys, assigned, shown, strict=True):
        decided = [e for e in journey.status()["timeline"] if e["step"] == "numbering" and e["action"] == "decided"]
        assert decided[0]["details"]["number"] == number  # the audit trail says which number was assigned
        assert decided[0]["details"].get("proposed_number", number) == proposal  # and what was shown, if other
    with pytest.raises(ApiError) as twice:
        back_office.post(f"/api/tasks/{rows[0]['task_id']}/decision",
                         {"outcome": "confirmed", "details": {"number": shown[0]}})
    assert twice.value.status == 409
    assert journeys[0].status()["permit_number"] == assigned[0]


def test_a_signing_passphrase_is_never_stored_or_logged(stack, api, staff):
    journey = to_signing(api, staff)
    row = journey.task("head", "signing")
    secret = "Rahasia-Kadis-" + row["task_id"][:8]
    staff["head"].post(f"/api/tasks/{row['task_id']}/decision",
                       {"outcome": "signed", "details": {"passphrase": secret}})
    journey.wait_status(lambda s: s["status"] == "issued", "issued")
    stored = stack.aws("dynamodb").get_item(TableName="silastri-TasksTable", Key={"task_id": {"S": row["task_id"]}})
    assert secret not in str(stored)
    assert secret not in str(journey.status()) and secret not in stack.log()


def test_ikm_report_from_the_surveys(stack, api, staff):
    journey = to_signing(api, staff)
    journey.decide("head", "signing", "signed")
    journey.wait_status(lambda s: s["status"] == "issued", "issued")
    journey.applicant.post(f"/api/applications/{journey.application_id}/survey",
                           {"scores": dict.fromkeys(SKM_ELEMENTS, 4)})
    report = staff["head"].get("/api/reports/ikm")
    assert report["respondents"] >= 1
    if report["respondents"] < 5:   # too few to show without telling one applicant's answers
        assert report["shown_from"] == 5 and "converted" not in report and "nrr" not in report
        office = journey.office_id or "rokan-hilir"   # the head's office (the deployment's default)
        for n in range(5):   # other applicants' surveys, stored as the survey endpoint stores them
            stack.aws("dynamodb").put_item(TableName="silastri-SurveysTable", Item={
                "office_id": {"S": office}, "application_id": {"S": f"ikm-seed-{n}-{journey.application_id}"},
                "body": {"S": json.dumps({"scores": dict.fromkeys(SKM_ELEMENTS, 3)})},
                "filled_at": {"S": "2026-11-02T03:00:00+00:00"}})
        report = staff["head"].get("/api/reports/ikm")
    assert report["respondents"] >= 5 and 25 <= report["converted"] <= 100 and report["grade"] in "ABCD"
    assert all(round(v, 2) == v for v in report["nrr"].values())  # as published: two decimals
    for role in ("back_office", "technical_team"):   # as the report page: not theirs to read
        with pytest.raises(ApiError) as barred:
            staff[role].get("/api/reports/ikm")
        assert barred.value.status == 403
    with pytest.raises(ApiError) as applicant:
        journey.applicant.get("/api/reports/ikm")
    assert applicant.value.status == 403


def test_the_technical_team_sees_only_files_sent_to_it(stack, api, staff):
    """The sector agency's team is not a DPMPTSP officer: a file that never went to it (a SIP, no recommendation)
    is not found through its documents or messages; one sent to it is (red-team finding: search was filtered,
    downloads and messages were not)."""
    sip = Journey(api, staff, "sip")
    sip.apply()
    sip.submit()
    sip.decide("back_office", "completeness_check", "complete")
    sip.wait_status(lambda s: s["downloads"]["receipt"], "receipt")
    team = staff["technical_team"]
    with pytest.raises(ApiError) as files:
        team.get(f"/api/applications/{sip.application_id}/files/receipt")
    assert files.value.status == 404
    with pytest.raises(ApiError) as messages:
        team.get(f"/api/applications/{sip.application_id}/messages")
    assert messages.value.status == 403
    assert staff["verifier"].get(f"/api/applications/{sip.application_id}/files/receipt")["url"]  # DPMPTSP: yes
    orsos = Journey(api, staff, "izin-operasional-orsos")
    orsos.apply()
    orsos.submit()
    orsos.decide("back_office", "completeness_check", "complete")
    orsos.task("technical_team", "technical_review")
    assert team.get(f"/api/applications/{orsos.application_id}/files/receipt")["url"]
    assert isinstance(team.get(f"/api/applications/{orsos.application_id}/messages")["messages"], list)
