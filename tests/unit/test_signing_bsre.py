"""Contract tests of the BSrE eSign v2 adapter (adapters/signing_bsre.py) against the fake service
(tests/fixtures/fake_bsre.py, a TEST FIXTURE that follows the documented v2 behaviour)."""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib.util
import io
import json
import logging
import pickle
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from types import ModuleType, SimpleNamespace, TracebackType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab.pdfgen import canvas
from silastri.adapters import signing_bsre
from silastri.adapters.signing import (
    SignatureAppearance,
    Signer,
    SignerIdentity,
    SigningError,
    pades_sign,
    verify_signed_pdf,
)
from silastri.adapters.signing_bsre import (
    CLIENT_UNAUTHORIZED,
    NO_CERTIFICATE,
    NOT_REGISTERED,
    WRONG_CREDENTIALS,
    BsreSigner,
    SignedDocumentInvalidError,
    SigningOutcomeUnknownError,
    SigningRejectedError,
    SigningUnavailableError,
)
from silastri.domain.clock import format_date_id


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
OTHER_NIK = "1409010101800002"
UNKNOWN_NIK = "1409019999999999"
PASSPHRASE = "Rahasia#Kepala-7731"
CLIENT_USER = "silastri-esign"
CLIENT_PASSWORD = "client-secret-9f2c"
HEAD = SignerIdentity(
    name="Drs. H. Ahmad Yani, M.Si",
    title="Kepala Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
)
REASON = "Penetapan izin"
LOCATION = "Bagansiapiapi"
SIGN = fake_bsre.SIGN_PATH
TOTP_PATH = fake_bsre.TOTP_PATH
USER_STATUS = fake_bsre.USER_STATUS_PATH
VERIFY = fake_bsre.VERIFY_PATH
UNDOCUMENTED = fake_bsre.UNDOCUMENTED_STATUS_PREFIX


@pytest.fixture(scope="module")
def pki() -> Any:
    return fake_bsre.TestBsrePki()


PERMIT_ID = "0123456789abcdef0123456789abcdef"
VERIFY_URL = f"http://127.0.0.1:8000/verifikasi/{PERMIT_ID}"


def make_pdf(number: str, pages: int = 1) -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    for index in range(pages):
        page.drawString(
            72, 720, f"SURAT IZIN OPERASIONAL - 503/DPMPTSP-IOS/{number}/XI/2026 hal. {index + 1}"
        )
        # the QR code's verification link, as on a rendered decree (verify-permit finds the permit by its id)
        page.linkURL(VERIFY_URL, (72, 690, 400, 705))
        page.drawString(72, 694, VERIFY_URL)
        page.showPage()
    page.save()
    return buffer.getvalue()


def specimen_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 60), (20, 60, 160)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return make_pdf("0007")


@pytest.fixture
def fake(pki: Any) -> Iterator[Any]:
    users = {
        NIK: fake_bsre.User(identity=HEAD, passphrase=PASSPHRASE),
        OTHER_NIK: fake_bsre.User(identity=HEAD, passphrase=PASSPHRASE, status="EXPIRED"),
    }
    with fake_bsre.FakeBsre(pki, users, username=CLIENT_USER, password=CLIENT_PASSWORD) as server:
        yield server
        # the invented status endpoint of the old adapter is never called, whatever happened
        assert not any(path.startswith(UNDOCUMENTED) for path in server.path_counts())


def client(fake: Any, pki: Any, *, timeout: float = 5.0, trusted: bool = True) -> BsreSigner:
    roots = pki.trust_roots_pem() if trusted else ()
    return BsreSigner(fake.url, CLIENT_USER, CLIENT_PASSWORD, timeout=timeout, trust_roots_pem=roots)


def sign(service: BsreSigner, pdf: bytes, **kwargs: Any) -> bytes:
    kwargs.setdefault("nik", NIK)
    if "totp" not in kwargs:
        kwargs.setdefault("passphrase", PASSPHRASE)
    return service.sign_pdf(pdf, signer=HEAD, reason=REASON, location=LOCATION, **kwargs)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


# -- signing: PAdES-BASELINE-T with a three-level chain ------------------------------------------


