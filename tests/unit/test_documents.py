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


# -- the decree and the recommendation as an office issues them (catalog + services.permits, issue 11) ----------


def orsos_application(**overrides: object) -> object:
    """A Rokan Hilir orsos application at signing, its technical recommendation numbered and dated."""
    from silastri.domain.models import Application

    fields: dict[str, object] = {
        "application_id": "app-1",
        "office_id": "rokan-hilir",
        "applicant_id": "user-1",
        "permit_type": "izin-operasional-orsos",
        "registration_number": "REG-2026-000123",
        "created_at": datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
        "submitted_at": datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
        "permit_number": "503/DPMPTSP-IOS/0007/XI/2026",
        "permit_id": "0" * 32,
        "technical_recommendation_number": "460/DINSOS/0012/XI/2026",
        "technical_recommendation_date": "2026-11-21",
        "stage_plan": {"technical_review": True, "field_visit": False, "payment": "none"},
        "form": {
            "organisation_name": "Yayasan Peduli Sejahtera Bagansiapiapi",
            "organisation_address": "Jl. Pahlawan No. 5, Kelurahan Bagan Kota, Bagansiapiapi",
            "district": "Bangko",
            "chair_name": "Budi Santoso",
            "legal_entity_number": "AHU-0012345.AH.01.04.Tahun 2025",
            "field_of_activity": "Pelayanan kesejahteraan sosial anak terlantar dan lanjut usia",
        },
    }
    fields.update(overrides)
    return Application(**fields)  # type: ignore[arg-type]


