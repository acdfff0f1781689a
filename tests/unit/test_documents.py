"""PDF rendering: every document parses and carries its key data (adapters/documents.py)."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta, timezone

import pypdf
import pytest
import qrcode
from qrcode.constants import ERROR_CORRECT_M
from silastri.adapters.documents import (
    Letterhead,
    SignatureBlock,
    format_date_id,
    format_datetime_id,
    render_permit,
    render_receipt,
    render_rejection_letter,
    render_technical_recommendation,
)

VERIFY_URL = "https://silastri.example.go.id/verifikasi/503-DPMPTSP-IOS-0007-XI-2026?k=Zx81"
PICKUP_URL = "https://silastri.example.go.id/lacak/REG-2026-000123"
A4 = (595.27, 841.89)


@pytest.fixture
def letterhead() -> Letterhead:
    return Letterhead(
        government="Pemerintah Kabupaten Rokan Hilir",
        office_name="Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
        address="Jl. Merdeka No. 1, Bagansiapiapi, Kabupaten Rokan Hilir, Riau",
        city="Bagansiapiapi",
    )


@pytest.fixture
def acting_head() -> SignatureBlock:
    return SignatureBlock(
        signer_name="Drs. H. Ahmad Yani, M.Si",
        signer_title="Kepala Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
        acting=True,
        employee_id="197001011990031001",
    )


def permit_kwargs(signature: SignatureBlock, **overrides: object) -> dict[str, object]:
    kwargs: dict[str, object] = {
        "permit_number": "503/DPMPTSP-IOS/0007/XI/2026",
        "title": "IZIN OPERASIONAL ORGANISASI SOSIAL",
        "holder_name": "Yayasan Peduli Sejahtera",
        "holder_details": [
            ("Alamat Sekretariat", "Jl. Pahlawan No. 5, Bagansiapiapi"),
            ("Ketua", "Budi Santoso"),
            ("Nomor SK Badan Hukum", "AHU-0012345.AH.01.04.Tahun 2025"),
        ],
        "considerations": [
            "Undang-Undang Nomor 11 Tahun 2009 tentang Kesejahteraan Sosial;",
            "Rekomendasi Teknis Dinas Sosial Kabupaten Rokan Hilir.",
        ],
        "decision_text": [
            "Memberikan Izin Operasional kepada organisasi sosial tersebut di atas.",
            "Pemegang izin wajib melaporkan kegiatannya secara berkala.",
        ],
        "issued_at": date(2026, 11, 28),
        "valid_until": date(2031, 11, 28),
        "signature": signature,
        "verify_url": VERIFY_URL,
    }
    kwargs.update(overrides)
    return kwargs


def read(pdf: bytes) -> pypdf.PdfReader:
    assert pdf.startswith(b"%PDF-")
    return pypdf.PdfReader(io.BytesIO(pdf), strict=True)


def text_of(pdf: bytes) -> str:
    """All page text with runs of whitespace collapsed to one space."""
    raw = " ".join(page.extract_text() or "" for page in read(pdf).pages)
    return re.sub(r"\s+", " ", raw)


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def qr_pixels(payload: str) -> bytes:
    """The QR image the renderer is expected to embed, as 8-bit greyscale pixels."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=2)
    code.add_data(payload)
    code.make(fit=True)
    return code.make_image().get_image().convert("L").tobytes()


def embedded_images(pdf: bytes) -> list[bytes]:
    images = [image.image for page in read(pdf).pages for image in page.images]
    return [image.convert("L").tobytes() for image in images if image is not None]


def assert_a4_with_letterhead(pdf: bytes) -> None:
    reader = read(pdf)
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4, abs=0.5)
    first = re.sub(r"\s+", " ", reader.pages[0].extract_text())
    assert "PEMERINTAH KABUPATEN ROKAN HILIR" in first
    assert "DINAS PENANAMAN MODAL DAN PELAYANAN TERPADU SATU PINTU" in first
    assert "Jl. Merdeka No. 1, Bagansiapiapi" in first


