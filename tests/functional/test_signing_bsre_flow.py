"""The head's BSrE signing flow on the local runtime, in this process (issue 13): certificate status first, TOTP by
e-mail, numbered attempts in the audit trail, an unknown outcome that is re-signed only on an explicit
confirmation with a new passphrase, the JSON API and the signing page.

BSrE itself is played by `StubBsre`, a small test stub of the issue-13 `BsreSigner` interface
(`certificate_status`, `request_totp`, `with_credentials` → a one-shot signer); its signatures come from the
development PKI. The run's resume (`workflow.resume`) is recorded instead of sent: these tasks are opened
directly, without a Step Functions run."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from silastri.adapters import dynamo, workflow
from silastri.adapters.identity import Principal
from silastri.adapters.signing import DevPkiSigner, SignerIdentity
from silastri.adapters.signing_bsre import SigningOutcomeUnknownError, SigningRejectedError
from silastri.domain.errors import NotFoundError, TooManyRequestsError, ValidationError
from silastri.domain.models import Application, ApplicationStatus, TaskStatus
from silastri.services import signing, tasks
from silastri.settings import get_settings
from silastri_local.client import ApiClient, ApiError
from stored_text import items_text  # tests/fixtures (tests/conftest.py puts it on the path)

NIK = "1407011234567890"
HEAD = Principal(user_id="head-bsre", roles={"head"}, office_id="rokan-hilir", name="H. Ahmad Fauzi")


@dataclass
class StubStatus:
    status: str
    label: str
    may_sign: bool


class StubRejection(SigningRejectedError):
    """BSrE's refusal of a wrong passphrase, as the adapter reports it (reason `wrong-credentials`)."""

    def __init__(self) -> None:
        Exception.__init__(self, "BSrE refused the sign request (wrong-credentials)")
        self.reason = "wrong-credentials"


class StubBsre:
    """Test stub of the issue-13 BsreSigner interface. `status` is what `certificate_status` answers;
    `outcomes` are what the next sign calls do (an exception to raise, or None to sign with the development PKI).
    `calls` records each call (method, NIK, credential kind and value) so that tests can check what was used."""

    def __init__(self, pki: DevPkiSigner) -> None:
        self.pki = pki
        self.status = StubStatus("ISSUE", "Sertifikat aktif (ISSUE)", True)
        self.outcomes: list[Exception | None] = []
        self.calls: list[tuple[str, ...]] = []

    def certificate_status(self, nik: str) -> StubStatus:
        self.calls.append(("certificate_status", nik))
        return self.status

    def request_totp(self, nik: str) -> None:
        self.calls.append(("request_totp", nik))

    def with_credentials(self, nik: str, *, passphrase: str | None = None, totp: str | None = None) -> StubOneShot:
        kind, secret = ("passphrase", passphrase) if passphrase else ("totp", totp)
        return StubOneShot(self, nik, kind, secret or "")

    def trust_roots_pem(self) -> list[bytes]:
        return self.pki.trust_roots_pem()


class StubOneShot:
    """The stub's one-shot signer: one sign call, then the credential is gone."""

    def __init__(self, service: StubBsre, nik: str, kind: str, secret: str) -> None:
        self.service, self.pending = service, [(nik, kind, secret)]

    def sign_pdf(self, pdf: bytes, *, signer: SignerIdentity, reason: str, location: str, **_: Any) -> bytes:
        nik, kind, secret = self.pending.pop()
        self.service.calls.append(("sign", nik, kind, secret))
        outcome = self.service.outcomes.pop(0) if self.service.outcomes else None
        if outcome is not None:
            raise outcome
        return self.service.pki.sign_pdf(pdf, signer=signer, reason=reason, location=location)

    def trust_roots_pem(self) -> list[bytes]:
        return self.service.trust_roots_pem()


