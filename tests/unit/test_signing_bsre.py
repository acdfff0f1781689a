"""BSrE eSign v2 adapter (adapters/signing_bsre.py) against a local fake service (tests/fixtures/fake_bsre.py)."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import io
import pickle
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

import pytest
from reportlab.pdfgen import canvas
from silastri.adapters import signing_bsre
from silastri.adapters.signing import DevPkiSigner, Signer, SignerIdentity, SigningError, verify_signed_pdf
from silastri.adapters.signing_bsre import (
    CLIENT_UNAUTHORIZED,
    NOT_REGISTERED,
    WRONG_CREDENTIALS,
    BsreSigner,
    SignedDocumentInvalidError,
    SigningOutcomeUnknownError,
    SigningRejectedError,
    SigningUnavailableError,
)


def _load_fake() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "fixtures" / "fake_bsre.py"
    spec = importlib.util.spec_from_file_location("silastri_tests_fake_bsre", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fake_bsre = _load_fake()

NIK = "1409010101800001"
PASSPHRASE = "Rahasia#Kepala-7731"
TOTP = "493817"
CLIENT_USER = "silastri-esign"
CLIENT_PASSWORD = "client-secret-9f2c"
HEAD = SignerIdentity(
    name="Drs. H. Ahmad Yani, M.Si",
    title="Kepala Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
)
REASON = "Penetapan izin"
LOCATION = "Bagansiapiapi"
SIGN = fake_bsre.SIGN_PATH
STATUS = fake_bsre.STATUS_PREFIX
VERIFY = fake_bsre.VERIFY_PATH


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPkiSigner:
    return DevPkiSigner(tmp_path_factory.mktemp("bsre-pki"))


def make_pdf(number: str) -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, f"SURAT IZIN OPERASIONAL - 503/DPMPTSP-IOS/{number}/XI/2026")
    page.showPage()
    page.save()
    return buffer.getvalue()


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return make_pdf("0007")


@pytest.fixture
def fake(pki: DevPkiSigner) -> Iterator[Any]:
    users = {NIK: fake_bsre.User(identity=HEAD, passphrase=PASSPHRASE, totp=TOTP)}
    with fake_bsre.FakeBsre(pki, users, username=CLIENT_USER, password=CLIENT_PASSWORD) as server:
        yield server


def client(fake: Any, pki: DevPkiSigner, *, timeout: float = 5.0, trusted: bool = True) -> BsreSigner:
    roots = pki.trust_roots_pem() if trusted else ()
    return BsreSigner(fake.url, CLIENT_USER, CLIENT_PASSWORD, timeout=timeout, trust_roots_pem=roots)


# -- secret hygiene helpers ----------------------------------------------------------------------


def reachable_secret(obj: Any, secret: str, seen: set[int] | None = None, depth: int = 0) -> bool:
    """Is ``secret`` held anywhere in ``obj`` (attributes, slots, containers), recursively?"""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 12:
        return False
    seen.add(id(obj))
    if isinstance(obj, str):
        return secret in obj
    if isinstance(obj, bytes | bytearray):
        return secret.encode() in obj
    if isinstance(obj, int | float | bool | type(None)):
        return False
    if isinstance(obj, dict):
        return any(
            reachable_secret(k, secret, seen, depth + 1) or reachable_secret(v, secret, seen, depth + 1)
            for k, v in obj.items()
        )
    if isinstance(obj, list | tuple | set | frozenset):
        return any(reachable_secret(item, secret, seen, depth + 1) for item in obj)
    if secret in repr(obj):
        return True
    members: list[Any] = []
    if hasattr(obj, "__dict__"):
        members.extend(vars(obj).values())
    for klass in type(obj).__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if hasattr(obj, slot):
                members.append(getattr(obj, slot))
    return any(reachable_secret(member, secret, seen, depth + 1) for member in members)


def secret_in_exception(exc: BaseException, secret: str) -> bool:
    """In the message, args, attributes, chained exceptions, or the locals of this adapter's
    frames that the traceback keeps alive?"""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for item in chain:
        if secret in str(item) or secret in repr(item) or reachable_secret(item.args, secret):
            return True
        if reachable_secret(vars(item), secret):
            return True
        tb: TracebackType | None = item.__traceback__
        while tb is not None:
            in_adapter = tb.tb_frame.f_code.co_filename == signing_bsre.__file__
            if in_adapter and reachable_secret(dict(tb.tb_frame.f_locals), secret):
                return True
            tb = tb.tb_next
    return False


def bodies_with(fake: Any, secret: str) -> int:
    return sum(1 for r in fake.requests if secret.encode() in r.body or secret in str(r.headers))


# -- signing -----------------------------------------------------------------------------------------


def test_sign_returns_valid_pdf_and_keeps_no_passphrase(fake: Any, pki: DevPkiSigner, pdf: bytes) -> None:
    service = client(fake, pki)
    signed = service.sign_pdf(
        pdf, signer=HEAD, reason=REASON, location=LOCATION, nik=NIK, passphrase=PASSPHRASE
    )

    report = verify_signed_pdf(signed, pki.trust_roots_pem())
    assert report.valid, report.reasons
    assert report.signer_name == HEAD.name
    assert signed.startswith(pdf)

    (request,) = fake.requests
    assert (request.method, request.path) == ("POST", SIGN)
    assert uuid.UUID(request.header("X-Request-ID")).version == 4
    assert request.header("Content-Type") == "application/json"
    body = request.json()
    assert body == {
        "nik": NIK,
        "passphrase": PASSPHRASE,
        "signatureProperties": [{"tampilan": "INVISIBLE", "reason": REASON, "location": LOCATION}],
        "file": [body["file"][0]],
    }
    assert bodies_with(fake, PASSPHRASE) == 1
    assert not reachable_secret(service, PASSPHRASE)
    assert CLIENT_PASSWORD not in repr(service)


def test_sign_with_totp_sends_totp_only(fake: Any, pki: DevPkiSigner, pdf: bytes) -> None:
    signed = client(fake, pki).sign_pdf(
        pdf, signer=HEAD, reason=REASON, location=LOCATION, nik=NIK, totp=TOTP
    )
    assert verify_signed_pdf(signed, pki.trust_roots_pem()).valid
    body = fake.requests[0].json()
    assert body["totp"] == TOTP and "passphrase" not in body


def test_one_shot_signer_through_the_port(fake: Any, pki: DevPkiSigner, pdf: bytes) -> None:
    service = client(fake, pki)
    one_shot = service.with_credentials(NIK, passphrase=PASSPHRASE)
    assert isinstance(one_shot, Signer)
    assert PASSPHRASE not in repr(one_shot)
    with pytest.raises(TypeError):
        pickle.dumps(one_shot)
    with pytest.raises(TypeError):
        copy.deepcopy(one_shot)

    port: Signer = one_shot
    signed = port.sign_pdf(pdf, signer=HEAD, reason=REASON, location=LOCATION)
    assert verify_signed_pdf(signed, port.trust_roots_pem()).valid
    assert one_shot.used
    assert not reachable_secret(one_shot, PASSPHRASE)
    assert not reachable_secret(service, PASSPHRASE)

    with pytest.raises(SigningError, match="already used"):
        port.sign_pdf(pdf, signer=HEAD, reason=REASON, location=LOCATION)
    assert len(fake.requests) == 1
    assert bodies_with(fake, PASSPHRASE) == 1


def test_discarded_one_shot_holds_nothing(fake: Any, pki: DevPkiSigner, pdf: bytes) -> None:
    with client(fake, pki).with_credentials(NIK, totp=TOTP) as one_shot:
        assert reachable_secret(one_shot, TOTP)  # the helper does find it while armed
    assert not reachable_secret(one_shot, TOTP)
    with pytest.raises(SigningError, match="already used or discarded"):
        one_shot.sign_pdf(pdf, signer=HEAD, reason=REASON, location=LOCATION)
    assert fake.requests == []


# -- refusals ----------------------------------------------------------------------------------------


def test_wrong_passphrase_is_rejected_once_and_not_leaked(fake: Any, pki: DevPkiSigner, pdf: bytes) -> None:
    wrong = "Salah#Ketik-0000"
    service = client(fake, pki)
    with pytest.raises(SigningRejectedError) as caught:
        service.sign_pdf(pdf, signer=HEAD, reason=REASON, location=LOCATION, nik=NIK, passphrase=wrong)
    error = caught.value
    assert error.reason == WRONG_CREDENTIALS and error.wrong_credentials
    assert (error.http_status, error.code) == (400, 2031)
    assert error.request_id == fake.requests[0].header("X-Request-ID")
    assert "Passphrase anda salah" in str(error)
    assert len(fake.requests) == 1  # never retried
    assert not secret_in_exception(error, wrong)
    assert not reachable_secret(service, wrong)

    one_shot = service.with_credentials(NIK, passphrase=wrong)
    with pytest.raises(SigningRejectedError) as caught_port:
        one_shot.sign_pdf(pdf, signer=HEAD, reason=REASON, location=LOCATION)
    assert not secret_in_exception(caught_port.value, wrong)
    assert not reachable_secret(one_shot, wrong)
    assert len(fake.requests) == 2


def test_unknown_nik_and_wrong_client_credentials(fake: Any, pki: DevPkiSigner, pdf: bytes) -> None:
    with pytest.raises(SigningRejectedError) as unknown:
        client(fake, pki).sign_pdf(
            pdf, signer=HEAD, reason=REASON, location=LOCATION, nik="1409019999999999", passphrase=PASSPHRASE
        )
    assert unknown.value.reason == NOT_REGISTERED

    intruder = BsreSigner(fake.url, CLIENT_USER, "wrong-client-password", timeout=5)
    with pytest.raises(SigningRejectedError) as unauthorised:
        intruder.sign_pdf(pdf, signer=HEAD, reason=REASON, location=LOCATION, nik=NIK, passphrase=PASSPHRASE)
    assert (unauthorised.value.reason, unauthorised.value.http_status) == (CLIENT_UNAUTHORIZED, 401)
    assert not secret_in_exception(unauthorised.value, PASSPHRASE)
    assert len(fake.requests_to(SIGN)) == 2
    assert fake.jobs == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"nik": NIK}, "exactly one"),
        ({"nik": NIK, "passphrase": PASSPHRASE, "totp": TOTP}, "exactly one"),
        ({"nik": "14090101", "passphrase": PASSPHRASE}, "16 digits"),
        ({"nik": NIK, "passphrase": ""}, "empty"),
    ],
)
def test_bad_arguments_send_nothing(
    fake: Any, pki: DevPkiSigner, pdf: bytes, kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        client(fake, pki).sign_pdf(pdf, signer=HEAD, reason=REASON, location=LOCATION, **kwargs)
    assert not secret_in_exception(caught.value, PASSPHRASE)
    with pytest.raises(ValueError, match=message):
        client(fake, pki).with_credentials(**kwargs)
    assert fake.requests == []


# -- unknown outcomes and reconciliation ---------------------------------------------------------------


def test_timeout_is_unknown_never_retried_then_reconciled(fake: Any, pki: DevPkiSigner, pdf: bytes) -> None:
    fake.sign_delay = 0.6
    service = client(fake, pki, timeout=0.25)
    started = time.monotonic()
    with pytest.raises(SigningOutcomeUnknownError) as caught:
        service.sign_pdf(pdf, signer=HEAD, reason=REASON, location=LOCATION, nik=NIK, passphrase=PASSPHRASE)
    assert time.monotonic() - started < 0.55  # gave up at the timeout, did not wait nor retry
    request_id = caught.value.request_id
    (sign_request,) = fake.requests_to(SIGN)
    assert sign_request.header("X-Request-ID") == request_id
    assert not secret_in_exception(caught.value, PASSPHRASE)
    assert not reachable_secret(service, PASSPHRASE)

    original = hashlib.sha256(pdf).hexdigest()
    with pytest.raises(SigningOutcomeUnknownError, match="in progress"):
        service.reconcile(request_id, original)  # still signing: not "not signed"

    assert fake.wait_done(request_id)
    signed = service.reconcile(request_id, original)
    assert signed is not None
    assert verify_signed_pdf(signed, pki.trust_roots_pem()).valid
    assert signed.startswith(pdf)
    assert len(fake.requests_to(SIGN)) == 1  # exactly one sign request in the whole story
    assert len(fake.requests_to(VERIFY)) == 1  # the reconciled file was verified by the service
    assert bodies_with(fake, PASSPHRASE) == 1


def test_connection_drop_after_sending_is_unknown(fake: Any, pki: DevPkiSigner, pdf: bytes) -> None:
    fake.drop_connection = True
    service = client(fake, pki)
    with pytest.raises(SigningOutcomeUnknownError) as caught:
        service.sign_pdf(pdf, signer=HEAD, reason=REASON, location=LOCATION, nik=NIK, passphrase=PASSPHRASE)
    assert len(fake.requests_to(SIGN)) == 1
    signed = service.reconcile(caught.value.request_id, hashlib.sha256(pdf).hexdigest())
    assert signed is not None and verify_signed_pdf(signed, pki.trust_roots_pem()).valid


@pytest.mark.parametrize(
    ("status", "expected"),
    [(500, SigningOutcomeUnknownError), (504, SigningOutcomeUnknownError), (503, SigningUnavailableError)],
)
def test_server_errors(
    fake: Any, pki: DevPkiSigner, pdf: bytes, status: int, expected: type[Exception]
) -> None:
    fake.sign_failure = (status, {"status_code": status, "error": "upstream"})
    with pytest.raises(expected):
        client(fake, pki).sign_pdf(
            pdf, signer=HEAD, reason=REASON, location=LOCATION, nik=NIK, passphrase=PASSPHRASE
        )
    assert len(fake.requests_to(SIGN)) == 1


def test_connection_refused_means_not_sent(pki: DevPkiSigner, pdf: bytes) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    service = BsreSigner(f"http://127.0.0.1:{port}", CLIENT_USER, CLIENT_PASSWORD, timeout=1)
    with pytest.raises(SigningUnavailableError) as caught:
        service.sign_pdf(pdf, signer=HEAD, reason=REASON, location=LOCATION, nik=NIK, passphrase=PASSPHRASE)
    assert not secret_in_exception(caught.value, PASSPHRASE)


def test_reconcile_unknown_request_is_none(fake: Any, pki: DevPkiSigner, pdf: bytes) -> None:
    service = client(fake, pki)
    assert service.reconcile(str(uuid.uuid4()), hashlib.sha256(pdf).hexdigest()) is None
    with pytest.raises(ValueError):
        service.reconcile("../../admin", hashlib.sha256(pdf).hexdigest())
    with pytest.raises(ValueError):
        service.reconcile(str(uuid.uuid4()), "not-a-digest")


def _signed_request(fake: Any, pki: DevPkiSigner, pdf: bytes) -> str:
    client(fake, pki).sign_pdf(
        pdf, signer=HEAD, reason=REASON, location=LOCATION, nik=NIK, passphrase=PASSPHRASE
    )
    return fake.requests_to(SIGN)[-1].header("X-Request-ID")


def _tamper(signed: bytes) -> bytes:
    """Change one character inside the signed revision (the /Reason), keeping every offset."""
    tampered = signed.replace(f"({REASON})".encode(), f"({REASON[:-1]}X)".encode())
    assert tampered != signed and len(tampered) == len(signed)
    return tampered


def test_reconcile_rejects_a_tampered_file(fake: Any, pki: DevPkiSigner, pdf: bytes) -> None:
    request_id = _signed_request(fake, pki, pdf)
    fake.status_transform = _tamper
    service = client(fake, pki, trusted=False)  # only the service's verify call stands in the way
    with pytest.raises(SignedDocumentInvalidError, match="does not verify"):
        service.reconcile(request_id, hashlib.sha256(pdf).hexdigest())
    assert len(fake.requests_to(VERIFY)) == 1


def test_reconcile_rejects_another_document(fake: Any, pki: DevPkiSigner, pdf: bytes) -> None:
    request_id = _signed_request(fake, pki, pdf)
    other = pki.sign_pdf(make_pdf("0666"), signer=HEAD, reason=REASON, location=LOCATION)
    fake.status_transform = lambda _signed: other
    with pytest.raises(SignedDocumentInvalidError, match="not a signed version of the original"):
        client(fake, pki).reconcile(request_id, hashlib.sha256(pdf).hexdigest())
    assert fake.requests_to(VERIFY) == []  # rejected before asking anybody


def test_reconcile_does_not_trust_a_lying_verify_when_roots_are_known(
    fake: Any, pki: DevPkiSigner, pdf: bytes
) -> None:
    request_id = _signed_request(fake, pki, pdf)
    fake.status_transform = _tamper
    fake.verify_always_valid = True
    with pytest.raises(SignedDocumentInvalidError, match="does not verify locally"):
        client(fake, pki).reconcile(request_id, hashlib.sha256(pdf).hexdigest())


def test_sign_rejects_a_response_that_is_not_the_signed_original(
    fake: Any, pki: DevPkiSigner, pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = pki.sign_pdf(make_pdf("0666"), signer=HEAD, reason=REASON, location=LOCATION)
    monkeypatch.setattr(fake.pki, "sign_pdf", lambda *_a, **_k: other)
    with pytest.raises(SignedDocumentInvalidError):
        client(fake, pki).sign_pdf(
            pdf, signer=HEAD, reason=REASON, location=LOCATION, nik=NIK, passphrase=PASSPHRASE
        )
