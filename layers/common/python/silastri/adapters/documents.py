"""PDF documents of a licensing office: receipt, permit decree, rejection letter, technical recommendation.

Every document is A4 with the office letterhead, in Bahasa Indonesia, with dates such as
"28 November 2026" and times in WIB (UTC+7). Rendering uses reportlab platypus; reportlab and
qrcode are imported inside the functions so that importing this module stays cheap. Output is
built with reportlab's ``invariant`` mode, so equal input gives byte-identical PDFs.

Signed documents (permit, rejection letter) only *show* a signature block with a reserved area; the legally
relevant PAdES signature is applied afterwards (see ``signing.py``). What the footer says about that signature
(``signing_statement``, ``notice``) is the caller's to choose: the BSrE sentence (``BSRE_STATEMENT``) only when
BSrE signs, a development-PKI notice otherwise.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from pydantic import BaseModel, Field

from silastri.domain.clock import format_date_id as format_day_id

if TYPE_CHECKING:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Flowable

WIB = timezone(timedelta(hours=7), "WIB")
ACTING_PREFIX = "Plt. "
PRODUCT_NAME = "SILASTRI RV"
#: what a document signed with a BSrE certificate says, as on real documents of Indonesian government offices
BSRE_STATEMENT = (
    "Dokumen ini telah ditandatangani secara elektronik menggunakan sertifikat elektronik yang diterbitkan oleh "
    "Balai Besar Sertifikasi Elektronik (BSrE), Badan Siber dan Sandi Negara"
)
#: the notice on a document signed by the local development PKI: never mistaken for an official one
DEV_PKI_NOTICE = "PKI pengembangan — bukan dokumen resmi"

DIKTUM_ID = (
    "KESATU",
    "KEDUA",
    "KETIGA",
    "KEEMPAT",
    "KELIMA",
    "KEENAM",
    "KETUJUH",
    "KEDELAPAN",
    "KESEMBILAN",
    "KESEPULUH",
)

_MM = 72 / 25.4  # points per millimetre
_PAGE_WIDTH = 210 * _MM
_PAGE_HEIGHT = 297 * _MM
_MARGIN_LEFT = 22 * _MM
_MARGIN_RIGHT = 15 * _MM
_MARGIN_TOP = 10 * _MM
_MARGIN_BOTTOM = 16 * _MM
_FRAME_WIDTH = _PAGE_WIDTH - _MARGIN_LEFT - _MARGIN_RIGHT


class Letterhead(BaseModel):
    """The office letterhead (*kop surat*) printed at the top of every document."""

    government: str = Field(min_length=1, description='e.g. "Pemerintah Kabupaten Rokan Hilir"')
    office_name: str = Field(min_length=1, description='e.g. "Dinas Penanaman Modal dan PTSP"')
    address: str = Field(min_length=1)
    city: str = Field(min_length=1, description='Place of issue, e.g. "Bagansiapiapi"')


class SignatureBlock(BaseModel):
    """Who signs a document; ``acting`` prefixes the title with "Plt."."""

    signer_name: str = Field(min_length=1)
    signer_title: str = Field(min_length=1)
    acting: bool = False
    employee_id: str | None = Field(default=None, description="NIP")
    rank: str | None = Field(default=None, description='pangkat/golongan, e.g. "Pembina Utama Muda (IV/c)"')

    @property
    def display_title(self) -> str:
        """The title as printed, with "Plt. " when the signer is acting."""
        if self.acting and not self.signer_title.lower().startswith("plt."):
            return ACTING_PREFIX + self.signer_title
        return self.signer_title


# -- public formatting helpers ------------------------------------------------------------------


def format_date_id(value: date) -> str:
    """Format a date the Indonesian way, e.g. "28 November 2026" (a datetime is first put in WIB)."""
    if isinstance(value, datetime):
        value = to_wib(value).date()
    return format_day_id(value)


def to_wib(value: datetime) -> datetime:
    """Convert to WIB (UTC+7); a naive datetime is taken to be UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(WIB)