@pytest.fixture
def bsre(local_stack, monkeypatch, tmp_path):
    """BSrE mode with the stub; resumes are recorded. The settings cache is cleared before and after."""
    stub = StubBsre(DevPkiSigner(tmp_path / "pki"))
    monkeypatch.setenv("SIGNER_MODE", "bsre")
    monkeypatch.setenv("BSRE_URL", "http://203.0.113.7:8080")
    get_settings.cache_clear()
    monkeypatch.setattr(signing, "bsre_service", lambda: stub)
    yield stub
    get_settings.cache_clear()


@pytest.fixture
def resumed(monkeypatch) -> list[dict[str, Any]]:
    outputs: list[dict[str, Any]] = []
    monkeypatch.setattr(workflow, "resume", lambda token, output, error=None: outputs.append(output))
    return outputs


def _signing_task(step: str = "signing") -> tuple[Application, str]:
    app = Application(application_id=str(uuid.uuid4()), office_id="rokan-hilir", applicant_id="applicant-x",
                      permit_type="sip", status=ApplicationStatus.IN_PROGRESS,
                      registration_number=f"REG-2026-{uuid.uuid4().int % 10**6:06d}",
                      form={"practitioner_name": "dr. Uji Coba"}, created_at=datetime.now(UTC),
                      submitted_at=datetime.now(UTC), current_step=step,
                      permit_number=f"503/DPMPTSP-SIP/{uuid.uuid4().int % 10**4:04d}/XI/2026",
                      permit_id=uuid.uuid4().hex, rejection_reasons=["Berkas tidak lengkap."])
    dynamo.create_application(app)
    task = tasks.open_human_task(app.application_id, app.office_id, step, "State", f"tok-{uuid.uuid4().hex}", "x")
    return app, task.task_id


def _events(application_id: str, step: str = "signing") -> list[tuple[str, dict[str, Any]]]:
    return [(e.action, e.details) for e in dynamo.timeline(application_id)
            if e.step == step and e.action.startswith(("signing_", "decided"))]


def _stored_anywhere(local_stack, *needles: str) -> list[str]:
    """Which of `needles` appear in any item of any table of the stack (the NIK and secrets must not)."""
    ddb = local_stack.resources.client("dynamodb")
    found = set()
    for table in ddb.list_tables()["TableNames"]:
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            text = items_text(page["Items"])  # compressed bodies decompressed
            found |= {n for n in needles if n in text}
    return sorted(found)


def test_an_unknown_outcome_is_recorded_refused_without_confirmation_and_signed_again_with_it(local_stack, bsre,
                                                                                              resumed):
    app, task_id = _signing_task()
    bsre.outcomes = [SigningOutcomeUnknownError("timeout after the request was sent")]
    with pytest.raises(signing.SigningOutcomeUnknown) as unknown:
        tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "passphrase": "rahasia-pertama"})
    assert unknown.value.status == 409 and unknown.value.code == "signing_outcome_unknown"
    assert "mungkin sudah atau belum ditandatangani" in unknown.value.message
    assert "operator Esign Client BSrE" in unknown.value.message and "BARU" in unknown.value.message
    # the claim is released, nothing is published, the application carries the marker
    stored = dynamo.get_application(app.application_id)
    assert dynamo.get_task(task_id).status == TaskStatus.OPEN and resumed == []
    assert stored.permit_key is None and stored.signing_unknown_at is not None
    with pytest.raises(NotFoundError):
        dynamo.get_permit(app.permit_id or "")
    assert _events(app.application_id) == [
        ("signing_attempt", {"attempt": 1, "task_id": task_id, "signer_role": "head", "confirm_resign": False}),
        ("signing_outcome_unknown", {"attempt": 1, "task_id": task_id, "signer_role": "head"})]

    # without the confirmation: refused before anything is sent (not even the certificate check)
    calls_before = list(bsre.calls)
    with pytest.raises(signing.ResignNotConfirmed) as refused:
        tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "passphrase": "rahasia-kedua"})
    assert refused.value.field == "confirm_resign" and refused.value.code == "confirm_resign_required"
    assert bsre.calls == calls_before and dynamo.get_task(task_id).status == TaskStatus.OPEN

    # with it and a new passphrase: a second attempt, signed and published; both attempts stay in the trail
    decided = tasks.decide(HEAD, task_id, "signed", None,
                           {"signer_nik": NIK, "passphrase": "rahasia-kedua", "confirm_resign": True})
    assert decided.status == TaskStatus.DECIDED and resumed == [{"outcome": "signed", "task_id": task_id, "step": "signing"}]
    assert [c for c in bsre.calls if c[0] == "sign"] == [("sign", NIK, "passphrase", "rahasia-pertama"),
                                                         ("sign", NIK, "passphrase", "rahasia-kedua")]
    stored = dynamo.get_application(app.application_id)
    assert stored.status == ApplicationStatus.ISSUED and stored.permit_key and stored.signing_unknown_at is None
    assert dynamo.get_permit(app.permit_id or "").permit_number == app.permit_number
    actions = _events(app.application_id)
    assert [(a, d.get("attempt")) for a, d in actions] == [
        ("signing_attempt", 1), ("signing_outcome_unknown", 1), ("signing_attempt", 2), ("decided", None)]
    assert actions[2][1]["confirm_resign"] is True
    assert _stored_anywhere(local_stack, NIK, "rahasia-pertama", "rahasia-kedua") == []