class TestFormatting:
    def test_dates_use_indonesian_month_names(self) -> None:
        assert format_date_id(date(2026, 11, 28)) == "28 November 2026"
        assert format_date_id(date(2026, 1, 2)) == "2 Januari 2026"
        assert format_date_id(date(2026, 8, 17)) == "17 Agustus 2026"

    def test_times_are_shown_in_wib(self) -> None:
        moment = datetime(2026, 11, 28, 7, 5, tzinfo=UTC)
        assert format_datetime_id(moment) == "28 November 2026 pukul 14.05 WIB"

    def test_conversion_to_wib_can_move_the_date(self) -> None:
        moment = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
        assert format_datetime_id(moment) == "1 Desember 2026 pukul 03.00 WIB"
        assert format_date_id(moment) == "1 Desember 2026"

    def test_naive_datetimes_are_taken_as_utc(self) -> None:
        assert format_datetime_id(datetime(2026, 11, 28, 7, 5)) == "28 November 2026 pukul 14.05 WIB"

    def test_other_offsets_are_converted(self) -> None:
        wita = timezone(timedelta(hours=8))
        assert format_datetime_id(datetime(2026, 11, 28, 15, 5, tzinfo=wita)) == (
            "28 November 2026 pukul 14.05 WIB"
        )


class TestSignatureBlock:
    def test_acting_prefixes_plt_once(self) -> None:
        block = SignatureBlock(signer_name="A", signer_title="Kepala Dinas", acting=True)
        assert block.display_title == "Plt. Kepala Dinas"
        already = SignatureBlock(signer_name="A", signer_title="Plt. Kepala Dinas", acting=True)
        assert already.display_title == "Plt. Kepala Dinas"

    def test_not_acting_keeps_title(self) -> None:
        assert SignatureBlock(signer_name="A", signer_title="Kepala Dinas").display_title == "Kepala Dinas"


class TestReceipt:
    def render(self, letterhead: Letterhead, **overrides: object) -> bytes:
        kwargs: dict[str, object] = {
            "registration_number": "REG-2026-000123",
            "applicant_name": "Siti Aminah",
            "organisation_name": "Yayasan Peduli & Sejahtera <Rohil>",
            "permit_type_name": "Izin Operasional Organisasi Sosial",
            "submitted_at": datetime(2026, 11, 28, 7, 5, tzinfo=UTC),
            "checked_at": datetime(2026, 11, 28, 8, 30, tzinfo=UTC),
            "documents": ["Surat permohonan", "Akta notaris pendirian beserta AD/ART", "NPWP organisasi"],
            "pickup_code_url": PICKUP_URL,
        }
        kwargs.update(overrides)
        return render_receipt(letterhead, **kwargs)  # type: ignore[arg-type]

    def test_contains_key_data(self, letterhead: Letterhead) -> None:
        pdf = self.render(letterhead)
        text = text_of(pdf)
        assert_a4_with_letterhead(pdf)
        assert "TANDA TERIMA BERKAS PERMOHONAN" in text
        assert "REG-2026-000123" in text
        assert "Siti Aminah" in text
        assert "Yayasan Peduli & Sejahtera <Rohil>" in text  # markup characters escaped, not lost
        assert "Izin Operasional Organisasi Sosial" in text
        assert "28 November 2026 pukul 14.05 WIB" in text
        assert "28 November 2026 pukul 15.30 WIB" in text
        for document in ("Surat permohonan", "Akta notaris pendirian beserta AD/ART", "NPWP organisasi"):
            assert document in text
        assert PICKUP_URL in compact(text)

    def test_qr_encodes_the_pickup_url(self, letterhead: Letterhead) -> None:
        assert embedded_images(self.render(letterhead)) == [qr_pixels(PICKUP_URL)]

    def test_without_url_the_qr_encodes_the_registration_number(self, letterhead: Letterhead) -> None:
        pdf = self.render(letterhead, pickup_code_url=None, organisation_name=None)
        assert embedded_images(pdf) == [qr_pixels("REG-2026-000123")]
        text = text_of(pdf)
        assert "Nama Organisasi" not in text
        assert "lacak" not in text

    def test_long_document_lists_flow_onto_more_pages(self, letterhead: Letterhead) -> None:
        documents = [f"Dokumen persyaratan nomor {n} dengan keterangan yang cukup panjang" for n in range(80)]
        pdf = self.render(letterhead, documents=documents)
        assert len(read(pdf).pages) > 1
        assert "nomor 79 dengan" in text_of(pdf)