def format_datetime_id(value: datetime) -> str:
    """Format a moment in WIB, e.g. "28 November 2026 pukul 14.05 WIB"."""
    local = to_wib(value)
    return f"{format_date_id(local.date())} pukul {local.hour:02d}.{local.minute:02d} WIB"


# -- documents --------------------------------------------------------------------------------


def render_receipt(
    letterhead: Letterhead,
    *,
    registration_number: str,
    applicant_name: str,
    organisation_name: str | None,
    permit_type_name: str,
    submitted_at: datetime,
    checked_at: datetime,
    documents: list[str],
    pickup_code_url: str | None,
    holder_label: str = "Nama Organisasi",
) -> bytes:
    """Render the *Tanda Terima Berkas Permohonan* with the list of received documents.

    ``applicant_name`` is the person who applied ("Nama Pemohon"); ``organisation_name``, when given, the permit's
    holder on its own row under ``holder_label``. The QR code holds ``pickup_code_url`` when given, otherwise the
    registration number.
    """
    s = _styles()
    rows: list[tuple[str, str]] = [
        ("Nomor Registrasi", registration_number),
        ("Nama Pemohon", applicant_name),
    ]
    if organisation_name:
        rows.append((holder_label, organisation_name))
    rows += [
        ("Jenis Izin", permit_type_name),
        ("Tanggal Pengajuan", format_datetime_id(submitted_at)),
        ("Tanggal Pemeriksaan Berkas", format_datetime_id(checked_at)),
    ]
    qr_payload = pickup_code_url or registration_number
    qr_caption = (
        f"Pindai kode QR untuk melihat status dan pengambilan izin:<br/>{_e(pickup_code_url)}"
        if pickup_code_url
        else f"Nomor Registrasi: {_e(registration_number)}"
    )
    story: list[Flowable] = [
        *_letterhead(letterhead),
        _p("TANDA TERIMA BERKAS PERMOHONAN", s["title"]),
        _p(f"Nomor Registrasi: {_e(registration_number)}", s["subtitle"]),
        _spacer(4),
        _p("Telah diterima berkas permohonan izin dengan keterangan sebagai berikut:", s["body"]),
        _details_table(rows),
        _spacer(3),
        _p("Berkas persyaratan yang diterima:", s["body_bold"]),
        *_numbered(documents or ["Tidak ada berkas."], "1"),
        _spacer(3),
        _p(
            "Berkas permohonan telah diterima dan diperiksa kelengkapannya oleh petugas Back Office. "
            f"Perkembangan permohonan dapat dipantau melalui {PRODUCT_NAME} dengan nomor registrasi di atas.",
            s["body"],
        ),
        _p(
            "Simpan tanda terima ini dan bawa pada saat pengambilan izin beserta dokumen asli yang "
            "dipersyaratkan.",
            s["body"],
        ),
        _spacer(6),
        _qr_with_text(
            qr_payload,
            [
                _p(qr_caption, s["small"]),
                _spacer(2),
                _p(f"{_e(letterhead.city)}, {format_date_id(checked_at)}", s["small"]),
                _p(f"Diterbitkan oleh {PRODUCT_NAME} &mdash; tidak memerlukan tanda tangan.", s["small"]),
            ],
        ),
    ]
    return _build(
        story,
        letterhead=letterhead,
        title=f"Tanda Terima {registration_number}",
        reference=f"Tanda Terima {registration_number}",
    )