def test_a_certificate_that_is_not_issue_is_refused_before_the_passphrase_is_sent(local_stack, bsre, resumed):
    app, task_id = _signing_task()
    bsre.status = StubStatus("EXPIRED", "Sertifikat kedaluwarsa", False)
    with pytest.raises(signing.CertificateNotUsable) as refused:
        tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "passphrase": "rahasia"})
    assert refused.value.status == 409 and refused.value.field == "signer_nik"
    assert "Sertifikat kedaluwarsa" in refused.value.message and refused.value.certificate_status == "EXPIRED"
    assert bsre.calls == [("certificate_status", NIK)]  # no sign call: the passphrase never left
    assert dynamo.get_task(task_id).status == TaskStatus.OPEN and _events(app.application_id) == []


def test_a_wrong_passphrase_is_an_attempt_recorded_as_rejected_without_the_secret(local_stack, bsre, resumed):
    app, task_id = _signing_task("rejection_signing")
    bsre.outcomes = [StubRejection()]
    with pytest.raises(signing.WrongSigningCredentials) as wrong:
        tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "totp": "123456"})
    assert wrong.value.status == 400 and wrong.value.field == "passphrase"
    assert _events(app.application_id, "rejection_signing") == [
        ("signing_attempt", {"attempt": 1, "task_id": task_id, "signer_role": "head", "confirm_resign": False}),
        ("signing_rejected", {"attempt": 1, "task_id": task_id, "signer_role": "head",
                              "reason": "wrong-credentials"})]
    # a rejection is not an unknown outcome: the next attempt needs no confirmation
    assert dynamo.get_application(app.application_id).signing_unknown_at is None
    decided = tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "totp": "654321"})
    assert decided.status == TaskStatus.DECIDED and dynamo.get_application(app.application_id).rejection_key


def test_credentials_are_required_and_only_one_kind_at_a_time(local_stack, bsre, resumed):
    app, task_id = _signing_task()
    with pytest.raises(ValidationError) as missing:
        tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK})
    assert missing.value.field == "passphrase"
    with pytest.raises(ValidationError) as both:
        tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "passphrase": "a", "totp": "123456"})
    assert both.value.field == "passphrase" and bsre.calls == []  # refused before BSrE is asked anything
    assert _events(app.application_id) == []
    with pytest.raises(ValidationError) as flag:
        tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "passphrase": "a", "confirm_resign": "ya"})
    assert flag.value.field == "confirm_resign"


# ----------------------------------------------------------------------------- JSON API


@pytest.fixture(scope="module")
def clients(local_stack) -> dict[str, ApiClient]:
    api = ApiClient(local_stack.api_url)
    return {role: api.login(entry["email"], entry["password"]) for role, entry in local_stack.officers.items()}


