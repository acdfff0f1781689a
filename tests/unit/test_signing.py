"""Development PKI signer and PAdES verification (adapters/signing.py)."""

from __future__ import annotations

import importlib.util
import io
import multiprocessing
import stat
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pypdf
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import PdfTimeStamper
from pypdf.annotations import FreeText
from silastri.adapters.documents import Letterhead, SignatureBlock, render_permit
from silastri.adapters.signing import (
    DIGEST_MISMATCH,
    MALFORMED,
    NO_SIGNATURE,
    NOT_WHOLE_FILE,
    TIMESTAMP_INVALID,
    UNTRUSTED_SIGNER,
    DevPkiSigner,
    SignatureAppearance,
    Signer,
    SignerIdentity,
    SigningError,
    pades_sign,
    verify_signed_pdf,
)


def _load_fake_bsre() -> ModuleType:
    """tests/fixtures/fake_bsre.py (a test fixture): its three-level test PKI and local TSA."""
    path = Path(__file__).resolve().parents[1] / "fixtures" / "fake_bsre.py"
    spec = importlib.util.spec_from_file_location("silastri_tests_fake_bsre", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fake_bsre = _load_fake_bsre()

HEAD = SignerIdentity(
    name="Drs. H. Ahmad Yani, M.Si",
    title="Kepala Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
    acting=True,
)
VERIFIER = SignerIdentity(name="Siti Rahmah, S.H.", title="Penata Perizinan Ahli Madya")


@pytest.fixture(scope="module")
def permit_pdf() -> bytes:
    """A real two-page permit, so that a page can be removed."""
    letterhead = Letterhead(
        government="Pemerintah Kabupaten Rokan Hilir",
        office_name="Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
        address="Jl. Merdeka No. 1, Bagansiapiapi, Kabupaten Rokan Hilir, Riau",
        city="Bagansiapiapi",
    )
    pdf = render_permit(
        letterhead,
        permit_number="503/DPMPTSP-IOS/0007/XI/2026",
        title="IZIN OPERASIONAL ORGANISASI SOSIAL",
        holder_name="Yayasan Peduli Sejahtera",
        holder_details=[("Ketua", "Budi Santoso")],
        considerations=[f"Peraturan Daerah Nomor {n} Tahun 2020 tentang Perizinan;" for n in range(1, 30)],
        decision_text=["Memberikan Izin Operasional kepada organisasi sosial tersebut di atas."],
        issued_at=date(2026, 11, 28),
        valid_until=date(2031, 11, 28),
        signature=SignatureBlock(signer_name=HEAD.name, signer_title=HEAD.title, acting=True),
        verify_url="https://silastri.example.go.id/verifikasi/abc",
    )
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) >= 2
    return pdf


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPkiSigner:
    return DevPkiSigner(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def signed_pdf(pki: DevPkiSigner, permit_pdf: bytes) -> bytes:
    return pki.sign_pdf(permit_pdf, signer=HEAD, reason="Penetapan izin", location="Bagansiapiapi")


def files_in(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def signer_certificate(directory: Path) -> x509.Certificate:
    (bundle,) = (directory / "signers").glob("*.pem")
    return x509.load_pem_x509_certificate(bundle.read_bytes())


class TestDevPki:
    def test_is_a_signer(self, tmp_path: Path) -> None:
        assert isinstance(DevPkiSigner(tmp_path), Signer)

    def test_creates_files_once_with_private_keys_0600(self, tmp_path: Path, permit_pdf: bytes) -> None:
        directory = tmp_path / "pki"
        signer = DevPkiSigner(directory)
        roots = signer.trust_roots_pem()
        signer.sign_pdf(permit_pdf, signer=HEAD, reason="r", location="l")
        created = files_in(directory)
        key_files = ["root-ca.pem", *(name for name in created if name.startswith("signers/"))]
        assert sorted(created) == sorted(["root-ca.crt", *key_files])
        assert len(key_files) == 2
        for name in key_files:
            assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name
            assert b"PRIVATE KEY" in created[name]
        assert b"PRIVATE KEY" not in created["root-ca.crt"]
        assert roots == [created["root-ca.crt"]]

        again = DevPkiSigner(directory)
        assert again.trust_roots_pem() == roots
        again.sign_pdf(permit_pdf, signer=HEAD, reason="r", location="l")
        assert files_in(directory) == created

    def test_root_says_development(self, pki: DevPkiSigner) -> None:
        root = x509.load_pem_x509_certificate(pki.trust_roots_pem()[0])
        common_name = root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        organisation = root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
        assert "Development" in str(common_name) and "NOT FOR PRODUCTION" in str(common_name)
        assert organisation == "SILASTRI (DEVELOPMENT)"
        assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    def test_signer_certificate_names_the_acting_head(self, tmp_path: Path, permit_pdf: bytes) -> None:
        DevPkiSigner(tmp_path).sign_pdf(permit_pdf, signer=HEAD, reason="r", location="l")
        cert = signer_certificate(tmp_path)
        subject = cert.subject
        assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == HEAD.name
        assert subject.get_attributes_for_oid(NameOID.TITLE)[0].value == f"Plt. {HEAD.title}"
        assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "SILASTRI (DEVELOPMENT)"
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
        extended = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36") in extended  # documentSigning
        assert ExtendedKeyUsageOID.EMAIL_PROTECTION in extended

    def test_same_name_with_another_title_gets_another_certificate(
        self, tmp_path: Path, permit_pdf: bytes
    ) -> None:
        signer = DevPkiSigner(tmp_path)
        signer.sign_pdf(permit_pdf, signer=HEAD, reason="r", location="l")
        signer.sign_pdf(
            permit_pdf, signer=HEAD.model_copy(update={"acting": False}), reason="r", location="l"
        )
        assert len(list((tmp_path / "signers").glob("*.pem"))) == 2

    def test_concurrent_threads_agree_on_one_root(self, tmp_path: Path, permit_pdf: bytes) -> None:
        results: list[bytes] = []
        barrier = threading.Barrier(8)

        def work() -> None:
            signer = DevPkiSigner(tmp_path)
            barrier.wait()
            signed = signer.sign_pdf(permit_pdf, signer=HEAD, reason="r", location="l")
            results.append(signed)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        roots = DevPkiSigner(tmp_path).trust_roots_pem()
        assert len(results) == 8
        assert all(verify_signed_pdf(pdf, roots).valid for pdf in results)
        assert len(list((tmp_path / "signers").glob("*.pem"))) == 1
        assert not list(tmp_path.rglob("*.tmp"))

    def test_concurrent_processes_agree_on_one_root(self, tmp_path: Path) -> None:
        context = multiprocessing.get_context("spawn")
        with context.Pool(4) as pool:
            roots = pool.map(_root_of, [str(tmp_path)] * 4)
        assert len(set(roots)) == 1
        assert roots[0] == (tmp_path / "root-ca.crt").read_bytes()

    def test_unparseable_input_raises_signing_error(self, pki: DevPkiSigner) -> None:
        with pytest.raises(SigningError, match="cannot sign PDF"):
            pki.sign_pdf(b"not a pdf", signer=HEAD, reason="r", location="l")


def _root_of(directory: str) -> bytes:
    return DevPkiSigner(Path(directory)).trust_roots_pem()[0]


class TestVerify:
    def test_signed_pdf_is_valid(self, pki: DevPkiSigner, signed_pdf: bytes) -> None:
        report = verify_signed_pdf(signed_pdf, pki.trust_roots_pem())
        assert report.valid, report.reasons
        assert report.reasons == []
        assert report.signer_name == HEAD.name
        assert report.signer_title == f"Plt. {HEAD.title}"
        assert report.signed_at is not None
        assert abs(report.signed_at - datetime.now(UTC)) < timedelta(minutes=10)

    def test_signature_is_pades(self, signed_pdf: bytes) -> None:
        reader = pypdf.PdfReader(io.BytesIO(signed_pdf))
        fields = reader.get_fields() or {}
        (value,) = [f["/V"] for f in fields.values() if f.get("/FT") == "/Sig"]
        assert value["/SubFilter"] == "/ETSI.CAdES.detached"
        assert value["/Reason"] == "Penetapan izin"
        assert value["/Location"] == "Bagansiapiapi"

    def test_signature_keeps_the_original_bytes(self, permit_pdf: bytes, signed_pdf: bytes) -> None:
        assert signed_pdf.startswith(permit_pdf)

    def test_flipped_byte_in_signed_range_is_a_digest_mismatch(
        self, pki: DevPkiSigner, signed_pdf: bytes
    ) -> None:
        position = signed_pdf.index(b"stream", signed_pdf.index(b"/Contents")) + 40
        tampered = bytearray(signed_pdf)
        tampered[position] ^= 0x01
        report = verify_signed_pdf(bytes(tampered), pki.trust_roots_pem())
        assert not report.valid
        assert DIGEST_MISMATCH in report.reasons
        assert UNTRUSTED_SIGNER not in report.reasons

    def test_tampered_text_is_a_digest_mismatch(self, pki: DevPkiSigner, signed_pdf: bytes) -> None:
        tampered = signed_pdf.replace(b"/Title (Izin", b"/Title (Izun", 1)
        assert tampered != signed_pdf
        report = verify_signed_pdf(tampered, pki.trust_roots_pem())
        assert not report.valid
        assert DIGEST_MISMATCH in report.reasons

    def test_incremental_update_by_pyhanko_is_not_whole_file(
        self, pki: DevPkiSigner, signed_pdf: bytes
    ) -> None:
        writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
        info = writer.trailer["/Info"].get_object()
        info[generic.NameObject("/Title")] = generic.TextStringObject("Izin palsu")
        writer.update_container(info)
        out = io.BytesIO()
        writer.write(out)
        report = verify_signed_pdf(out.getvalue(), pki.trust_roots_pem())
        assert not report.valid
        assert NOT_WHOLE_FILE in report.reasons
        assert report.signer_name == HEAD.name

    def test_incremental_annotation_by_pypdf_is_not_whole_file(
        self, pki: DevPkiSigner, signed_pdf: bytes
    ) -> None:
        writer = pypdf.PdfWriter(io.BytesIO(signed_pdf), incremental=True)
        writer.add_annotation(0, FreeText(text="BATAL", rect=(100, 100, 300, 150)))
        out = io.BytesIO()
        writer.write(out)
        amended = out.getvalue()
        assert amended.startswith(signed_pdf) and len(amended) > len(signed_pdf)
        report = verify_signed_pdf(amended, pki.trust_roots_pem())
        assert not report.valid
        assert NOT_WHOLE_FILE in report.reasons

    def test_appended_bytes_are_not_whole_file(self, pki: DevPkiSigner, signed_pdf: bytes) -> None:
        report = verify_signed_pdf(signed_pdf + b"\n% appended\n", pki.trust_roots_pem())
        assert not report.valid
        assert NOT_WHOLE_FILE in report.reasons

    def test_removed_page_is_invalid(self, pki: DevPkiSigner, signed_pdf: bytes) -> None:
        writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(signed_pdf)))
        writer.remove_page(len(writer.pages) - 1)
        out = io.BytesIO()
        writer.write(out)
        assert (
            len(pypdf.PdfReader(io.BytesIO(out.getvalue())).pages)
            == len(pypdf.PdfReader(io.BytesIO(signed_pdf)).pages) - 1
        )
        report = verify_signed_pdf(out.getvalue(), pki.trust_roots_pem())
        assert not report.valid
        assert DIGEST_MISMATCH in report.reasons  # the rewrite moved every byte

    def test_other_root_is_untrusted(self, tmp_path: Path, signed_pdf: bytes) -> None:
        other_roots = DevPkiSigner(tmp_path).trust_roots_pem()
        report = verify_signed_pdf(signed_pdf, other_roots)
        assert not report.valid
        assert report.reasons == [UNTRUSTED_SIGNER]
        assert report.signer_name == HEAD.name

    @pytest.mark.parametrize(
        "roots", [[], [b"-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n"]]
    )
    def test_missing_or_broken_roots_are_untrusted(self, signed_pdf: bytes, roots: list[bytes]) -> None:
        report = verify_signed_pdf(signed_pdf, roots)
        assert not report.valid
        assert UNTRUSTED_SIGNER in report.reasons

    def test_unsigned_pdf_has_no_signature(self, pki: DevPkiSigner, permit_pdf: bytes) -> None:
        report = verify_signed_pdf(permit_pdf, pki.trust_roots_pem())
        assert not report.valid
        assert report.reasons == [NO_SIGNATURE]

    @pytest.mark.parametrize("data", [b"", b"garbage", b"%PDF-1.7\n%%EOF\n"])
    def test_garbage_is_malformed(self, pki: DevPkiSigner, data: bytes) -> None:
        report = verify_signed_pdf(data, pki.trust_roots_pem())
        assert not report.valid
        assert report.reasons == [MALFORMED]

    def test_truncated_signed_pdf_never_raises(self, pki: DevPkiSigner, signed_pdf: bytes) -> None:
        report = verify_signed_pdf(signed_pdf[: len(signed_pdf) // 2], pki.trust_roots_pem())
        assert not report.valid
        assert report.reasons

    def test_second_signature_after_first_is_valid(self, pki: DevPkiSigner, signed_pdf: bytes) -> None:
        countersigned = pki.sign_pdf(signed_pdf, signer=VERIFIER, reason="Paraf", location="Bagansiapiapi")
        report = verify_signed_pdf(countersigned, pki.trust_roots_pem())
        assert report.valid, report.reasons
        assert report.signer_name == VERIFIER.name
        assert report.signer_title == VERIFIER.title


def specimen_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (90, 45), (10, 90, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def signature_widgets(pdf: bytes) -> list[tuple[int, list[float], bool]]:
    """(1-based page, /Rect, has an image in its appearance) of every signature widget."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    found = []
    for number in range(int(reader.root["/Pages"]["/Count"])):
        for annot in reader.root["/Pages"]["/Kids"][number].get("/Annots", []):
            annot = annot.get_object()
            if annot.get("/FT") != "/Sig":
                continue
            stream = annot["/AP"]["/N"] if "/AP" in annot else None
            data = stream.data if stream is not None else b""
            found.append((number + 1, [float(v) for v in annot["/Rect"]], b" Do" in data))
    return found


class TestVisibleAppearance:
    def test_specimen_image_on_the_given_page_and_rect(self, pki: DevPkiSigner, permit_pdf: bytes) -> None:
        appearance = SignatureAppearance(
            visible=True, image_png=specimen_png(), page=1, x=60, y=50, width=150, height=75
        )
        signed = pki.sign_pdf(permit_pdf, signer=HEAD, reason="r", location="l", appearance=appearance)
        assert signature_widgets(signed) == [(1, [60.0, 50.0, 210.0, 125.0], True)]
        assert verify_signed_pdf(signed, pki.trust_roots_pem()).valid

    def test_last_page_by_default_and_invisible_without_appearance(
        self, pki: DevPkiSigner, permit_pdf: bytes, signed_pdf: bytes
    ) -> None:
        pages = len(pypdf.PdfReader(io.BytesIO(permit_pdf)).pages)
        appearance = SignatureAppearance(
            visible=True, image_png=specimen_png(), x=300, y=60, width=120, height=60
        )
        signed = pki.sign_pdf(permit_pdf, signer=HEAD, reason="r", location="l", appearance=appearance)
        assert [page for page, _, _ in signature_widgets(signed)] == [pages]
        # the invisible default: a widget without area
        ((_, rect, _),) = signature_widgets(signed_pdf)
        assert rect[0] == rect[2] and rect[1] == rect[3]

    @pytest.mark.parametrize(
        "appearance",
        [
            SignatureAppearance(visible=True, image_png=b"png", page=99, width=10, height=10),
            SignatureAppearance(visible=True, page=1, width=0, height=10),
            SignatureAppearance(visible=True, image_png=b"not an image", page=1, width=10, height=10),
        ],
    )
    def test_an_appearance_that_does_not_fit_is_a_signing_error(
        self, pki: DevPkiSigner, permit_pdf: bytes, appearance: SignatureAppearance
    ) -> None:
        with pytest.raises(SigningError):
            pki.sign_pdf(permit_pdf, signer=HEAD, reason="r", location="l", appearance=appearance)


@pytest.fixture(scope="module")
def bsre_pki() -> Any:
    return fake_bsre.TestBsrePki()


class TestTimestampedThreeLevelSignatures:
    """PAdES-BASELINE-T files shaped like BSrE's: root → intermediate → signer, signature timestamp
    from a TSA under the same root (made with the fake BSrE's test PKI)."""

    def test_valid_with_timestamp_facts(self, bsre_pki: Any, permit_pdf: bytes) -> None:
        signed = pades_sign(
            permit_pdf,
            bsre_pki.pades_signer(HEAD),
            name=HEAD.name,
            reason="r",
            location="l",
            timestamper=bsre_pki.timestamper(),
        )
        report = verify_signed_pdf(signed, bsre_pki.trust_roots_pem())
        assert report.valid, report.reasons
        assert report.timestamp_valid is True
        assert report.timestamp_authority == "Fake BSSN Timestamp Authority (TEST)"
        assert report.timestamp_at is not None and report.signed_at is not None
        assert abs(report.timestamp_at - report.signed_at) < timedelta(minutes=1)
        assert report.signer_title == HEAD.display_title

    def test_tsa_outside_the_trust_roots_is_a_timestamp_failure(
        self, bsre_pki: Any, permit_pdf: bytes
    ) -> None:
        foreign_tsa = fake_bsre.TestBsrePki().timestamper()
        signed = pades_sign(
            permit_pdf,
            bsre_pki.pades_signer(HEAD),
            name=HEAD.name,
            reason="r",
            location="l",
            timestamper=foreign_tsa,
        )
        report = verify_signed_pdf(signed, bsre_pki.trust_roots_pem())
        assert report.reasons == [TIMESTAMP_INVALID]
        assert not report.valid and report.timestamp_valid is False

    def test_untrusted_chain_is_reported(self, bsre_pki: Any, permit_pdf: bytes, pki: DevPkiSigner) -> None:
        signed = pades_sign(
            permit_pdf,
            bsre_pki.pades_signer(HEAD),
            name=HEAD.name,
            reason="r",
            location="l",
            timestamper=bsre_pki.timestamper(),
        )
        report = verify_signed_pdf(signed, pki.trust_roots_pem())
        assert UNTRUSTED_SIGNER in report.reasons and TIMESTAMP_INVALID in report.reasons

    def test_document_timestamp_is_validated(
        self, bsre_pki: Any, permit_pdf: bytes, pki: DevPkiSigner
    ) -> None:
        signed = pades_sign(permit_pdf, bsre_pki.pades_signer(HEAD), name=HEAD.name, reason="r", location="l")
        assert verify_signed_pdf(signed, bsre_pki.trust_roots_pem()).timestamp_valid is None
        out = PdfTimeStamper(bsre_pki.timestamper()).timestamp_pdf(
            IncrementalPdfFileWriter(io.BytesIO(signed)), "sha256"
        )
        stamped = out.getvalue()
        report = verify_signed_pdf(stamped, bsre_pki.trust_roots_pem())
        assert report.valid, report.reasons
        assert report.timestamp_valid is True and report.timestamp_at is not None
        assert report.signer_name == HEAD.name  # signer fields still describe the signature
        assert verify_signed_pdf(stamped, bsre_pki.trust_roots_pem() + pki.trust_roots_pem()).valid
        foreign = fake_bsre.TestBsrePki()
        restamped = (
            PdfTimeStamper(foreign.timestamper())
            .timestamp_pdf(IncrementalPdfFileWriter(io.BytesIO(signed)), "sha256")
            .getvalue()
        )
        assert verify_signed_pdf(restamped, bsre_pki.trust_roots_pem()).reasons == [TIMESTAMP_INVALID]

    def test_development_signatures_have_no_timestamp(self, pki: DevPkiSigner, signed_pdf: bytes) -> None:
        report = verify_signed_pdf(signed_pdf, pki.trust_roots_pem())
        assert report.valid
        assert (report.timestamp_at, report.timestamp_valid, report.timestamp_authority) == (None, None, None)