def render_permit(
    letterhead: Letterhead,
    *,
    permit_number: str,
    title: str,
    holder_name: str,
    holder_details: list[tuple[str, str]],
    considerations: list[str],
    decision_text: list[str],
    issued_at: date,
    valid_until: date | None,
    signature: SignatureBlock,
    verify_url: str,
    recitals: list[str] | None = None,
    noting: list[str] | None = None,
    open_ended: str = "selama pemegang izin menjalankan kegiatan",
    tembusan: list[str] | None = None,
    signing_statement: str | None = None,
    notice: str | None = None,
) -> bytes:
    """Render the permit as a decree of the head of office, with a QR code to ``verify_url``.

    ``considerations`` are the legal basis (*Mengingat*, the delegation of authority last), ``noting`` what
    the decree also took into account (*Memperhatikan*: a technical recommendation with its number and date,
    the STR; left out when empty), ``decision_text`` the articles (*KESATU*, *KEDUA*, ...), which refer to
    the holder listed above them together with the validity period (``valid_until`` None: valid from
    ``issued_at`` ``open_ended``, e.g. while the holder runs the activity). ``recitals`` (*Menimbang*) default
    to a standard text naming the holder and the permit. ``tembusan`` (the copies' addressees) follow the
    signature; ``signing_statement`` and ``notice`` (e.g. ``BSRE_STATEMENT``, ``DEV_PKI_NOTICE``) are printed
    in the footer of every page. The last article, the signature and the Tembusan stay on one page.
    """
    from reportlab.platypus import KeepTogether

    s = _styles()
    region = _region(letterhead)
    head = f"KEPALA {letterhead.office_name.upper()} {region.upper()}".strip()
    title_text = _title_case(title)
    if recitals is None:
        recitals = [
            f"bahwa {holder_name} telah mengajukan permohonan {title_text} dan berdasarkan hasil "
            "pemeriksaan telah memenuhi persyaratan sesuai ketentuan peraturan perundang-undangan;",
            f"bahwa berdasarkan pertimbangan sebagaimana dimaksud dalam huruf a, perlu menetapkan "
            f"Keputusan {_title_case(head)} tentang {title_text};",
        ]
    validity = (
        f"{format_date_id(issued_at)} sampai dengan {format_date_id(valid_until)}"
        if valid_until
        else f"Sejak {format_date_id(issued_at)}, {open_ended}"
    )
    details = [("Nama", holder_name), *holder_details, ("Masa Berlaku", validity)]
    diktum = decision_text or ["Menetapkan pemberian izin kepada pemegang izin tersebut di atas."]
    story: list[Flowable] = [
        *_letterhead(letterhead),
        _p(f"KEPUTUSAN {_e(head)}", s["title"]),
        _p(f"NOMOR: {_e(permit_number)}", s["subtitle"]),
        _p("TENTANG", s["subtitle"]),
        _p(_e(title.upper()), s["subtitle"]),
        _spacer(2),
        _p(f"{_e(head)},", s["head_line"]),
        _spacer(1.5),
        _clause_table("Menimbang", recitals, "a"),
        _spacer(1),
        _clause_table("Mengingat", considerations, "1"),
        *([_spacer(1), _clause_table("Memperhatikan", noting, "1" if len(noting) > 1 else None)] if noting else []),
        _spacer(1.5),
        _p("MEMUTUSKAN:", s["subtitle"]),
        _spacer(0.5),
        _clause_table("Menetapkan", [f"KEPUTUSAN {head} TENTANG {title.upper()}."], None),
        _spacer(1),
        _details_table(details),
        _spacer(1),
        *([_diktum_table(diktum[:-1])] if len(diktum) > 1 else []),
        # the last article, the signature and the Tembusan stay on one page, never the signature alone
        KeepTogether(
            [
                _diktum_table(diktum[-1:], start=len(diktum) - 1),
                _spacer(2),
                _signature_with_qr(
                    signature,
                    place_lines=[
                        f"Ditetapkan di {_e(letterhead.city)}",
                        f"pada tanggal {format_date_id(issued_at)}",
                    ],
                    qr_payload=verify_url,
                    qr_caption=(
                        "Pindai kode QR untuk memeriksa keaslian dokumen:<br/>"
                        f'<link href="{_e(verify_url, {chr(34): "&quot;"})}">{_e(verify_url)}</link>'
                    ),
                    below_left=_tembusan(tembusan or []),
                ),
            ]
        ),
    ]
    return _build(
        story,
        letterhead=letterhead,
        title=f"{title_text} {permit_number}",
        reference=permit_number,
        statement=signing_statement,
        notice=notice,
    )