class TestDecreeAsIssued:
    """The decree of services.permits from the shipped catalog: what a real Surat Keputusan of a DPMPTSP carries."""

    @pytest.fixture(autouse=True)
    def _settings(self, unit_env: object) -> None:
        unit_env()  # type: ignore[operator]

    def render(self, signer: str | None = None, acting: bool = False, **overrides: object) -> bytes:
        from silastri.services import permits

        return permits.render_permit(orsos_application(**overrides), signer, acting=acting)  # type: ignore[arg-type]

    def test_legal_bases_with_number_and_year_and_the_delegation_last(self) -> None:
        from silastri.domain.catalog import default_catalog

        text = text_of(self.render())
        mengingat = text[text.index("Mengingat") : text.index("Memperhatikan")]
        assert "Undang-Undang Nomor 11 Tahun 2009 tentang Kesejahteraan Sosial;" in mengingat
        assert "Undang-Undang Nomor 17 Tahun 2013 tentang Organisasi Kemasyarakatan" in mengingat
        assert "Undang-Undang Nomor 23 Tahun 2014 tentang Pemerintahan Daerah" in mengingat
        delegation = default_catalog().office("rokan-hilir").delegation
        assert delegation is not None and delegation.kind == "Peraturan Bupati Rokan Hilir"
        assert mengingat.rstrip().endswith(delegation.text() + ".")  # the regent's delegation, last
        assert "Pendelegasian Kewenangan" in mengingat

    def test_memperhatikan_cites_the_recommendation_number_and_date(self) -> None:
        text = text_of(self.render())
        noting = text[text.index("Memperhatikan") : text.index("MEMUTUSKAN")]
        assert (
            "Rekomendasi Teknis Dinas Sosial Kabupaten Rokan Hilir Nomor 460/DINSOS/0012/XI/2026 "
            "tanggal 21 November 2026." in noting
        )

    def test_without_a_planned_review_there_is_no_recommendation(self) -> None:
        plan = {"technical_review": False, "field_visit": False, "payment": "none"}
        assert "Rekomendasi Teknis" not in text_of(self.render(stage_plan=plan))

    def test_head_signs_with_full_title_rank_and_nip_from_the_catalog(self) -> None:
        text = text_of(self.render())  # None: the head the catalog names
        assert (
            "KEPALA DINAS PENANAMAN MODAL DAN PELAYANAN TERPADU SATU PINTU KABUPATEN ROKAN HILIR, "
            in text[text.index("pada tanggal") :]
        )
        assert "H. Ahmad Fauzi, S.Sos., M.Si. Pembina Utama Muda (IV/c) NIP. 19700101 199003 1 001" in text
        assert "Plt." not in text

    def test_acting_head_signs_as_plt_with_their_own_rank_and_nip(self) -> None:
        text = text_of(self.render("Drs. Zulkifli Hasan", acting=True))
        assert "Plt. KEPALA DINAS PENANAMAN MODAL" in text
        assert "Drs. Zulkifli Hasan Pembina Tingkat I (IV/b) NIP. 19720315 199803 1 004" in text
        assert "19700101 199003 1 001" not in text  # never the head's NIP under the acting head's name

    def test_a_signer_the_catalog_does_not_name_gets_no_nip(self) -> None:
        text = text_of(self.render("Ir. Orang Lain", acting=True))
        assert "Ir. Orang Lain" in text and "NIP." not in text and "Pembina" not in text

    def test_tembusan_of_the_type_with_its_placeholders_filled(self) -> None:
        text = text_of(self.render())
        tembusan = text[text.index("Tembusan disampaikan kepada Yth.:") :]
        assert "1. Bupati Rokan Hilir di Bagansiapiapi (sebagai laporan);" in tembusan
        assert "Kepala Dinas Sosial Kabupaten Rokan Hilir di Bagansiapiapi;" in re.sub(r"\s+", " ", tembusan)
        assert "3. Camat Bangko;" in tembusan
        assert "4. Pertinggal." in tembusan

    def test_a_type_without_tembusan_takes_the_offices(self) -> None:
        from silastri.domain.catalog import default_catalog
        from silastri.services import permits

        catalog = default_catalog()
        office = catalog.office("bengkalis")
        gor = catalog.permit_type("bengkalis", "izin-pemakaian-gedung-olahraga")
        assert gor.decree.tembusan is None
        app = orsos_application(office_id="bengkalis", permit_type=gor.permit_type)
        texts = permits.decree_texts(app, office, gor)  # type: ignore[arg-type]
        assert texts["tembusan"] == ["Bupati Bengkalis di Bengkalis (sebagai laporan)", "Pertinggal"]

    def test_locally_the_dev_pki_says_what_it_is_and_never_claims_bsre(self) -> None:
        from silastri.adapters.documents import BSRE_STATEMENT

        text = text_of(self.render())
        assert "PKI PENGEMBANGAN — BUKAN DOKUMEN RESMI" in text
        assert "sertifikat PKI pengembangan lokal SILASTRI RV (bukan sertifikat elektronik BSrE/BSSN)" in text
        assert "Balai Besar Sertifikasi Elektronik" not in text
        assert compact(BSRE_STATEMENT) not in compact(text)

    def test_with_the_bsre_signer_the_bsre_statement_is_printed(self, unit_env: object) -> None:
        unit_env(SIGNER_MODE="bsre")  # type: ignore[operator]
        text = text_of(self.render())
        assert (
            "Dokumen ini telah ditandatangani secara elektronik menggunakan sertifikat elektronik yang diterbitkan "
            "oleh Balai Besar Sertifikasi Elektronik (BSrE), Badan Siber dan Sandi Negara" in text
        )
        assert "PKI PENGEMBANGAN" not in text

    def test_a_draft_says_it_is_not_signed(self) -> None:
        from silastri.services import permits

        text = text_of(permits.render_permit(orsos_application(), draft=True))  # type: ignore[arg-type]
        assert "DRAF — BELUM DITANDATANGANI" in text
        assert "ditandatangani dengan sertifikat" not in text

    def test_the_orsos_decree_has_exactly_one_page(self) -> None:
        for signer, acting in ((None, False), ("Drs. Zulkifli Hasan", True)):
            assert len(read(self.render(signer, acting)).pages) == 1

    def test_every_seeded_type_keeps_its_signature_with_the_last_article(self) -> None:
        """Every seeded type on at most two pages, the last article, signature and Tembusan on the last one."""
        from silastri.domain.catalog import default_catalog
        from silastri.services import permits

        catalog = default_catalog()
        for office_id in catalog.offices:
            for definition in catalog.offered(office_id):
                form = {f.field: (f.options[0] if f.options else "2026-11-30" if f.type == "date" else
                                  "1" if f.type == "number" else f"Contoh {f.label.lower()}")
                        for f in definition.form_fields}
                app = orsos_application(office_id=office_id, permit_type=definition.permit_type, form=form,
                                        stage_plan=definition.stage_plan(form))
                pages = read(permits.render_permit(app)).pages  # type: ignore[arg-type]
                assert len(pages) <= 2, (office_id, definition.permit_type, len(pages))
                last = re.sub(r"\s+", " ", pages[-1].extract_text())
                label = "KETIGA" if len(definition.decree.articles) == 3 else "KEDUA"
                assert label in last and "NIP." in last and "Tembusan" in last, (office_id, definition.permit_type)

    def test_a_long_decree_keeps_the_signature_with_the_last_article(self) -> None:
        text = "Pemegang izin wajib mematuhi ketentuan yang berlaku dan melaporkan kegiatannya. " * 3
        pdf = render_permit(
            Letterhead(government="Pemerintah Kabupaten Rokan Hilir", office_name="Dinas PTSP", address="Jl. A",
                       city="Bagansiapiapi"),
            **permit_kwargs(
                SignatureBlock(signer_name="H. Kepala", signer_title="Kepala Dinas"),
                decision_text=[f"{text} ({n})" for n in range(1, 11)],
                tembusan=["Bupati Rokan Hilir", "Pertinggal"],
            ),  # type: ignore[arg-type]
        )
        pages = read(pdf).pages
        assert len(pages) == 2
        last = re.sub(r"\s+", " ", pages[-1].extract_text())
        assert "KESEPULUH" in last and "H. Kepala" in last and "Tembusan" in last
        assert "KESEMBILAN" not in last or "KESEPULUH" in last