def test_sign_returns_a_timestamped_three_level_signature(fake: Any, pki: Any, pdf: bytes) -> None:
    service = client(fake, pki)
    signed = sign(service, pdf)

    report = verify_signed_pdf(signed, pki.trust_roots_pem())
    assert report.valid, report.reasons
    assert report.signer_name == HEAD.name
    assert report.timestamp_valid is True
    assert report.timestamp_authority == "Fake BSSN Timestamp Authority (TEST)"
    assert report.timestamp_at is not None and abs(time.time() - report.timestamp_at.timestamp()) < 60
    assert signed.startswith(pdf)

    (embedded,) = PdfFileReader(io.BytesIO(signed), strict=False).embedded_signatures
    names = {c.chosen.subject.native["common_name"] for c in embedded.signed_data["certificates"]}
    assert names == {HEAD.name, "Fake BSrE Intermediate CA (TEST)", "Fake BSrE Root CA (TEST)"}
    assert embedded.signer_cert.issuer.native["common_name"] == "Fake BSrE Intermediate CA (TEST)"

    (request,) = fake.requests
    assert (request.method, request.path) == ("POST", SIGN)
    assert request.header("Content-Type") == "application/json"
    assert request.header("X-Request-ID") is None  # v2 has no request id
    body = request.json()
    assert body == {
        "nik": NIK,
        "passphrase": PASSPHRASE,
        "signatureProperties": [{"tampilan": "INVISIBLE", "reason": REASON, "location": LOCATION}],
        "file": [base64.b64encode(pdf).decode("ascii")],
    }
    assert bodies_with(fake, PASSPHRASE) == 1
    assert not reachable_secret(service, PASSPHRASE)
    assert CLIENT_PASSWORD not in repr(service)


def test_the_service_verifies_what_it_signed(fake: Any, pki: Any, pdf: bytes) -> None:
    service = client(fake, pki)
    verdict = service.verify_with_service(sign(service, pdf))
    assert (verdict.conclusion, verdict.signature_count, verdict.valid) == ("VALID", 1, True)
    unsigned = service.verify_with_service(pdf)
    assert (unsigned.conclusion, unsigned.valid) == ("NO_SIGNATURE", False)


def test_one_shot_signer_through_the_port(fake: Any, pki: Any, pdf: bytes) -> None:
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


def test_discarded_one_shot_holds_nothing(fake: Any, pki: Any, pdf: bytes) -> None:
    with client(fake, pki).with_credentials(NIK, totp="493817") as one_shot:
        assert reachable_secret(one_shot, "493817")  # the helper does find it while armed
    assert not reachable_secret(one_shot, "493817")
    with pytest.raises(SigningError, match="already used or discarded"):
        one_shot.sign_pdf(pdf, signer=HEAD, reason=REASON, location=LOCATION)
    assert fake.requests == []


# -- TOTP ------------------------------------------------------------------------------------------


def test_totp_is_requested_by_email_and_used_once(fake: Any, pki: Any, pdf: bytes) -> None:
    service = client(fake, pki)
    assert service.request_totp(NIK) is None
    (request,) = fake.requests_to(TOTP_PATH)
    assert request.json() == {"nik": NIK, "data": 1}
    code = fake.emailed_totp(NIK)  # what the head reads in the mailbox
    assert len(fake.outbox) == 1

    one_shot = service.with_credentials(NIK, totp=code)
    signed = one_shot.sign_pdf(pdf, signer=HEAD, reason=REASON, location=LOCATION)
    assert verify_signed_pdf(signed, pki.trust_roots_pem()).valid
    body = fake.requests_to(SIGN)[0].json()
    assert body["totp"] == code and "passphrase" not in body
    assert not reachable_secret(one_shot, code)

    with pytest.raises(SigningRejectedError) as reused:
        sign(service, pdf, totp=code)
    assert reused.value.wrong_credentials
    assert not secret_in_exception(reused.value, code)
    assert len(fake.signed) == 1


def test_totp_for_an_unregistered_nik_is_refused(fake: Any, pki: Any) -> None:
    with pytest.raises(SigningRejectedError) as caught:
        client(fake, pki).request_totp(UNKNOWN_NIK)
    assert (caught.value.reason, caught.value.http_status, caught.value.code) == (NOT_REGISTERED, 200, 2011)
    assert fake.outbox == []


# -- refusals ----------------------------------------------------------------------------------------