def render_rejection_letter(
    letterhead: Letterhead,
    *,
    letter_number: str | None,
    registration_number: str,
    addressee: str,
    permit_type_name: str,
    reasons: list[str],
    issued_at: date,
    signature: SignatureBlock,
    signing_statement: str | None = None,
    notice: str | None = None,
) -> bytes:
    """Render the *Surat Penolakan Permohonan Izin* listing the reasons for the refusal (``signing_statement``
    and ``notice`` in the footer, as for the permit)."""
    s = _styles()
    story: list[Flowable] = [
        *_letterhead(letterhead),
        _p("SURAT PENOLAKAN PERMOHONAN IZIN", s["title"]),
        _p(f"NOMOR: {_e(letter_number or '-')}", s["subtitle"]),
        _spacer(4),
        _details_table(
            [
                ("Nomor Registrasi", registration_number),
                ("Perihal", f"Penolakan Permohonan {permit_type_name}"),
            ]
        ),
        _spacer(3),
        _p("Kepada Yth.", s["body_left"]),
        _p(f"<b>{_e(addressee)}</b>", s["body_left"]),
        _p("di Tempat", s["body_left"]),
        _spacer(3),
        _p("Dengan hormat,", s["body_left"]),
        _p(
            f"Menindaklanjuti permohonan {_e(permit_type_name)} yang Saudara ajukan melalui "
            f"{PRODUCT_NAME} dengan nomor registrasi <b>{_e(registration_number)}</b>, setelah "
            "dilakukan pemeriksaan dan penelitian, dengan ini kami sampaikan bahwa permohonan "
            "tersebut <b>tidak dapat disetujui</b> dengan alasan sebagai berikut:",
            s["body"],
        ),
        *_numbered(reasons or ["-"], "1"),
        _spacer(2),
        _p(
            "Saudara dapat mengajukan permohonan kembali setelah memenuhi ketentuan dan persyaratan "
            "yang berlaku.",
            s["body"],
        ),
        _p("Demikian surat ini kami sampaikan untuk dapat dimaklumi.", s["body"]),
        _spacer(6),
        _signature_with_qr(
            signature,
            place_lines=[f"{_e(letterhead.city)}, {format_date_id(issued_at)}"],
        ),
    ]
    return _build(
        story,
        letterhead=letterhead,
        title=f"Surat Penolakan {registration_number}",
        reference=letter_number or registration_number,
        statement=signing_statement,
        notice=notice,
    )


def render_technical_recommendation(
    letterhead: Letterhead,
    *,
    registration_number: str,
    organisation_name: str,
    agency_name: str,
    findings: list[str],
    recommended: bool,
    visited_on: date | None,
    issued_at: date,
    signature: SignatureBlock,
    letter_number: str | None = None,
    permit_type_name: str | None = None,
) -> bytes:
    """Render the sector agency's *Rekomendasi Teknis* with its findings and conclusion.

    ``letterhead`` is the agency's own, ``letter_number`` its own letter number (from its own sequence).
    The recommendation is decided in SILASTRI RV and not signed electronically: its signature area says so."""
    s = _styles()
    verdict = "MEREKOMENDASIKAN" if recommended else "TIDAK MEREKOMENDASIKAN"
    conclusion = (
        "permohonan tersebut untuk diproses lebih lanjut sesuai ketentuan yang berlaku."
        if recommended
        else "permohonan tersebut, dengan pertimbangan hasil pemeriksaan di atas."
    )
    visit = format_date_id(visited_on) if visited_on else "Tidak dilakukan peninjauan lapangan"
    story: list[Flowable] = [
        *_letterhead(letterhead),
        _p("REKOMENDASI TEKNIS", s["title"]),
        _p(f"NOMOR: {_e(letter_number or '-')}", s["subtitle"]),
        _spacer(4),
        _p("Berdasarkan pemeriksaan atas permohonan izin dengan data sebagai berikut:", s["body"]),
        _details_table(
            [
                ("Nomor Registrasi", registration_number),
                *([("Jenis Izin", permit_type_name)] if permit_type_name else []),
                ("Nama Pemohon/Organisasi", organisation_name),
                ("Instansi Teknis", agency_name),
                ("Tanggal Peninjauan Lapangan", visit),
            ]
        ),
        _spacer(3),
        _p(
            "Hasil pemeriksaan dokumen dan peninjauan lapangan:"
            if visited_on
            else "Hasil pemeriksaan dokumen:",
            s["body_bold"],
        ),
        *_numbered(findings or ["Tidak ada catatan."], "1"),
        _spacer(3),
        _p(
            f"Berdasarkan hasil pemeriksaan tersebut, {_e(agency_name)} <b>{verdict}</b> {conclusion}",
            s["body"],
        ),
        _p("Demikian rekomendasi teknis ini dibuat untuk dipergunakan sebagaimana mestinya.", s["body"]),
        _spacer(6),
        _signature_with_qr(
            signature,
            place_lines=[f"{_e(letterhead.city)}, {format_date_id(issued_at)}"],
            reserved_text=f"Diputuskan melalui {PRODUCT_NAME}<br/>(tanpa tanda tangan elektronik)",
        ),
    ]
    return _build(
        story,
        letterhead=letterhead,
        title=f"Rekomendasi Teknis {letter_number or registration_number}",
        reference=f"Rekomendasi Teknis {letter_number or registration_number}",
    )