class TestRecommendationAsIssued:
    """The Rekomendasi Teknis on the sector agency's own letterhead with its own letter number."""

    def test_on_the_agencys_letterhead_with_its_number(self) -> None:
        from silastri.domain.catalog import default_catalog
        from silastri.services.permits import agency_letterhead

        catalog = default_catalog()
        office = catalog.office("rokan-hilir")
        definition = catalog.permit_type("rokan-hilir", "izin-operasional-orsos")
        numbering = definition.stages.technical_recommendation.numbering
        assert numbering is not None
        number = numbering.number(12, datetime(2026, 11, 21, 3, 0, tzinfo=UTC))
        assert number == "460/DINSOS/0012/XI/2026"
        pdf = render_technical_recommendation(
            agency_letterhead(office, definition),
            registration_number="REG-2026-000123",
            organisation_name="Yayasan Peduli Sejahtera",
            agency_name="Dinas Sosial Kabupaten Rokan Hilir",
            findings=["Kantor sekretariat ada dan papan nama terpasang."],
            recommended=True,
            visited_on=None,
            issued_at=date(2026, 11, 21),
            signature=SignatureBlock(signer_name="Tim A", signer_title="Tim Teknis Dinas Sosial Kabupaten Rokan Hilir"),
            letter_number=number,
            permit_type_name=definition.name,
        )
        first = re.sub(r"\s+", " ", read(pdf).pages[0].extract_text())
        head = first[: first.index("REKOMENDASI TEKNIS")]
        assert "PEMERINTAH KABUPATEN ROKAN HILIR" in head and "DINAS SOSIAL" in head
        assert "PENANAMAN MODAL" not in head  # not the DPMPTSP's letterhead
        assert "NOMOR: 460/DINSOS/0012/XI/2026" in first
        assert "Bagansiapiapi, 21 November 2026" in first
        assert "tanpa tanda tangan elektronik" in first  # it is decided in the system, not signed

    def test_agencies_sharing_a_code_share_one_format(self, tmp_path: object) -> None:
        """Two types recommended by one agency code with different formats would interleave two sequences."""
        from pathlib import Path

        from silastri.domain.catalog_files import read_office_file

        source = Path(__file__).resolve().parents[2] / "layers/common/python/silastri/domain/data/catalog"
        text = (source / "rokan-hilir.yaml").read_text(encoding="utf-8")
        text = text.replace('numbering: {code: DINKES, format: "440/', 'numbering: {code: DINSOS, format: "440/')
        parsed, mistakes, _ = read_office_file("rokan-hilir.yaml", text, "rokan-hilir")
        assert parsed is None
        assert any("kode penomoran 'DINSOS'" in m.message for m in mistakes), mistakes

    def test_agency_numbering_refuses_unknown_placeholders(self) -> None:
        from pydantic import ValidationError
        from silastri.domain.catalog import AgencyNumbering

        with pytest.raises(ValidationError, match="unit"):
            AgencyNumbering(code="DINSOS", format="460/{unit}/{seq}")
        with pytest.raises(ValidationError, match="seq"):
            AgencyNumbering(code="DINSOS", format="460/DINSOS/{year}")


def qrcode_matrix(payload: str) -> list[list[bool]]:
    """qrcode's own module matrix of `payload` (its mask search included), quiet zone included."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=2)
    code.add_data(payload)
    code.make(fit=True)
    return [[bool(module) for module in row] for row in code.get_matrix()]


def test_qr_codes_are_qrcodes_own() -> None:
    """The renderer's module matrix is qrcode's (its own mask search) for URLs, digits and arbitrary text, from
    version 1 to beyond 7 (where version information is added)."""
    import random
    import string

    from silastri.adapters.documents import _qr_matrix

    rng = random.Random(12)
    payloads = [VERIFY_URL, PICKUP_URL, "REG-2026-000123", "1"]
    payloads += [f"https://silastri.example.go.id/verifikasi/{rng.getrandbits(128):032x}" for _ in range(10)]
    payloads += ["".join(rng.choice(string.printable) for _ in range(rng.randint(1, 300))) for _ in range(10)]
    versions = set()
    for payload in payloads:
        expected = qrcode_matrix(payload)
        versions.add((len(expected) - 4 - 17) // 4)
        assert _qr_matrix(payload) == expected, payload
    assert min(versions) == 1 and max(versions) >= 7