def _refused(call: Any, status: int, field: str | None = None) -> dict[str, Any]:
    with pytest.raises(ApiError) as caught:
        call()
    assert caught.value.status == status, caught.value.body
    if field:
        assert caught.value.body["error"]["field"] == field, caught.value.body
    return dict(caught.value.body["error"])


def test_certificate_status_and_totp_are_for_the_head_and_acting_head_of_the_office_only(local_stack, bsre,
                                                                                         clients):
    status = clients["head"].post("/api/signing/certificate-status", {"nik": NIK})
    assert status == {"status": "ISSUE", "label": "Sertifikat aktif (ISSUE)", "may_sign": True}
    assert clients["head_acting"].post("/api/signing/certificate-status", {"nik": NIK})["may_sign"] is True
    sent = clients["head"].post("/api/signing/totp", {"nik": NIK})
    assert sent == {"sent": True, "message": "Kode TOTP telah dikirim ke e-mail yang terdaftar di BSrE"}
    assert bsre.calls == [("certificate_status", NIK), ("certificate_status", NIK), ("request_totp", NIK)]
    for role in ("verifier", "approver", "back_office", "technical_team"):
        _refused(lambda r=role: clients[r].post("/api/signing/totp", {"nik": NIK}), 403, "role")
        _refused(lambda r=role: clients[r].post("/api/signing/certificate-status", {"nik": NIK}), 403, "role")
    for bad in ("123", "1407-0112-3456-7890", 1407011234567890, None):
        _refused(lambda b=bad: clients["head"].post("/api/signing/totp", {"nik": b}), 400, "nik")
        _refused(lambda b=bad: clients["head"].post("/api/signing/certificate-status", {"nik": b}), 400, "nik")
    assert len(bsre.calls) == 3  # refused calls never reach BSrE
    assert _stored_anywhere(local_stack, NIK) == []


def test_totp_requests_are_throttled_per_account(local_stack, bsre):
    head = Principal(user_id=f"head-{uuid.uuid4().hex[:8]}", roles={"head"}, office_id="rokan-hilir")
    for _ in range(5):
        signing.request_totp(head, NIK, client_address=f"127.0.0.{uuid.uuid4().int % 200 + 2}")
    with pytest.raises(TooManyRequestsError) as throttled:
        signing.request_totp(head, NIK, client_address="127.0.0.250")
    assert throttled.value.retry_after > 0 and throttled.value.field == "nik"
    assert bsre.calls.count(("request_totp", NIK)) == 5


def test_an_unknown_outcome_answers_409_with_a_stable_code_over_the_api(local_stack, bsre, resumed, clients):
    _, task_id = _signing_task()
    bsre.outcomes = [SigningOutcomeUnknownError("connection dropped")]
    decision = {"outcome": "signed", "details": {"signer_nik": NIK, "passphrase": "rahasia-1"}}
    error = _refused(lambda: clients["head"].post(f"/api/tasks/{task_id}/decision", decision), 409, "confirm_resign")
    assert error["code"] == "signing_outcome_unknown"
    decision["details"]["passphrase"] = "rahasia-2"
    error = _refused(lambda: clients["head"].post(f"/api/tasks/{task_id}/decision", decision), 409, "confirm_resign")
    assert error["code"] == "confirm_resign_required"
    decision["details"]["confirm_resign"] = True
    assert clients["head"].post(f"/api/tasks/{task_id}/decision", decision)["status"] == "decided"


def test_without_bsre_there_is_no_certificate_check_and_signing_needs_no_secret(local_stack, resumed, clients):
    assert get_settings().signer_mode == "dev-pki"
    error = _refused(lambda: clients["head"].post("/api/signing/certificate-status", {"nik": NIK}), 409)
    assert error["code"] == "not_bsre" and "sertifikat pengembangan" in error["message"]
    app, task_id = _signing_task()
    assert tasks.decide(HEAD, task_id, "signed", None, {}).status == TaskStatus.DECIDED
    assert not [a for a, _ in _events(app.application_id) if a.startswith("signing_")]