# -- building blocks ---------------------------------------------------------------------------


def _e(text: str, extra: dict[str, str] | None = None) -> str:
    """Escape user text for reportlab's paragraph markup (``extra`` e.g. for quotes in attributes)."""
    return escape(text, extra or {})


def _p(markup: str, style: ParagraphStyle) -> Flowable:
    from reportlab.platypus import Paragraph

    return Paragraph(markup, style)


def _spacer(height_mm: float) -> Flowable:
    from reportlab.platypus import Spacer

    return Spacer(1, height_mm * _MM)


def _region(letterhead: Letterhead) -> str:
    """ "Pemerintah Kabupaten Rokan Hilir" -> "Kabupaten Rokan Hilir"."""
    government = letterhead.government.strip()
    prefix = "pemerintah "
    return government[len(prefix) :] if government.lower().startswith(prefix) else government


def _title_case(text: str) -> str:
    small = {"dan", "di", "ke", "dari", "yang", "untuk", "atas", "tentang", "pada"}
    words = text.lower().split()
    return " ".join(w if i and w in small else w[:1].upper() + w[1:] for i, w in enumerate(words))


@lru_cache(maxsize=1)
def _styles() -> dict[str, ParagraphStyle]:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("base", fontName="Helvetica", fontSize=9.5, leading=11.2, alignment=TA_JUSTIFY)
    return {
        "base": base,
        "body": ParagraphStyle("body", parent=base, spaceAfter=4),
        "body_left": ParagraphStyle("body_left", parent=base, alignment=TA_LEFT),
        "body_bold": ParagraphStyle("body_bold", parent=base, fontName="Helvetica-Bold", spaceAfter=2),
        "cell": ParagraphStyle("cell", parent=base, alignment=TA_LEFT),
        "item": ParagraphStyle("item", parent=base, leftIndent=8 * _MM, bulletIndent=2 * _MM, spaceAfter=2),
        "title": ParagraphStyle(
            "title", parent=base, fontName="Helvetica-Bold", fontSize=12, leading=14, alignment=TA_CENTER
        ),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontName="Helvetica-Bold", alignment=TA_CENTER),
        "head_line": ParagraphStyle(
            "head_line", parent=base, fontName="Helvetica-Bold", fontSize=9, leading=11, alignment=TA_CENTER
        ),
        "lh_gov": ParagraphStyle(
            "lh_gov", parent=base, fontName="Helvetica-Bold", fontSize=14, leading=16, alignment=TA_CENTER
        ),
        "lh_office": ParagraphStyle(
            "lh_office", parent=base, fontName="Helvetica-Bold", fontSize=12, leading=14, alignment=TA_CENTER
        ),
        "lh_address": ParagraphStyle("lh_address", parent=base, fontSize=9, leading=11, alignment=TA_CENTER),
        "sig": ParagraphStyle("sig", parent=base, alignment=TA_LEFT),
        "sig_bold": ParagraphStyle("sig_bold", parent=base, fontName="Helvetica-Bold", alignment=TA_LEFT),
        "sig_reserved": ParagraphStyle(
            "sig_reserved",
            parent=base,
            fontName="Helvetica-Oblique",
            fontSize=8,
            leading=10,
            alignment=TA_CENTER,
            textColor=colors.grey,
        ),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10, alignment=TA_LEFT),
        "small_body": ParagraphStyle("small_body", parent=base, fontSize=8.5, leading=10, alignment=TA_LEFT),
        "small_item": ParagraphStyle(
            "small_item",
            parent=base,
            fontSize=8.5,
            leading=10,
            alignment=TA_LEFT,
            leftIndent=5 * _MM,
            bulletIndent=0,
            bulletFontSize=8.5,
        ),
        "note": ParagraphStyle(
            "note",
            parent=base,
            fontName="Helvetica-Oblique",
            fontSize=8,
            leading=10,
            alignment=TA_LEFT,
            textColor=colors.grey,
        ),
    }