def test_wrong_passphrase_is_rejected_once_in_bahasa_and_not_leaked(fake: Any, pki: Any, pdf: bytes) -> None:
    wrong = "Salah#Ketik-0000"
    service = client(fake, pki)
    with pytest.raises(SigningRejectedError) as caught:
        sign(service, pdf, passphrase=wrong)
    error = caught.value
    assert error.reason == WRONG_CREDENTIALS and error.wrong_credentials
    assert (error.http_status, error.code) == (400, 2031)
    assert str(error).startswith("Passphrase atau kode TOTP salah")
    assert error.label == "Passphrase atau kode TOTP salah. Periksa lalu coba lagi."
    assert "Passphrase anda salah" in str(error)  # BSrE's own words kept as detail
    assert len(fake.requests) == 1  # never retried
    assert not secret_in_exception(error, wrong)
    assert not reachable_secret(service, wrong)

    one_shot = service.with_credentials(NIK, passphrase=wrong)
    with pytest.raises(SigningRejectedError) as caught_port:
        one_shot.sign_pdf(pdf, signer=HEAD, reason=REASON, location=LOCATION)
    assert not secret_in_exception(caught_port.value, wrong)
    assert not reachable_secret(one_shot, wrong)
    assert len(fake.requests) == 2


def test_refusal_in_a_200_body_is_a_rejection(fake: Any, pki: Any, pdf: bytes) -> None:
    fake.sign_failure = (200, {"error": "Passphrase anda salah", "status_code": 2031})
    with pytest.raises(SigningRejectedError) as caught:
        sign(client(fake, pki), pdf)
    assert caught.value.wrong_credentials and caught.value.http_status == 200


def test_unregistered_nik_and_expired_certificate_are_refused(fake: Any, pki: Any, pdf: bytes) -> None:
    service = client(fake, pki)
    with pytest.raises(SigningRejectedError) as unknown:
        sign(service, pdf, nik=UNKNOWN_NIK)
    assert (unknown.value.reason, unknown.value.code) == (NOT_REGISTERED, 2011)
    assert str(unknown.value).startswith("NIK belum terdaftar di BSrE.")
    with pytest.raises(SigningRejectedError) as expired:
        sign(service, pdf, nik=OTHER_NIK)
    assert (expired.value.reason, expired.value.code) == (NO_CERTIFICATE, 2021)
    assert not expired.value.wrong_credentials
    assert fake.signed == []


def test_wrong_client_credentials_are_401(fake: Any, pki: Any, pdf: bytes) -> None:
    intruder = BsreSigner(fake.url, CLIENT_USER, "wrong-client-password", timeout=5)
    with pytest.raises(SigningRejectedError) as unauthorised:
        sign(intruder, pdf)
    assert (unauthorised.value.reason, unauthorised.value.http_status) == (CLIENT_UNAUTHORIZED, 401)
    assert not secret_in_exception(unauthorised.value, PASSPHRASE)
    with pytest.raises(SigningRejectedError) as status_call:
        intruder.certificate_status(NIK)
    assert status_call.value.reason == CLIENT_UNAUTHORIZED
    assert fake.signed == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"nik": NIK}, "exactly one"),
        ({"nik": NIK, "passphrase": PASSPHRASE, "totp": "493817"}, "exactly one"),
        ({"nik": "14090101", "passphrase": PASSPHRASE}, "16 digits"),
        ({"nik": NIK, "passphrase": ""}, "empty"),
    ],
)
def test_bad_arguments_send_nothing(
    fake: Any, pki: Any, pdf: bytes, kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        client(fake, pki).sign_pdf(pdf, signer=HEAD, reason=REASON, location=LOCATION, **kwargs)
    assert not secret_in_exception(caught.value, PASSPHRASE)
    with pytest.raises(ValueError, match=message):
        client(fake, pki).with_credentials(**kwargs)
    assert fake.requests == []


# -- certificate status --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "label"),
    [
        ("ISSUE", "Sertifikat aktif — dapat menandatangani"),
        ("EXPIRED", "Sertifikat kedaluwarsa — perpanjang di BSrE"),
        ("RENEW", "Sertifikat sedang dalam proses pembaruan di BSrE"),
        ("WAITING_FOR_VERIFICATION", "Sertifikat sedang diverifikasi BSrE"),
        ("NEW", "Sertifikat belum diaktivasi — lakukan aktivasi di BSrE"),
        ("SUSPEND", "Sertifikat dibekukan — hubungi BSrE"),
        ("REVOKE", "Sertifikat dicabut — ajukan sertifikat baru di BSrE"),
        ("NO_CERTIFICATE", "Belum memiliki sertifikat elektronik — ajukan di BSrE"),
    ],
)
def test_each_certificate_status_has_its_label(fake: Any, pki: Any, status: str, label: str) -> None:
    fake.users[NIK].status = status
    answer = client(fake, pki).certificate_status(NIK)
    assert (answer.status, answer.label, answer.may_sign) == (status, label, status == "ISSUE")
    (request,) = fake.requests
    assert (request.path, request.json()) == (USER_STATUS, {"nik": NIK})