class TestPermit:
    def test_contains_key_data(self, letterhead: Letterhead, acting_head: SignatureBlock) -> None:
        pdf = render_permit(letterhead, **permit_kwargs(acting_head))  # type: ignore[arg-type]
        text = text_of(pdf)
        assert_a4_with_letterhead(pdf)
        assert (
            "KEPUTUSAN KEPALA DINAS PENANAMAN MODAL DAN PELAYANAN TERPADU SATU PINTU KABUPATEN ROKAN HILIR"
            in text
        )
        assert "NOMOR: 503/DPMPTSP-IOS/0007/XI/2026" in text
        assert "IZIN OPERASIONAL ORGANISASI SOSIAL" in text
        assert "Yayasan Peduli Sejahtera" in text
        assert "AHU-0012345.AH.01.04.Tahun 2025" in text
        assert "Menimbang" in text and "Mengingat" in text and "MEMUTUSKAN" in text
        assert "Undang-Undang Nomor 11 Tahun 2009 tentang Kesejahteraan Sosial;" in text
        assert "KESATU : Memberikan Izin Operasional" in text
        assert "KEDUA : Pemegang izin wajib" in text
        assert "KETIGA" not in text
        assert "Masa Berlaku : 28 November 2026 sampai dengan 28 November 2031" in text
        assert "Ditetapkan di Bagansiapiapi" in text
        assert "pada tanggal 28 November 2026" in text
        assert "Plt. KEPALA DINAS PENANAMAN MODAL" in text
        assert "Ditandatangani secara elektronik" in text
        assert "Drs. H. Ahmad Yani, M.Si" in text
        assert "NIP. 197001011990031001" in text
        assert VERIFY_URL in compact(text)

    def test_qr_is_an_image_xobject_encoding_the_verify_url(
        self, letterhead: Letterhead, acting_head: SignatureBlock
    ) -> None:
        pdf = render_permit(letterhead, **permit_kwargs(acting_head))  # type: ignore[arg-type]
        xobjects = []
        for page in read(pdf).pages:
            resources = page["/Resources"].get_object()
            assert isinstance(resources, pypdf.generic.DictionaryObject)
            xobjects += [obj.get_object() for obj in (resources.get("/XObject") or {}).values()]
        assert any(x["/Subtype"] == "/Image" for x in xobjects)
        assert embedded_images(pdf) == [qr_pixels(VERIFY_URL)]

    def test_verify_url_is_a_link(self, letterhead: Letterhead, acting_head: SignatureBlock) -> None:
        pdf = render_permit(letterhead, **permit_kwargs(acting_head))  # type: ignore[arg-type]
        uris = [
            annot.get_object()["/A"]["/URI"]
            for page in read(pdf).pages
            for annot in page.get("/Annots") or []
            if "/A" in annot.get_object()
        ]
        assert VERIFY_URL in uris

    def test_head_not_acting_has_no_plt(self, letterhead: Letterhead) -> None:
        head = SignatureBlock(signer_name="Ir. Rahmat Hidayat", signer_title="Kepala Dinas Penanaman Modal")
        text = text_of(render_permit(letterhead, **permit_kwargs(head)))  # type: ignore[arg-type]
        assert "Plt." not in text
        assert "Ir. Rahmat Hidayat" in text
        assert "NIP." not in text

    def test_without_expiry_and_with_own_recitals(
        self, letterhead: Letterhead, acting_head: SignatureBlock
    ) -> None:
        kwargs = permit_kwargs(
            acting_head,
            valid_until=None,
            recitals=["bahwa pemohon telah memenuhi seluruh persyaratan Surat Izin Praktik;"],
            title="SURAT IZIN PRAKTIK",
            decision_text=[],
        )
        text = text_of(render_permit(letterhead, **kwargs))  # type: ignore[arg-type]
        assert "bahwa pemohon telah memenuhi seluruh persyaratan Surat Izin Praktik;" in text
        assert "Masa Berlaku : Sejak 28 November 2026, selama pemegang izin menjalankan kegiatan" in text
        assert "sampai dengan" not in text
        assert "KESATU : Menetapkan pemberian izin" in text  # never a decree without an article

    def test_long_legal_basis_wraps_onto_several_pages(
        self, letterhead: Letterhead, acting_head: SignatureBlock
    ) -> None:
        basis = [
            f"Peraturan Daerah Kabupaten Rokan Hilir Nomor {n} Tahun 2020 tentang Penyelenggaraan "
            "Perizinan dan Nonperizinan yang diberikan kepada organisasi kemasyarakatan;"
            for n in range(1, 40)
        ]
        pdf = render_permit(letterhead, **permit_kwargs(acting_head, considerations=basis))  # type: ignore[arg-type]
        assert len(read(pdf).pages) >= 2
        text = text_of(pdf)
        assert "Nomor 39 Tahun 2020" in text
        assert "Drs. H. Ahmad Yani, M.Si" in text

    def test_rendering_is_deterministic(self, letterhead: Letterhead, acting_head: SignatureBlock) -> None:
        first = render_permit(letterhead, **permit_kwargs(acting_head))  # type: ignore[arg-type]
        second = render_permit(letterhead, **permit_kwargs(acting_head))  # type: ignore[arg-type]
        assert first == second


