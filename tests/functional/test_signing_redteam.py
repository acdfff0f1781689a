"""Red-team tests of the BSrE signing work (issue 13). Each test reproduces a defect found by attacking the flow as
a head of office, an operator and an attacker (each failed on the code the red-team attacked, and passes since
its fix; one is a control that held up).

Fixtures: the stub BSrE of test_signing_bsre_flow (`bsre`, `resumed`) and the fake BSrE server
(tests/fixtures/fake_bsre.py, a TEST FIXTURE, not BSrE)."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from silastri.adapters import dynamo, workflow
from silastri.adapters.signing import SignatureAppearance, SignerIdentity
from silastri.adapters.signing_bsre import BsreSigner
from silastri.domain.errors import TooManyRequestsError, ValidationError
from silastri.domain.models import TaskStatus
from silastri.services import permits, signing, tasks
from silastri.settings import Settings, get_settings

from . import test_signing_bsre_flow as flow
from .test_signing_bsre_fake import fake_bsre
from .test_signing_bsre_flow import HEAD, NIK, StubRejection, _signing_task

bsre, resumed = flow.bsre, flow.resumed  # the flow module's fixtures: the stub BSrE and recorded resumes

PASSPHRASE = "Rahasia#Kepala-7731"


# ----------------------------------------------------------------------------- 1. the NIK reaches DynamoDB


def test_a_nik_submitted_without_passphrase_is_never_written_to_the_task_item(local_stack, bsre, resumed,
                                                                               monkeypatch):
    """The page posts the checked NIK as a hidden field; a head who clicks "Tandatangani" with the passphrase and
    TOTP fields empty sends {signer_nik} only. decide() takes secrets out only when a passphrase/TOTP key is
    present, so the NIK stays in `details` and is written with the claim (TaskItem.decision_details) before the
    missing passphrase is refused. The tasks table has point-in-time recovery: the NIK is kept in backups."""
    _, task_id = _signing_task()
    written: list[dict[str, Any]] = []
    real_claim = dynamo.claim_task

    def spy(*args: Any, **kwargs: Any) -> Any:
        written.append(json.loads(json.dumps(args[6] if len(args) > 6 else kwargs.get("details") or {},
                                             default=str)))
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(dynamo, "claim_task", spy)
    with pytest.raises(ValidationError):
        tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK})
    assert dynamo.get_task(task_id).status == TaskStatus.OPEN
    assert not any(NIK in json.dumps(d) for d in written), f"NIK written to the task item: {written}"


# ----------------------------------------------------------------------------- 2. NIK validation


@pytest.mark.parametrize("nik", ["１４０７０１１２３４５６７８９０",  # full-width digits (IME / copy-paste)
                                 "١٤٠٧٠١١٢٣٤٥٦٧٨٩٠"])  # Arabic-Indic digits
def test_a_nik_in_non_ascii_digits_is_refused_before_bsre_is_asked(local_stack, bsre, nik):
    """`\\d{16}` (services/signing._NIK and adapters/signing_bsre._NIK) matches any Unicode digit, so a NIK typed in
    full-width or Arabic-Indic digits passes as "16 digits" and is sent to BSrE."""
    with pytest.raises(ValidationError) as refused:
        signing.certificate_status(HEAD, nik, client_address="127.0.0.31")
    assert refused.value.field == "nik"
    assert bsre.calls == []


# ----------------------------------------------------------------------------- 3. passphrase guessing


def test_wrong_passphrase_attempts_are_throttled_like_status_and_totp_calls(local_stack, bsre, resumed):
    """Certificate status (20/15 min) and TOTP requests (5/h) are throttled per account because every call reaches
    the office's Esign Client, but signing attempts are not: a stolen head session (or a script) can try
    passphrases against BSrE without limit, each one a status call plus a sign call."""
    _, task_id = _signing_task()
    throttled = False
    for n in range(30):
        bsre.outcomes = [StubRejection()]
        try:
            tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "passphrase": f"tebakan-{n}"})
        except TooManyRequestsError:
            throttled = True
            break
        except signing.WrongSigningCredentials:
            continue
    sign_calls = [c for c in bsre.calls if c[0] == "sign"]
    assert throttled, f"{len(sign_calls)} wrong passphrases were sent to BSrE without any throttle"


# ----------------------------------------------------------------------------- 4. visible-signature settings


def _with_appearance(monkeypatch, **setting: Any) -> None:
    """Give the office a visible-signature setting (as it would be in offices.json)."""
    from silastri.domain.catalog import SignatureAppearanceSetting

    real = permits.signature_appearance
    value = SignatureAppearanceSetting(visible=True, **setting)
    monkeypatch.setattr(permits, "signature_appearance",
                        lambda office: real(office.model_copy(update={"signature_appearance": value})))


def test_a_visible_setting_whose_image_is_not_a_png_is_refused_when_the_catalog_loads():
    """Found: the catalog accepted `data:image/png;base64,<anything>`, and signing then crashed (HTTP 500) with a
    `signing_attempt` left without a result. Now the office setting itself is refused when it is loaded."""
    from silastri.domain.catalog import SignatureAppearanceSetting

    with pytest.raises(ValueError, match="PNG"):
        SignatureAppearanceSetting(visible=True, page=1, x=50, y=50, width=100, height=50,
                                   image="data:image/png;base64," + base64.b64encode(b"GIF89a not a png").decode())


def test_a_specimen_file_that_cannot_be_used_is_a_clear_refusal_not_a_crash(local_stack, bsre, resumed,
                                                                            monkeypatch):
    """A specimen named by file that is missing is only found out at signing time: a clear 422 before any
    attempt or BSrE call, the task stays open, no attempt is left without a result."""
    _with_appearance(monkeypatch, image="tidak_ada_spesimen.png", page=1, x=50, y=50, width=100, height=50)
    app, task_id = _signing_task()
    with pytest.raises(signing.SignatureSettingUnusable):
        tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "passphrase": PASSPHRASE})
    assert dynamo.get_task(task_id).status == TaskStatus.OPEN
    attempts = signing.attempts_of(app.application_id, "signing")
    assert all(a["result"] is not None for a in attempts), f"attempt left without a result: {attempts}"


@pytest.fixture(autouse=True)
def fresh_head(monkeypatch):
    """A head account of its own per test: failed signing attempts are throttled per account (10 per 15 min)."""
    import uuid

    head = HEAD.model_copy(update={"user_id": f"head-{uuid.uuid4().hex[:8]}"})
    monkeypatch.setitem(globals(), "HEAD", head)
    yield head


@pytest.fixture(scope="module")
def pki() -> Any:
    return fake_bsre.TestBsrePki()


@pytest.fixture
def fake(local_stack, pki, monkeypatch):
    identity = SignerIdentity(name="H. Ahmad Fauzi", title="Kepala Dinas")
    users = {NIK: fake_bsre.User(identity=identity, passphrase=PASSPHRASE)}
    with fake_bsre.FakeBsre(pki, users, username="esign", password="client-secret") as server:
        monkeypatch.setattr(workflow, "resume", lambda token, output, error=None: None)
        yield server


def _one_page_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "Keputusan uji")
    page.save()
    return out.getvalue()


def test_a_visible_signature_page_beyond_the_document_is_refused_before_sending_not_an_unknown_outcome(fake, pki):
    """page=5 on a one-page decree is sent to BSrE as is; BSrE answers 500 (as for any PDF it cannot sign) and the
    adapter reports an UNKNOWN outcome: the office is told the decree may already be signed and must confirm a
    re-sign, for a configuration error that is visible locally (the page count is read for page=-1 anyway)."""
    service = BsreSigner(fake.url, "esign", "client-secret", timeout=5, trust_roots_pem=pki.trust_roots_pem())
    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5E"
                           "rkJggg==")
    appearance = SignatureAppearance(visible=True, image_png=png, page=5, x=50, y=50, width=100, height=50)
    with pytest.raises(ValueError):
        service.sign_pdf(_one_page_pdf(), signer=SignerIdentity(name="x", title="y"), reason="r", location="l",
                         nik=NIK, passphrase=PASSPHRASE, appearance=appearance)
    assert fake.requests_to(fake_bsre.SIGN_PATH) == []


# ----------------------------------------------------------------------------- 5. no BSrE trust roots in production


@pytest.fixture
def deployed_bsre(local_stack, monkeypatch):
    """BSrE mode configured as README/template document it (SignerMode, BsreUrl, BsreUsername, the password
    secret, and — since the red-team found none — BSrE's trust roots: BsreTrustRootsSecret, here given directly as
    BSRE_TRUST_ROOTS_PEM); the production `signing.bsre_service()` is NOT replaced."""
    def configure(url: str, roots: list[bytes] | None = None) -> None:
        monkeypatch.setenv("SIGNER_MODE", "bsre")
        monkeypatch.setenv("BSRE_URL", url)
        monkeypatch.setenv("BSRE_USERNAME", "esign")
        if roots is None:
            monkeypatch.delenv("BSRE_TRUST_ROOTS_PEM", raising=False)
        else:
            monkeypatch.setenv("BSRE_TRUST_ROOTS_PEM", b"".join(roots).decode())
        monkeypatch.delenv("SIGNER_CERTIFICATE_PEM", raising=False)
        monkeypatch.setattr(Settings, "bsre_password", property(lambda self: "client-secret"))
        get_settings.cache_clear()

    yield configure
    get_settings.cache_clear()


def test_a_decree_signed_by_an_untrusted_chain_is_not_published_in_the_documented_bsre_setup(local_stack, pki,
                                                                                            deployed_bsre,
                                                                                            monkeypatch):
    """An Esign Client that answers with a file signed under some other PKI (a rogue or misconfigured server, or
    anyone on the plain-http path) gets its file published: with no trust roots configured, BsreSigner skips
    local verification (`_verify_locally` returns when there are no roots)."""
    rogue_pki = fake_bsre.TestBsrePki()  # not BSrE's: nobody configured it as trusted
    identity = SignerIdentity(name="H. Ahmad Fauzi", title="Kepala Dinas")
    users = {NIK: fake_bsre.User(identity=identity, passphrase=PASSPHRASE)}
    monkeypatch.setattr(workflow, "resume", lambda token, output, error=None: None)
    with fake_bsre.FakeBsre(rogue_pki, users, username="esign", password="client-secret") as server:
        deployed_bsre(server.url, pki.trust_roots_pem())  # BSrE's (the test PKI's) roots, not the rogue's
        app, task_id = _signing_task()
        with pytest.raises(signing.SignedDocumentRejected):
            tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "passphrase": PASSPHRASE})
    stored = dynamo.get_application(app.application_id)
    assert stored.permit_key is None, "a decree signed by an untrusted chain was published"


def test_the_public_verification_page_accepts_a_genuine_bsre_decree_in_the_documented_setup(local_stack, fake,
                                                                                          pki, deployed_bsre,
                                                                                          monkeypatch):
    """The other face of the same gap: permits.verify() (public /verifikasi page) uses signer_trust_roots(),
    which in BSrE mode is SIGNER_CERTIFICATE_PEM or nothing; a BSrE-signed, timestamped decree then shows as
    invalid (untrusted signer, timestamp invalid) to every citizen who checks it — unless an operator finds out
    that the KMS-only parameter must carry BSrE's root."""
    deployed_bsre(fake.url, pki.trust_roots_pem())
    app, task_id = _signing_task()
    tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "passphrase": PASSPHRASE})
    stored = dynamo.get_application(app.application_id)
    assert stored.permit_key
    result = permits.verify(app.permit_id or "")
    assert result["valid"] and result["timestamp_valid"], result["reasons"]