def test_unregistered_nik_status_comes_as_http_200_with_a_code(fake: Any, pki: Any) -> None:
    answer = client(fake, pki).certificate_status(UNKNOWN_NIK)
    assert (answer.status, answer.label, answer.may_sign, answer.code) == (
        "NOT_REGISTERED",
        "NIK belum terdaftar di BSrE",
        False,
        2011,
    )


def test_status_read_from_the_code_when_the_word_is_missing(fake: Any, pki: Any) -> None:
    def transport(method: str, url: str, **_: Any) -> signing_bsre.HttpResponse:
        return signing_bsre.HttpResponse(200, json.dumps({"status_code": 2021, "message": "x"}).encode())

    service = BsreSigner("http://esign.invalid", CLIENT_USER, CLIENT_PASSWORD, http=transport)
    assert service.certificate_status(NIK).status == "NO_CERTIFICATE"
    garbled = BsreSigner(
        "http://esign.invalid",
        CLIENT_USER,
        CLIENT_PASSWORD,
        http=lambda *a, **k: signing_bsre.HttpResponse(200, b"<html>"),
    )
    answer = garbled.certificate_status(NIK)
    assert (answer.status, answer.may_sign) == ("UNKNOWN", False)


# -- unknown outcomes: no reconcile, no undocumented endpoint ----------------------------------------


def test_timeout_is_unknown_and_never_retried(fake: Any, pki: Any, pdf: bytes) -> None:
    fake.sign_delay = 0.6
    service = client(fake, pki, timeout=0.25)
    started = time.monotonic()
    with pytest.raises(SigningOutcomeUnknownError) as caught:
        sign(service, pdf)
    assert time.monotonic() - started < 0.55  # gave up at the timeout, did not wait nor retry
    assert not secret_in_exception(caught.value, PASSPHRASE)
    assert not reachable_secret(service, PASSPHRASE)
    assert fake.wait_signed(1)  # ... and BSrE did sign: exactly why the outcome is "unknown"
    time.sleep(0.5)
    assert list(fake.path_counts().items()) == [(SIGN, 1)]


def test_connection_drop_after_sending_is_unknown(fake: Any, pki: Any, pdf: bytes) -> None:
    fake.drop_connection = True
    with pytest.raises(SigningOutcomeUnknownError):
        sign(client(fake, pki), pdf)
    assert list(fake.path_counts().items()) == [(SIGN, 1)]
    assert len(fake.signed) == 1


def test_bad_pdf_gets_500_which_is_unknown(fake: Any, pki: Any) -> None:
    """BSrE answers a PDF it cannot read with HTTP 500, like a failure after signing: the adapter
    cannot tell them apart, so it reports an unknown outcome (documented caveat)."""
    with pytest.raises(SigningOutcomeUnknownError, match="HTTP 500"):
        sign(client(fake, pki), b"%PDF-1.7 this is not a pdf")
    assert fake.signed == []
    assert list(fake.path_counts().items()) == [(SIGN, 1)]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_unknown(fake: Any, pki: Any, pdf: bytes, status: int) -> None:
    fake.sign_failure = (status, {"status": status, "error": "upstream"})
    with pytest.raises(SigningOutcomeUnknownError):
        sign(client(fake, pki), pdf)
    assert len(fake.requests_to(SIGN)) == 1


def test_connection_refused_means_unavailable(pki: Any, pdf: bytes) -> None:
    service = BsreSigner(f"http://127.0.0.1:{closed_port()}", CLIENT_USER, CLIENT_PASSWORD, timeout=1)
    with pytest.raises(SigningUnavailableError) as caught:
        sign(service, pdf)
    assert not secret_in_exception(caught.value, PASSPHRASE)
    with pytest.raises(SigningUnavailableError):
        service.certificate_status(NIK)
    with pytest.raises(SigningUnavailableError):
        service.request_totp(NIK)