# ----------------------------------------------------------------------------- the signing page (no JavaScript)


def _page(local_stack, path: str, token: str, form: dict[str, str] | None = None) -> tuple[int, str]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    headers = {"Cookie": f"silastri_session={token}"}
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(local_stack.api_url + path, data=data, headers=headers,  # noqa: S310 - loopback
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback stack
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def test_the_signing_page_checks_the_certificate_first_then_asks_for_the_passphrase_or_totp(local_stack, bsre,
                                                                                             resumed, clients):
    _, task_id = _signing_task()
    token = clients["head"].token or ""
    path = f"/petugas/tugas/{task_id}"
    status, html = _page(local_stack, path, token)
    assert status == 200 and "Periksa sertifikat" in html and 'name="passphrase"' not in html
    assert "Koneksi ke BSrE tidak terenkripsi" in html  # BSRE_URL is http:// to a public address here
    csrf = _csrf(html)

    status, html = _page(local_stack, path + "/sertifikat", token, {"csrf": csrf, "signer_nik": "12"})
    assert status == 400 and "NIK harus 16 digit" in html and 'name="passphrase"' not in html

    status, html = _page(local_stack, path + "/sertifikat", token, {"csrf": csrf, "signer_nik": NIK})
    assert status == 200 and "Sertifikat aktif (ISSUE)" in html
    assert 'name="passphrase"' in html and 'name="totp"' in html and "Kirim kode TOTP" in html

    status, html = _page(local_stack, path + "/totp", token, {"csrf": csrf, "signer_nik": NIK})
    assert status == 200 and "Kode TOTP telah dikirim ke e-mail yang terdaftar di BSrE" in html
    assert ("request_totp", NIK) in bsre.calls

    # an unknown outcome: shown prominently, and the form asks for the explicit re-sign
    bsre.outcomes = [SigningOutcomeUnknownError("timeout")]
    status, html = _page(local_stack, path, token, {"csrf": csrf, "outcome": "signed", "signer_nik": NIK,
                                                    "totp": "123456"})
    assert status == 409 and "TIDAK DIKETAHUI" in html
    assert "Saya mengerti; tandatangani ulang dengan passphrase/TOTP baru" in html
    status, html = _page(local_stack, path, token, {"csrf": csrf, "outcome": "signed", "signer_nik": NIK,
                                                    "totp": "222222"})
    assert status == 409 and "centang konfirmasi" in html
    status, html = _page(local_stack, path, token, {"csrf": csrf, "outcome": "signed", "signer_nik": NIK,
                                                    "totp": "333333", "confirm_resign": "1"})
    assert status == 200 and "Keputusan Anda telah tercatat" in html  # followed the 303 to the decided task
    assert "percobaan ke-2, tanda tangan ulang dikonfirmasi" in html


def test_an_expired_certificate_is_shown_and_no_passphrase_is_asked(local_stack, bsre, resumed, clients):
    _, task_id = _signing_task()
    bsre.status = StubStatus("EXPIRED", "Sertifikat kedaluwarsa", False)
    token = clients["head_acting"].token or ""
    path = f"/petugas/tugas/{task_id}"
    _, html = _page(local_stack, path, token)
    status, html = _page(local_stack, path + "/sertifikat", token, {"csrf": _csrf(html), "signer_nik": NIK})
    assert status == 200 and "Sertifikat kedaluwarsa" in html and 'name="passphrase"' not in html


def test_other_signers_are_named_on_the_page_without_a_certificate_check(local_stack, resumed, clients):
    _, task_id = _signing_task()
    status, html = _page(local_stack, f"/petugas/tugas/{task_id}", clients["head"].token or "")
    assert status == 200 and "Penandatangan: sertifikat pengembangan" in html and "Periksa sertifikat" not in html