def test_without_bsre_trust_roots_signing_refuses_to_start_and_nothing_is_sent(local_stack, fake, deployed_bsre,
                                                                                monkeypatch):
    """No roots configured: a returned file could not be checked, so nothing is sent to BSrE at all."""
    from silastri.settings import SecretUnavailable

    deployed_bsre(fake.url, None)
    app, task_id = _signing_task()
    with pytest.raises(SecretUnavailable):
        tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "passphrase": PASSPHRASE})
    assert fake.requests_to(fake_bsre.SIGN_PATH) == []
    assert dynamo.get_application(app.application_id).permit_key is None
    assert dynamo.get_task(task_id).status == TaskStatus.OPEN


# ----------------------------------------------------------------------------- 6. unknown outcome on the page


def test_unknown_outcome_then_same_used_totp_with_confirmation_is_wrong_credentials_not_unknown(local_stack,
                                                                                             fake, pki,
                                                                                             monkeypatch):
    """Control (held up in the run that wrote this file if it passes): after a dropped connection the re-sign with
    confirm and the SAME, already used, TOTP is refused by BSrE as a wrong code; nothing published, task open."""
    service = BsreSigner(fake.url, "esign", "client-secret", timeout=3, trust_roots_pem=pki.trust_roots_pem())
    monkeypatch.setenv("SIGNER_MODE", "bsre")
    monkeypatch.setenv("BSRE_URL", fake.url)
    get_settings.cache_clear()
    monkeypatch.setattr(signing, "bsre_service", lambda: service)
    try:
        app, task_id = _signing_task()
        signing.request_totp(HEAD, NIK, client_address="127.0.0.41")
        code = fake.emailed_totp(NIK)
        fake.drop_connection = True
        with pytest.raises(signing.SigningOutcomeUnknown):
            tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "totp": code})
        fake.drop_connection = False
        with pytest.raises(signing.WrongSigningCredentials):
            tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "totp": code, "confirm_resign": True})
        assert dynamo.get_task(task_id).status == TaskStatus.OPEN
        assert dynamo.get_application(app.application_id).permit_key is None
        assert len(fake.requests_to(fake_bsre.SIGN_PATH)) == 2
    finally:
        get_settings.cache_clear()