def test_the_fake_has_no_status_endpoint(fake: Any) -> None:
    token = base64.b64encode(f"{CLIENT_USER}:{CLIENT_PASSWORD}".encode()).decode()
    request = urllib.request.Request(
        fake.url + UNDOCUMENTED + "/1", headers={"Authorization": f"Basic {token}"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310 - loopback test server
    assert caught.value.code == 404
    fake.requests.clear()  # the fixture's own check is about the adapter


def test_adapter_has_no_reconcile_nor_request_id() -> None:
    assert not hasattr(BsreSigner, "reconcile")
    assert "request_id" not in SigningOutcomeUnknownError("x").__dict__
    source = Path(signing_bsre.__file__).read_text()
    assert "X-Request-ID" not in source and "/sign/status" not in source


# -- returned files that must not be accepted ---------------------------------------------------------


def test_a_response_that_is_not_the_signed_original_is_refused(fake: Any, pki: Any, pdf: bytes) -> None:
    other = sign(client(fake, pki), make_pdf("0666"))
    fake.sign_failure = (200, {"time": 5, "file": [base64.b64encode(other).decode()]})
    with pytest.raises(SignedDocumentInvalidError, match="not a signed version"):
        sign(client(fake, pki), pdf)


def test_a_tampered_response_fails_local_verification(fake: Any, pki: Any, pdf: bytes) -> None:
    signed = sign(client(fake, pki), pdf)
    tampered = signed.replace(f"({REASON})".encode(), f"({REASON[:-1]}X)".encode())
    assert tampered != signed and len(tampered) == len(signed)
    fake.sign_failure = (200, {"time": 5, "file": [base64.b64encode(tampered).decode()]})
    with pytest.raises(SignedDocumentInvalidError, match="does not verify locally"):
        sign(client(fake, pki), pdf)


# -- visible signature ---------------------------------------------------------------------------------


def _signature_widgets(pdf: bytes) -> list[tuple[int, list[float]]]:
    """(1-based page, /Rect) of every signature widget."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    found = []
    for number in range(int(reader.root["/Pages"]["/Count"])):
        page = reader.root["/Pages"]["/Kids"][number]
        for annot in page.get("/Annots", []):
            annot = annot.get_object()
            if annot.get("/FT") == "/Sig":
                found.append((number + 1, [float(v) for v in annot["/Rect"]]))
    return found


def test_visible_signature_lands_on_the_requested_page(fake: Any, pki: Any) -> None:
    document = make_pdf("0008", pages=3)
    image = specimen_png()
    appearance = SignatureAppearance(visible=True, image_png=image, page=2, x=350, y=80, width=180, height=90)
    one_shot = client(fake, pki).with_credentials(NIK, passphrase=PASSPHRASE)
    signed = one_shot.sign_pdf(document, signer=HEAD, reason=REASON, location=LOCATION, appearance=appearance)

    (properties,) = fake.requests_to(SIGN)[0].json()["signatureProperties"]
    assert properties == {
        "tampilan": "VISIBLE",
        "imageBase64": base64.b64encode(image).decode("ascii"),
        "page": 2,
        "originX": 350.0,
        "originY": 80.0,
        "width": 180.0,
        "height": 90.0,
        "reason": REASON,
        "location": LOCATION,
    }
    assert _signature_widgets(signed) == [(2, [350.0, 80.0, 530.0, 170.0])]
    assert verify_signed_pdf(signed, pki.trust_roots_pem()).valid


def test_last_page_is_sent_as_its_number_and_an_image_is_required(fake: Any, pki: Any) -> None:
    document = make_pdf("0009", pages=2)
    appearance = SignatureAppearance(visible=True, image_png=specimen_png(), x=72, y=72, width=100, height=50)
    signed = sign(client(fake, pki), document, appearance=appearance)
    assert fake.requests_to(SIGN)[0].json()["signatureProperties"][0]["page"] == 2
    assert [page for page, _ in _signature_widgets(signed)] == [2]

    with pytest.raises(ValueError, match="specimen image"):
        sign(client(fake, pki), document, appearance=SignatureAppearance(visible=True, width=10, height=10))
    assert len(fake.requests_to(SIGN)) == 1


# -- logs ------------------------------------------------------------------------------------------------


def test_secrets_and_nik_never_reach_the_logs(
    fake: Any, pki: Any, pdf: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    service = client(fake, pki)
    service.certificate_status(NIK)
    service.request_totp(NIK)
    code = fake.emailed_totp(NIK)
    sign(service, pdf, totp=code)
    with pytest.raises(SigningRejectedError):
        sign(service, pdf, totp=code)
    with pytest.raises(SigningRejectedError):
        sign(service, pdf, passphrase="Salah#Ketik-0000")
    fake.drop_connection = True
    with pytest.raises(SigningOutcomeUnknownError):
        sign(service, pdf)
    assert caplog.records  # the adapter does log its steps
    text = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for secret in (PASSPHRASE, code, "Salah#Ketik-0000", CLIENT_PASSWORD, NIK):
        assert secret not in text


# -- what verify-permit and the public verification page show for a BSrE-shaped file ---------------


class _Registry:
    """Stands in for the API client of `silastri verify-permit` (only the registry call)."""

    def __init__(self, pdf: bytes) -> None:
        self.entry = {"sha256": hashlib.sha256(pdf).hexdigest(), "revoked": False,
                      "permit_number": "503/DPMPTSP-IOS/0007/XI/2026", "office_name": "DPMPTSP Kabupaten Rokan Hilir"}

    def get(self, path: str) -> dict[str, Any]:
        assert path == f"/api/registry?permit_id={PERMIT_ID}", path  # found by the QR code's id
        return self.entry


def _run_verify_permit(tmp_path: Path, signed: bytes, roots: list[bytes]) -> tuple[int, list[str]]:
    from silastri_local.cmd_verify_permit import run

    path = tmp_path / "izin.pdf"
    path.write_bytes(signed)
    out = io.StringIO()
    code = run(str(path), roots, _Registry(signed), out=out)  # type: ignore[arg-type]
    return code, out.getvalue().splitlines()


def test_verify_permit_prints_the_timestamp_in_wib(fake: Any, pki: Any, pdf: bytes, tmp_path: Path) -> None:
    signed = sign(client(fake, pki), pdf)
    code, lines = _run_verify_permit(tmp_path, signed, pki.trust_roots_pem())
    assert code == 0 and lines[0] == "VALID", lines
    at = verify_signed_pdf(signed, pki.trust_roots_pem()).timestamp_at
    assert at is not None
    wib = at.astimezone(ZoneInfo("Asia/Jakarta"))
    assert (
        lines[1]
        == f"Stempel waktu: {format_date_id(wib.date())} {wib:%H:%M:%S} WIB — Fake BSSN Timestamp Authority (TEST) — sah"
    )


def test_verify_permit_fails_on_a_timestamp_that_does_not_validate(
    pki: Any, pdf: bytes, tmp_path: Path
) -> None:
    foreign_tsa = fake_bsre.TestBsrePki().timestamper()
    signed = pades_sign(
        pdf, pki.pades_signer(HEAD), name=HEAD.name, reason=REASON, location=LOCATION, timestamper=foreign_tsa
    )
    code, lines = _run_verify_permit(tmp_path, signed, pki.trust_roots_pem())
    assert code == 1 and lines[0] == "INVALID signature:timestamp-invalid", lines
    assert lines[1].endswith("— TIDAK SAH")


def test_public_verification_returns_the_timestamp_facts(
    fake: Any, pki: Any, pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from silastri.services import permits

    signed = sign(client(fake, pki), pdf)
    record = SimpleNamespace(
        document_key="permits/p-1.pdf",
        sha256=hashlib.sha256(signed).hexdigest(),
        revoked=False,
        permit_number="503/DPMPTSP-IOS/0007/XI/2026",
        holder_name="Yayasan Peduli",
        office_id="rokan-hilir",
        permit_type="ios",
        issued_at=date(2026, 11, 28),
        valid_until=None,
        signer_name=HEAD.name,
        signer_title=HEAD.title,
    )
    monkeypatch.setattr(permits.dynamo, "get_permit", lambda _id: record)
    monkeypatch.setattr(permits.storage, "get_document", lambda _key: signed)
    monkeypatch.setattr(permits, "signer_trust_roots", pki.trust_roots_pem)
    monkeypatch.setattr(
        permits,
        "default_catalog",
        lambda: SimpleNamespace(permit_type_name=lambda office_id, permit_type: "Izin Operasional"),
    )
    result = permits.verify("p-1")
    assert result["valid"] and result["signature_valid"]
    assert result["timestamp_valid"] is True
    assert result["timestamp_authority"] == "Fake BSSN Timestamp Authority (TEST)"
    assert datetime.fromisoformat(result["timestamp_at"]).tzinfo is not None