def _letterhead(letterhead: Letterhead) -> list[Flowable]:
    from reportlab.lib import colors
    from reportlab.platypus import HRFlowable

    s = _styles()
    return [
        _p(_e(letterhead.government.upper()), s["lh_gov"]),
        _p(_e(letterhead.office_name.upper()), s["lh_office"]),
        _p(_e(letterhead.address), s["lh_address"]),
        HRFlowable(width="100%", thickness=2, color=colors.black, spaceBefore=4, spaceAfter=1),
        HRFlowable(width="100%", thickness=0.6, color=colors.black, spaceBefore=0, spaceAfter=6),
    ]


def _numbered(items: Sequence[str], kind: str) -> list[Flowable]:
    """Hanging-indent list; ``kind`` "1" numbers 1., 2., ... and "a" letters a., b., ..."""
    from reportlab.platypus import Paragraph

    style = _styles()["item"]
    return [Paragraph(_e(text), style, bulletText=_marker(i, kind)) for i, text in enumerate(items)]


def _marker(index: int, kind: str | None) -> str:
    if kind is None:
        return ""
    if kind == "a":
        return f"{chr(ord('a') + index % 26)}."
    return f"{index + 1}."


def _details_table(rows: Sequence[tuple[str, str]]) -> Flowable:
    """Label : value rows; values wrap."""
    s = _styles()
    data = [[_p(_e(label), s["cell"]), ":", _p(_e(value), s["cell"])] for label, value in rows]
    return _plain_table(data, [52 * _MM, 4 * _MM, _FRAME_WIDTH - 56 * _MM])


def _clause_table(label: str, items: Sequence[str], kind: str | None) -> Flowable:
    """Decree clause ("Menimbang : a. ...") with one table row per item so it splits across pages."""
    s = _styles()
    data: list[list[Any]] = []
    for index, text in enumerate(items or ["-"]):
        data.append(
            [
                _p(label if index == 0 else "", s["cell"]),
                ":" if index == 0 else "",
                _marker(index, kind),
                _p(_e(text), s["base"]),
            ]
        )
    marker_width = 7 * _MM if kind else 0.1 * _MM
    return _plain_table(data, [26 * _MM, 4 * _MM, marker_width, _FRAME_WIDTH - 30 * _MM - marker_width])


def _diktum_table(items: Sequence[str], start: int = 0) -> Flowable:
    """Decree articles KESATU, KEDUA, ... (numbering begins at index ``start``)."""
    s = _styles()
    data = [
        [_p(f"<b>{_diktum_label(start + i)}</b>", s["cell"]), ":", _p(_e(text), s["base"])]
        for i, text in enumerate(items)
    ]
    return _plain_table(data, [26 * _MM, 4 * _MM, _FRAME_WIDTH - 30 * _MM])


def _diktum_label(index: int) -> str:
    return DIKTUM_ID[index] if index < len(DIKTUM_ID) else f"KE-{index + 1}"