class TestRejectionLetter:
    def test_contains_key_data(self, letterhead: Letterhead, acting_head: SignatureBlock) -> None:
        pdf = render_rejection_letter(
            letterhead,
            letter_number="503/DPMPTSP/TOLAK/0001/XI/2026",
            registration_number="REG-2026-000124",
            addressee="Ketua Yayasan Contoh",
            permit_type_name="Izin Operasional Organisasi Sosial",
            reasons=[
                "Rekomendasi teknis Dinas Sosial tidak merekomendasikan.",
                "Alamat sekretariat tidak sesuai dengan surat keterangan domisili.",
            ],
            issued_at=date(2026, 11, 28),
            signature=acting_head,
        )
        text = text_of(pdf)
        assert_a4_with_letterhead(pdf)
        assert "SURAT PENOLAKAN PERMOHONAN IZIN" in text
        assert "503/DPMPTSP/TOLAK/0001/XI/2026" in text
        assert "REG-2026-000124" in text
        assert "Ketua Yayasan Contoh" in text
        assert "tidak dapat disetujui" in text
        assert "Rekomendasi teknis Dinas Sosial tidak merekomendasikan." in text
        assert "Alamat sekretariat tidak sesuai dengan surat keterangan domisili." in text
        assert "Bagansiapiapi, 28 November 2026" in text
        assert "Plt. KEPALA DINAS" in text
        assert "Drs. H. Ahmad Yani, M.Si" in text

    def test_without_letter_number(self, letterhead: Letterhead, acting_head: SignatureBlock) -> None:
        pdf = render_rejection_letter(
            letterhead,
            letter_number=None,
            registration_number="REG-2026-000124",
            addressee="Ketua Yayasan Contoh",
            permit_type_name="Surat Izin Praktik",
            reasons=["STR tidak berlaku."],
            issued_at=date(2026, 11, 28),
            signature=acting_head,
        )
        text = text_of(pdf)
        assert "NOMOR: -" in text
        assert "STR tidak berlaku." in text


class TestTechnicalRecommendation:
    @pytest.mark.parametrize(
        ("recommended", "verdict"),
        [(True, "MEREKOMENDASIKAN"), (False, "TIDAK MEREKOMENDASIKAN")],
    )
    def test_contains_key_data(self, letterhead: Letterhead, recommended: bool, verdict: str) -> None:
        agency_head = SignatureBlock(
            signer_name="Hj. Rina Marlina, S.Sos", signer_title="Kepala Dinas Sosial Kabupaten Rokan Hilir"
        )
        pdf = render_technical_recommendation(
            letterhead,
            registration_number="REG-2026-000123",
            organisation_name="Yayasan Peduli Sejahtera",
            agency_name="Dinas Sosial Kabupaten Rokan Hilir",
            findings=["Kantor sekretariat ada dan papan nama terpasang.", "Susunan pengurus sesuai SK."],
            recommended=recommended,
            visited_on=date(2026, 11, 20),
            issued_at=date(2026, 11, 21),
            signature=agency_head,
        )
        text = text_of(pdf)
        assert_a4_with_letterhead(pdf)
        assert "REKOMENDASI TEKNIS" in text
        assert "REG-2026-000123" in text
        assert "Yayasan Peduli Sejahtera" in text
        assert "Kantor sekretariat ada dan papan nama terpasang." in text
        assert "20 November 2026" in text
        assert "Bagansiapiapi, 21 November 2026" in text
        assert f"Dinas Sosial Kabupaten Rokan Hilir {verdict}" in text
        assert ("TIDAK MEREKOMENDASIKAN" in text) is not recommended
        assert "Hj. Rina Marlina, S.Sos" in text
        assert "Plt." not in text

    def test_without_field_visit(self, letterhead: Letterhead, acting_head: SignatureBlock) -> None:
        pdf = render_technical_recommendation(
            letterhead,
            registration_number="REG-2026-000125",
            organisation_name="Yayasan Contoh",
            agency_name="Dinas Sosial Kabupaten Rokan Hilir",
            findings=[],
            recommended=True,
            visited_on=None,
            issued_at=date(2026, 11, 21),
            signature=acting_head,
        )
        text = text_of(pdf)
        assert "Tidak dilakukan peninjauan lapangan" in text
        assert "Tidak ada catatan." in text
