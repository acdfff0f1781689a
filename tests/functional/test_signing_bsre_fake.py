"""After the i13-bsre merge: the head's signing flow against the fake BSrE (test fixture, not BSrE) through the real
BsreSigner: certificate status, TOTP by "e-mail", a dropped connection → unknown outcome → explicit re-sign, and
the published decree is PAdES-BASELINE-T that verifies (timestamp included)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from silastri.adapters import dynamo, storage, workflow
from silastri.adapters.identity import Principal
from silastri.adapters.signing import SignerIdentity, verify_signed_pdf
from silastri.adapters.signing_bsre import BsreSigner
from silastri.domain.models import ApplicationStatus, TaskStatus
from silastri.services import signing, tasks
from silastri.settings import get_settings

from .test_signing_bsre_flow import _events, _signing_task, _stored_anywhere


def _load_fake() -> Any:
    path = Path(__file__).resolve().parents[1] / "fixtures" / "fake_bsre.py"
    spec = importlib.util.spec_from_file_location("silastri_tests_fake_bsre_flow", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fake_bsre = _load_fake()
NIK, EXPIRED_NIK, PASSPHRASE = "1409010101800001", "1409010101800002", "Rahasia#Kepala-7731"
HEAD = Principal(user_id="head-fake", roles={"head"}, office_id="rokan-hilir", name="H. Ahmad Fauzi")


@pytest.fixture(scope="module")
def pki() -> Any:
    return fake_bsre.TestBsrePki()


@pytest.fixture
def fake(local_stack, pki, monkeypatch):
    identity = SignerIdentity(name="H. Ahmad Fauzi", title="Kepala Dinas")
    users = {NIK: fake_bsre.User(identity=identity, passphrase=PASSPHRASE),
             EXPIRED_NIK: fake_bsre.User(identity=identity, passphrase=PASSPHRASE, status="EXPIRED")}
    with fake_bsre.FakeBsre(pki, users, username="esign", password="client-secret") as server:
        monkeypatch.setenv("SIGNER_MODE", "bsre")
        monkeypatch.setenv("BSRE_URL", server.url)
        get_settings.cache_clear()
        service = BsreSigner(server.url, "esign", "client-secret", timeout=3, trust_roots_pem=pki.trust_roots_pem())
        monkeypatch.setattr(signing, "bsre_service", lambda: service)
        monkeypatch.setattr(workflow, "resume", lambda token, output, error=None: None)
        yield server
    get_settings.cache_clear()


def test_dropped_connection_then_confirmed_totp_resign_publishes_a_timestamped_decree(local_stack, fake, pki):
    app, task_id = _signing_task()
    fake.drop_connection = True
    with pytest.raises(signing.SigningOutcomeUnknown):
        tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "passphrase": PASSPHRASE})
    fake.drop_connection = False
    with pytest.raises(signing.ResignNotConfirmed):
        tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "passphrase": PASSPHRASE})
    signing.request_totp(HEAD, NIK, client_address="127.0.0.9")
    code = fake.emailed_totp(NIK)
    decided = tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": NIK, "totp": code, "confirm_resign": True})
    assert decided.status == TaskStatus.DECIDED
    stored = dynamo.get_application(app.application_id)
    assert stored.status == ApplicationStatus.ISSUED and stored.signing_unknown_at is None
    report = verify_signed_pdf(storage.get_document(stored.permit_key or ""), pki.trust_roots_pem())
    assert report.valid, report.reasons
    assert [(a, d.get("attempt")) for a, d in _events(app.application_id)] == [
        ("signing_attempt", 1), ("signing_outcome_unknown", 1), ("signing_attempt", 2), ("decided", None)]
    assert _stored_anywhere(local_stack, NIK, PASSPHRASE, code) == []


def test_an_expired_certificate_at_the_fake_is_refused_before_signing(local_stack, fake):
    app, task_id = _signing_task()
    status = signing.certificate_status(HEAD, EXPIRED_NIK, client_address="127.0.0.9")
    assert status["may_sign"] is False and status["status"] == "EXPIRED"
    with pytest.raises(signing.CertificateNotUsable):
        tasks.decide(HEAD, task_id, "signed", None, {"signer_nik": EXPIRED_NIK, "passphrase": PASSPHRASE})
    assert fake.requests_to(fake_bsre.SIGN_PATH) == [] and _events(app.application_id) == []