def _plain_table(data: list[list[Any]], widths: list[float]) -> Flowable:
    from reportlab.platypus import Table, TableStyle

    table = Table(data, colWidths=widths, hAlign="LEFT", splitByRow=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), "Helvetica"),
                ("FONTSIZE", (0, 0), (-1, -1), 9.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 0.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return table


_QR_BOX = 8  # pixels per module of the embedded QR image
_QR_BORDER = 2  # modules of quiet zone around the code


def _qr_image(payload: str, size_mm: float) -> Flowable:
    """QR code of ``payload`` (error correction M) as an embedded greyscale image XObject, ``size_mm`` square.

    The pixels are those of qrcode's own image of the code (``box_size`` 8, ``border`` 2): the same modules and
    mask, each module 8×8 pixels; the image is written straight from the module matrix (no PNG to encode and
    decode, and grey rather than the RGB reportlab makes of a 1-bit PNG: a third of the bytes to compress)."""
    from reportlab.platypus import Image

    matrix = _qr_matrix(payload)
    side = len(matrix) * _QR_BOX
    dark, light = b"\x00" * _QR_BOX, b"\xff" * _QR_BOX
    pixels = b"".join(b"".join(dark if module else light for module in row) * _QR_BOX for row in matrix)
    pgm = io.BytesIO(b"P5 %d %d 255\n" % (side, side) + pixels)  # 8-bit grey, uncompressed: nothing to decode
    return Image(pgm, width=size_mm * _MM, height=size_mm * _MM)


def _qr_matrix(payload: str) -> list[list[bool]]:
    """The modules of ``payload``'s QR code (error correction M, smallest version, qrcode's own mask choice),
    quiet zone included, True = dark."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=_QR_BOX, border=_QR_BORDER)
    code.add_data(payload)
    code.make(fit=True)
    return [[bool(dark) for dark in row] for row in code.get_matrix()]


def _qr_with_text(payload: str, text: list[Flowable]) -> Flowable:
    from reportlab.platypus import Table, TableStyle

    table = Table(
        [[_qr_image(payload, 30), text]], colWidths=[34 * _MM, _FRAME_WIDTH - 34 * _MM], hAlign="LEFT"
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def _qr_with_caption(payload: str, caption: Flowable) -> Flowable:
    """A small QR code (22 mm) with its caption beside it, bottom-aligned."""
    from reportlab.platypus import Table, TableStyle

    table = Table([[_qr_image(payload, 22), caption]], colWidths=[24 * _MM, None], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def _signature_block(
    signature: SignatureBlock, place_lines: Sequence[str], reserved_text: str = "Ditandatangani secara elektronik"
) -> list[Flowable]:
    """Place/date, title, a reserved box for the electronic signature appearance, name, rank and NIP."""
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    s = _styles()
    reserved = Table(
        [[_p(reserved_text, s["sig_reserved"])]],
        colWidths=[66 * _MM],
        rowHeights=[11 * _MM],
    )
    reserved.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.5, colors.grey, None, (2, 2)),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    flowables: list[Flowable] = [_p(line, s["sig"]) for line in place_lines]
    flowables += [
        _spacer(1),
        _p(f"<b>{_e(_printed_title(signature))},</b>", s["sig"]),
        _spacer(1),
        reserved,
        _spacer(1),
        _p(f"<u>{_e(signature.signer_name)}</u>", s["sig_bold"]),
    ]
    if signature.rank:
        flowables.append(_p(_e(signature.rank), s["sig"]))
    if signature.employee_id:
        flowables.append(_p(f"NIP. {_e(signature.employee_id)}", s["sig"]))
    return flowables


def _printed_title(signature: SignatureBlock) -> str:
    """The title in capitals as a decree prints it, the acting prefix kept as "Plt."."""
    title = signature.display_title
    if title.lower().startswith("plt."):
        return "Plt. " + title[4:].strip().upper()
    return title.upper()


def _signature_with_qr(
    signature: SignatureBlock,
    *,
    place_lines: Sequence[str],
    qr_payload: str | None = None,
    qr_caption: str | None = None,
    note: str | None = None,
    reserved_text: str = "Ditandatangani secara elektronik",
    below_left: Sequence[Flowable] = (),
) -> Flowable:
    """Signature block on the right; QR code, its caption, a note and ``below_left`` (e.g. the Tembusan), if
    any, on the left.

    A single table row never splits, so the block always stays on one page.
    """
    from reportlab.platypus import Table, TableStyle

    s = _styles()
    left: list[Flowable] = []
    if qr_payload:
        left = [_qr_with_caption(qr_payload, _p(qr_caption or _e(qr_payload), s["small"]))]
    if note:
        left += [_spacer(2), _p(note, s["note"])]
    left += list(below_left)
    sig_width = 92 * _MM
    table = Table(
        [[left, _signature_block(signature, place_lines, reserved_text)]],
        colWidths=[_FRAME_WIDTH - sig_width, sig_width],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (0, 0), "BOTTOM"),
                ("VALIGN", (1, 0), (1, 0), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (0, 0), 4 * _MM),
            ]
        )
    )
    return table


def _tembusan(addressees: Sequence[str]) -> list[Flowable]:
    """ "Tembusan disampaikan kepada Yth.:" and the numbered addressees (nothing when there are none)."""
    from reportlab.platypus import Paragraph

    if not addressees:
        return []
    s = _styles()
    last = len(addressees) - 1
    return [
        _spacer(2),
        _p("<u>Tembusan</u> disampaikan kepada Yth.:", s["small_body"]),
        *[
            Paragraph(_e(text) + ("." if i == last else ";"), s["small_item"], bulletText=f"{i + 1}.")
            for i, text in enumerate(addressees)
        ],
    ]


def _build(
    story: list[Flowable],
    *,
    letterhead: Letterhead,
    title: str,
    reference: str,
    statement: str | None = None,
    notice: str | None = None,
) -> bytes:
    """Lay out ``story`` on A4 pages with a footer and return the PDF bytes.

    The footer of every page carries ``reference`` and the page number, and above them ``statement`` (how
    the document is signed; wrapped) and ``notice`` (in red, e.g. that a development PKI signed it)."""
    from reportlab import rl_config
    from reportlab.lib import colors
    from reportlab.lib.utils import simpleSplit
    from reportlab.platypus import SimpleDocTemplate

    # streams Flate-compressed only, not also ASCII85-armoured (reportlab's default): a binary PDF is as valid,
    # a fifth smaller, and reportlab's armouring runs in pure Python over every page and image
    rl_config.useA85 = 0
    statement_lines = simpleSplit(statement + ".", "Helvetica-Oblique", 7, _FRAME_WIDTH) if statement else []

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.grey)
        y = 5 * _MM
        canvas.drawString(_MARGIN_LEFT, y, f"{reference} · {PRODUCT_NAME}")
        canvas.drawRightString(_PAGE_WIDTH - _MARGIN_RIGHT, y, f"Halaman {doc.page}")
        y += 8.5 + 7.8 * len(statement_lines)  # drawn top-down, so the text reads in order
        if notice:
            canvas.setFont("Helvetica-Bold", 8)
            canvas.setFillColor(colors.red)
            canvas.drawString(_MARGIN_LEFT, y, notice.upper())
        canvas.setFont("Helvetica-Oblique", 7)
        canvas.setFillColor(colors.black)
        for line in statement_lines:
            y -= 7.8
            canvas.drawString(_MARGIN_LEFT, y, line)
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=(_PAGE_WIDTH, _PAGE_HEIGHT),
        leftMargin=_MARGIN_LEFT,
        rightMargin=_MARGIN_RIGHT,
        topMargin=_MARGIN_TOP,
        bottomMargin=_MARGIN_BOTTOM,
        title=title,
        author=f"{letterhead.office_name} {_region(letterhead)}",
        subject=title,
        creator=PRODUCT_NAME,
        producer=PRODUCT_NAME,
        lang="id-ID",
        invariant=1,
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
