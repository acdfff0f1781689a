"""The applicant's web pages (server-rendered, Bahasa Indonesia): account, apply, follow, revise, survey, track.

Every route is thin: parse the form, call one service, then render a template or redirect (303 after a
POST). Service errors (`DomainError` with `.field`) are shown next to the field they name. Pages need
no JavaScript except for uploads (silastri.js: presigned POST with a progress bar)."""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from chalice import Blueprint, Response
from chalice.app import Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from silastri.adapters import identity
from silastri.adapters.identity import AuthError, Principal
from silastri.domain import ikm, steps
from silastri.domain.catalog import Condition, PermitType, default_catalog
from silastri.domain.clock import format_date_id, format_datetime_wib, to_wib
from silastri.domain.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    NotFoundError,
    TooManyRequestsError,
    ValidationError,
)
from silastri.domain.models import Application, ApplicationStatus, DocumentState
from silastri.domain.payment import PROOF_REQUIREMENT
from silastri.domain.validation import identifier
from silastri.services import accounts, applications, payments, permits, sessions, sla, tracking
from silastri.settings import get_settings

applicant_pages = Blueprint(__name__)

_HERE = Path(__file__).parent
_FORM = ["application/x-www-form-urlencoded"]
_MAX_FIELDS = 60

# ----------------------------------------------------------------------------- wording (presentation only)

MESSAGES = {  # `?pesan=` codes shown after a redirect (never free text from the URL)
    "terdaftar": "Akun dibuat. Kode aktivasi 6 angka telah dikirim ke nomor WhatsApp Anda.",
    "kode-baru": "Kode aktivasi baru telah dikirim ke nomor WhatsApp Anda.",
    "aktif": "Akun Anda sudah aktif. Silakan masuk.",
    "keluar": "Anda telah keluar.",
    "kode-reset": "Jika email tersebut terdaftar dan aktif, kode 6 angka telah dikirim ke nomor WhatsApp akun.",
    "sandi-diubah": "Kata sandi telah diubah. Silakan masuk dengan kata sandi baru.",
    "perlu-masuk": "Silakan masuk terlebih dahulu.",
    "draf": "Draf permohonan dibuat. Unggah dokumen persyaratan, lalu kirim permohonan.",
    "terkirim": "Permohonan telah dikirim. Simpan nomor registrasi Anda.",
    "diperbaiki": "Berkas perbaikan telah dikirim ulang ke petugas.",
    "dibayar": "Bukti pembayaran telah dikirim; petugas akan memeriksanya.",
    "ditarik": "Permohonan telah ditarik.",
    "survei": "Terima kasih. Survei Kepuasan Masyarakat telah tercatat.",
    "kode-email": "Kode verifikasi 6 angka telah dikirim ke alamat email Anda. Kode berlaku 10 menit.",
    "email-terverifikasi": "Alamat email Anda telah terverifikasi. Pemberitahuan permohonan kini juga dikirim "
                           "ke email ini.",
}


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


WARNINGS = {  # `?pesan=` codes shown as a warning (the action succeeded, but something did not)
    "kode-tertunda": "Akun dibuat, tetapi " + accounts.CODE_NOT_SENT + ". Tekan Kirim ulang kode di bawah.",
    "kode-baru-tertunda": _sentence(accounts.CODE_NOT_SENT),
    "kode-email-tertunda": _sentence(accounts.EMAIL_CODE_NOT_SENT),
}

DOCUMENT_STATES = {"quarantined": "Sedang diperiksa", "accepted": "Diterima", "rejected": "Ditolak"}
STEP_STATES = {"done": "Selesai", "current": "Sedang berlangsung", "pending": "Menunggu"}

# PermenPAN-RB No. 14 Tahun 2017, lampiran: answer wording per element (score 1 → 4)
SKM_ANSWERS: dict[str, tuple[str, str, str, str]] = {
    "persyaratan": ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"),
    "prosedur": ("Tidak mudah", "Kurang mudah", "Mudah", "Sangat mudah"),
    "waktu": ("Tidak cepat", "Kurang cepat", "Cepat", "Sangat cepat"),
    "biaya": ("Sangat mahal", "Cukup mahal", "Murah", "Gratis"),
    "produk": ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"),
    "kompetensi": ("Tidak kompeten", "Kurang kompeten", "Kompeten", "Sangat kompeten"),
    "perilaku": ("Tidak sopan dan ramah", "Kurang sopan dan ramah", "Sopan dan ramah", "Sangat sopan dan ramah"),
    "pengaduan": ("Tidak ada", "Ada tetapi tidak berfungsi", "Berfungsi kurang maksimal", "Dikelola dengan baik"),
    "sarana": ("Buruk", "Cukup", "Baik", "Sangat baik"),
}
SKM_TITLES = {
    "persyaratan": "Persyaratan", "prosedur": "Sistem, mekanisme, dan prosedur", "waktu": "Waktu penyelesaian",
    "biaya": "Biaya/tarif", "produk": "Produk spesifikasi jenis pelayanan", "kompetensi": "Kompetensi pelaksana",
    "perilaku": "Perilaku pelaksana", "pengaduan": "Penanganan pengaduan, saran dan masukan",
    "sarana": "Sarana dan prasarana",
}

# page slug → (status_view download flag, Application attribute, file name stem, label)
DOWNLOADS = {
    "tanda-terima": ("receipt", "receipt_key", "tanda-terima", "Tanda Terima berkas"),
    "surat-izin": ("permit", "permit_key", "surat-izin", "Surat Izin (ditandatangani elektronik)"),
    "surat-penolakan": ("rejection_letter", "rejection_key", "surat-penolakan", "Surat penolakan"),
}

REGISTER_FIELDS = ("name", "email", "phone", "nik", "password", "password2")
RESET_FIELDS = ("email", "code", "new_password", "new_password2")


# ----------------------------------------------------------------------------- templates and static files

def _wib(value: str | datetime | None) -> str:
    if not value:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime_wib(moment)


def _duration(seconds: float | None) -> str:
    """`12 menit`, `2 jam 5 menit`, `3 hari 4 jam` (actual time beside the SOP standard)."""
    if seconds is None:
        return "—"
    minutes = int(seconds // 60)
    if minutes < 1:
        return "kurang dari 1 menit"
    if minutes < 60:
        return f"{minutes} menit"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} jam {minutes} menit" if minutes else f"{hours} jam"
    days, hours = divmod(hours, 24)
    return f"{days} hari {hours} jam" if hours else f"{days} hari"


def _role_name(role: str | None) -> str:
    return str(steps.ROLE_NAMES.get(role or "system", role or ""))


def _rupiah(amount: int) -> str:
    return "Gratis (Rp0)" if not amount else "Rp" + f"{amount:,}".replace(",", ".")


_env = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=True, undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)
_env.filters.update(wib=_wib, duration=_duration, role_name=_role_name, rupiah=_rupiah)

STATIC_TYPES = {"silastri.css": "text/css; charset=utf-8", "silastri.js": "text/javascript; charset=utf-8",
                "favicon.svg": "image/svg+xml"}


@lru_cache(maxsize=len(STATIC_TYPES))
def _static_body(name: str) -> str:
    return (_HERE / "static" / name).read_text("utf-8")


@lru_cache(maxsize=1)
def _static_version() -> str:
    digest = hashlib.sha256("".join(_static_body(n) for n in sorted(STATIC_TYPES)).encode())
    return digest.hexdigest()[:12]


# Same origin only, except the upload POST to the storage endpoint (presigned S3 URL; loopback locally).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self' https://*.amazonaws.com http://127.0.0.1:* http://localhost:*; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")

_SECURITY_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


# ----------------------------------------------------------------------------- request helpers

@dataclass
class Ctx:
    """What every page needs: the signed-in applicant (if any) and the CSRF token bound to the session."""

    who: Principal | None
    csrf: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    retry_after: int | None = None  # set when a rate limit refused the form: the page answers 429
    officer: bool = False  # an officer's session (not an applicant here): applicant-only pages send them to /petugas

    def throttled(self, exc: TooManyRequestsError) -> None:
        """Show a rate-limit refusal at the top of the form; the page is answered 429 with Retry-After."""
        self.errors = {"_form": exc.message[0].upper() + exc.message[1:] + "."}
        self.retry_after = exc.retry_after

    def require(self) -> Principal:
        if self.who is None and self.officer:
            raise _Redirect("/petugas?info=khusus-pemohon")
        if self.who is None:
            raise _Redirect("/masuk?" + urlencode({"lanjut": _path(), "pesan": "perlu-masuk"}))
        return self.who


class _Redirect(Exception):  # noqa: N818 - control flow, not an error
    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def _request() -> Request:
    return applicant_pages.current_request


def _headers() -> Mapping[str, str]:
    return _request().headers or {}


def _path() -> str:
    """The requested path, rebuilt from the route and its parameters (no API Gateway stage prefix)."""
    request = _request()
    path = str(request.path)
    for name, value in (request.uri_params or {}).items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    return path


def _query(name: str, default: str = "") -> str:
    params = _request().query_params
    return str(params.get(name, default)) if params else default


def _form() -> dict[str, str]:
    """The urlencoded body, first value per name."""
    raw = _request().raw_body or b""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        parsed = parse_qs(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS)
    except ValueError:
        raise ValidationError("formulir terlalu besar", field="body") from None
    return {name: values[0] for name, values in parsed.items()}


def _context() -> Ctx:
    who = sessions.principal_from_headers(_headers())
    if who is not None and steps.Role.APPLICANT.value not in who.roles:
        return Ctx(who=None, officer=bool(who.office_id))  # officers use their own workspace (/petugas)
    return Ctx(who=who, csrf=sessions.csrf_token(who) if who else "")


def client_address() -> str:
    """The browser's address as API Gateway (or the local server) saw it: the key of per-address limits."""
    context = _request().context or {}
    return str((context.get("identity") or {}).get("sourceIp") or "unknown")


def _check_csrf(ctx: Ctx, form: Mapping[str, str]) -> Principal:
    who = ctx.require()
    sessions.check_csrf(who, form.get("csrf") or None)
    return who


# A local path as this site writes them: printable ASCII without spaces, backslashes or control characters
# (browsers drop TAB/CR/LF inside URLs, so `/\t/host` would become `//host`; a newline cannot be a header).
_LOCAL_PATH = re.compile(r"/(?![/\\])[!#-\[\]-~]*")


def _safe_next(target: str) -> str:
    """Only local paths (no scheme, no `//host`, no control or space characters) are followed after login."""
    return target if _LOCAL_PATH.fullmatch(target or "") else "/permohonan"


def _field_errors(exc: DomainError, fields: Iterable[str]) -> dict[str, str]:
    """The error next to its field (`form.district` → `district`), otherwise at the top of the form."""
    name = (exc.field or "").removeprefix("form.")
    return {name if name in set(fields) else "_form": exc.message}


def _required(form: Mapping[str, str], labels: Mapping[str, str]) -> dict[str, str]:
    return {name: f"{label} wajib diisi" for name, label in labels.items() if not form.get(name, "").strip()}


def _render(template: str, ctx: Ctx, status: int = 200, **context: Any) -> Response:
    # the office the page speaks for (header and footer): the page's own (a permit's, /kantor/<office>), else
    # the deployment's default office
    context.setdefault("site_office", default_catalog().office(get_settings().default_office_id))
    body = _env.get_template(template).render(
        who=ctx.who, csrf=ctx.csrf, errors=ctx.errors, static_version=_static_version(),
        flash=MESSAGES.get(_query("pesan")), flash_warning=WARNINGS.get(_query("pesan")), **context)
    headers: dict[str, str | list[str]] = dict(_SECURITY_HEADERS)
    if ctx.retry_after:
        status = 429
        headers["Retry-After"] = str(ctx.retry_after)
    return Response(body=body, status_code=status, headers=headers)


def _see_other(location: str, cookie: str | None = None) -> Response:
    headers: dict[str, str | list[str]] = {"Location": location, "Cache-Control": "no-store",
                                           "Content-Type": "text/html; charset=utf-8"}
    if cookie:
        headers["Set-Cookie"] = cookie
    return Response(body="", status_code=303, headers=headers)


def page(view: Callable[..., Response]) -> Callable[..., Response]:
    """Resolve the session; turn redirects and not-found/forbidden errors into pages."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        ctx = _context()
        try:
            for name, value in kwargs.items():  # path parameters: ids and slugs only
                identifier(value, name)
            return view(ctx, *args, **kwargs)
        except _Redirect as redirect:
            return _see_other(redirect.location)
        except AuthError:
            return _see_other("/masuk?pesan=perlu-masuk", sessions.clear_cookie_header())
        except NotFoundError:
            return _render("galat.html", ctx, 404, title="Tidak ditemukan",
                           message="Halaman atau permohonan yang Anda cari tidak ditemukan.")
        except ForbiddenError as exc:
            return _render("galat.html", ctx, 403, title="Tidak diizinkan", message=exc.message)
        except DomainError as exc:
            return _render("galat.html", ctx, exc.status, title="Permintaan tidak dapat diproses", message=exc.message)

    return wrapper


# ----------------------------------------------------------------------------- static files

@applicant_pages.route("/static/{name}", methods=["GET"])
def static_file(name: str) -> Response:
    if name not in STATIC_TYPES:
        return Response(body="Tidak ditemukan", status_code=404, headers={"Content-Type": "text/plain; charset=utf-8"})
    immutable = _query("v") == _static_version()
    return Response(body=_static_body(name), status_code=200, headers={
        "Content-Type": STATIC_TYPES[name], "X-Content-Type-Options": "nosniff",
        "Cache-Control": "public, max-age=31536000, immutable" if immutable else "public, max-age=300"})


@applicant_pages.route("/favicon.ico", methods=["GET"])
def favicon() -> Response:
    """The site icon where browsers look for it by default (an SVG: the API serves text bodies only)."""
    return Response(body=_static_body("favicon.svg"), status_code=200, headers={
        "Content-Type": STATIC_TYPES["favicon.svg"], "X-Content-Type-Options": "nosniff",
        "Cache-Control": "public, max-age=86400"})


def not_found_page() -> Response:
    """The Bahasa 404 page for a path no route has (app.py's catch-all), in the site's look."""
    return _render("tidak_ditemukan.html", _context(), 404, title="Halaman tidak ditemukan")


def method_not_allowed_page(message: str, headers: dict[str, str], status: int = 405) -> Response:
    """The Bahasa page for a known path asked with a method it does not have (405; `headers` carry `Allow`) or
    with a body type it does not take (415)."""
    response = _render("metode_tidak_diizinkan.html", _context(), status, title="Permintaan tidak dapat diproses",
                       message=message)
    response.headers.update(headers)
    return response


# ----------------------------------------------------------------------------- accounts

@applicant_pages.route("/daftar", methods=["GET"])
@page
def register_page(ctx: Ctx) -> Response:
    return _render("daftar.html", ctx, title="Daftar akun", values={}, retype=False)


# Kept when the form comes back with errors: name, e-mail and WhatsApp number. Never sent back into the page:
# the NIK (personal data under UU PDP: not echoed into HTML that a shared or cached browser may keep) and the
# passwords (browsers and password managers fill them again; echoing them would put them in the page source).
REGISTER_KEPT = ("name", "email", "phone")
REGISTER_CHECKS: dict[str, Callable[[str], object]] = {
    "name": accounts.check_name, "email": accounts.check_email, "phone": accounts.normalise_phone,
    "nik": accounts.check_nik, "password": accounts.check_password}


def registration_errors(form: Mapping[str, str]) -> dict[str, str]:
    """Every field's mistake at once (empty, malformed, passwords not the same), in the form's order."""
    errors = _required(form, {"name": "Nama lengkap", "email": "Email", "phone": "Nomor WhatsApp",
                              "nik": "NIK", "password": "Kata sandi", "password2": "Ulangi kata sandi"})
    for name, check in REGISTER_CHECKS.items():
        if name not in errors:
            try:
                check(form[name])
            except DomainError as exc:
                errors[name] = exc.message[:1].upper() + exc.message[1:]
    if "password2" not in errors and form.get("password") != form.get("password2"):
        errors["password2"] = "Kata sandi dan ulangan kata sandi tidak sama"
    return {name: errors[name] for name in REGISTER_FIELDS if name in errors}


@applicant_pages.route("/daftar", methods=["POST"], content_types=_FORM)
@page
def register_submit(ctx: Ctx) -> Response:
    form = _form()
    ctx.errors = registration_errors(form)
    result: dict[str, Any] = {}
    if not ctx.errors:
        try:
            result = accounts.register(form["name"], form["email"], form["phone"], form["password"], form["nik"])
        except DomainError as exc:
            ctx.errors = _field_errors(exc, REGISTER_FIELDS)
    if ctx.errors:
        values = {k: v for k, v in form.items() if k in REGISTER_KEPT}
        return _render("daftar.html", ctx, 400, title="Daftar akun", values=values, retype=True)
    notice = "terdaftar" if result.get("code_sent") else "kode-tertunda"  # WhatsApp down: the account exists
    return _see_other("/aktivasi?" + urlencode({"email": form["email"].strip().lower(), "pesan": notice}))


@applicant_pages.route("/aktivasi", methods=["GET"])
@page
def activate_page(ctx: Ctx) -> Response:
    return _render("aktivasi.html", ctx, title="Aktivasi akun", values={"email": _query("email")})


@applicant_pages.route("/aktivasi", methods=["POST"], content_types=_FORM)
@page
def activate_submit(ctx: Ctx) -> Response:
    form = _form()
    ctx.errors = _required(form, {"email": "Email", "code": "Kode aktivasi"})
    if not ctx.errors:
        try:
            accounts.activate(form["email"], form["code"], client_address=client_address())
        except TooManyRequestsError as exc:
            ctx.throttled(exc)
        except DomainError as exc:
            ctx.errors = _field_errors(exc, ("email", "code"))
    if ctx.errors:
        return _render("aktivasi.html", ctx, 400, title="Aktivasi akun", values={"email": form.get("email", "")})
    return _see_other("/masuk?" + urlencode({"email": form["email"].strip().lower(), "pesan": "aktif"}))


@applicant_pages.route("/aktivasi/kirim-ulang", methods=["POST"], content_types=_FORM)
@page
def activate_resend(ctx: Ctx) -> Response:
    form = _form()
    ctx.errors = _required(form, {"email": "Email"})
    sent = False
    if not ctx.errors:
        try:
            sent = accounts.resend(form["email"], client_address=client_address())
        except TooManyRequestsError as exc:
            ctx.throttled(exc)
        except DomainError as exc:
            ctx.errors = _field_errors(exc, ("email",))
    if ctx.errors:
        return _render("aktivasi.html", ctx, 400, title="Aktivasi akun", values={"email": form.get("email", "")})
    return _see_other("/aktivasi?" + urlencode({"email": form["email"].strip().lower(),
                                                "pesan": "kode-baru" if sent else "kode-baru-tertunda"}))


def _officer_next(target: str) -> str:
    """Where an officer goes after login: the officer page they asked for, otherwise their dashboard."""
    target = _safe_next(target)
    return target if target == "/petugas" or target.startswith(("/petugas/", "/petugas?", "/ambil/", "/lokal/")) \
        else "/petugas"


@applicant_pages.route("/masuk", methods=["GET"])
@page
def login_page(ctx: Ctx) -> Response:
    if ctx.officer:  # already signed in as an officer
        return _see_other(_officer_next(_safe_next(_query("lanjut", "/petugas"))))
    if ctx.who is not None and not _query("pesan"):
        return _see_other(_safe_next(_query("lanjut", "/permohonan")))
    return _render("masuk.html", ctx, title="Masuk", values={"email": _query("email")},
                   next_path=_safe_next(_query("lanjut", "/permohonan")))


@applicant_pages.route("/masuk", methods=["POST"], content_types=_FORM)
@page
def login_submit(ctx: Ctx) -> Response:
    form = _form()
    next_path = _safe_next(form.get("lanjut", "/permohonan"))
    ctx.errors = _required(form, {"email": "Email", "password": "Kata sandi"})
    if not ctx.errors:
        try:
            tokens = accounts.login(form["email"], form["password"], client_address=client_address())
        except TooManyRequestsError as exc:
            ctx.throttled(exc)
        except AuthError as exc:
            ctx.errors = {"_form": exc.message}
        except DomainError as exc:
            ctx.errors = _field_errors(exc, ("email", "password"))
    if ctx.errors:
        return _render("masuk.html", ctx, 400 if "_form" not in ctx.errors else 401, title="Masuk",
                       values={"email": form.get("email", "")}, next_path=next_path)
    who = identity.verify_token(tokens["id_token"])
    if who.office_id and steps.Role.APPLICANT.value not in who.roles:  # officers land in their workspace
        next_path = _officer_next(next_path)
    return _see_other(next_path, sessions.set_cookie_header(tokens["id_token"], int(tokens["expires_in"])))


@applicant_pages.route("/keluar", methods=["POST"], content_types=_FORM)
@page
def logout(ctx: Ctx) -> Response:
    if ctx.who is not None:
        _check_csrf(ctx, _form())
    return _see_other("/masuk?pesan=keluar", sessions.clear_cookie_header())


@applicant_pages.route("/lupa-sandi", methods=["GET"])
@page
def forgot_page(ctx: Ctx) -> Response:
    return _render("lupa_sandi.html", ctx, title="Lupa kata sandi", values={"email": _query("email")})


@applicant_pages.route("/lupa-sandi", methods=["POST"], content_types=_FORM)
@page
def forgot_submit(ctx: Ctx) -> Response:
    form = _form()
    ctx.errors = _required(form, {"email": "Email"})
    if not ctx.errors:
        try:
            accounts.request_password_reset(form["email"], client_address=client_address())
        except TooManyRequestsError as exc:
            ctx.throttled(exc)
        except DomainError as exc:
            ctx.errors = _field_errors(exc, ("email",))
    if ctx.errors:
        return _render("lupa_sandi.html", ctx, 400, title="Lupa kata sandi", values={"email": form.get("email", "")})
    return _see_other("/atur-ulang-sandi?" + urlencode({"email": form["email"].strip().lower(), "pesan": "kode-reset"}))


@applicant_pages.route("/atur-ulang-sandi", methods=["GET"])
@page
def reset_page(ctx: Ctx) -> Response:
    return _render("atur_ulang_sandi.html", ctx, title="Atur ulang kata sandi", values={"email": _query("email")})


@applicant_pages.route("/atur-ulang-sandi", methods=["POST"], content_types=_FORM)
@page
def reset_submit(ctx: Ctx) -> Response:
    form = _form()
    ctx.errors = _required(form, {"email": "Email", "code": "Kode", "new_password": "Kata sandi baru",
                                  "new_password2": "Ulangi kata sandi baru"})
    if not ctx.errors and form["new_password"] != form["new_password2"]:
        ctx.errors["new_password2"] = "Kata sandi baru dan ulangannya tidak sama"
    if not ctx.errors:
        try:
            accounts.reset_password(form["email"], form["code"], form["new_password"], client_address=client_address())
        except TooManyRequestsError as exc:
            ctx.throttled(exc)
        except DomainError as exc:
            ctx.errors = _field_errors(exc, RESET_FIELDS)
    if ctx.errors:
        return _render("atur_ulang_sandi.html", ctx, 400, title="Atur ulang kata sandi",
                       values={"email": form.get("email", ""), "code": form.get("code", "")})
    return _see_other("/masuk?" + urlencode({"email": form["email"].strip().lower(), "pesan": "sandi-diubah"}))


# ----------------------------------------------------------------------------- my account (e-mail verification)

def _account(ctx: Ctx, status: int = 200) -> Response:
    who = ctx.require()
    return _render("akun.html", ctx, status, title="Akun saya", account=accounts.account_view(who), values={})


@applicant_pages.route("/akun", methods=["GET"])
@page
def account_page(ctx: Ctx) -> Response:
    return _account(ctx)


@applicant_pages.route("/akun/email/kode", methods=["POST"], content_types=_FORM)
@page
def email_code_submit(ctx: Ctx) -> Response:
    """Send the e-mail verification code; back to the account page (a warning if e-mail is down)."""
    who = _check_csrf(ctx, _form())
    try:
        sent = accounts.send_email_code(who, client_address=client_address())
    except TooManyRequestsError as exc:
        ctx.throttled(exc)
        return _account(ctx)
    except (NotFoundError, ForbiddenError):
        raise
    except DomainError as exc:
        ctx.errors = {"_form": _sentence(exc.message)}
        return _account(ctx, exc.status)
    return _see_other("/akun?pesan=" + ("kode-email" if sent else "kode-email-tertunda"))


@applicant_pages.route("/akun/email/verifikasi", methods=["POST"], content_types=_FORM)
@page
def email_verify_submit(ctx: Ctx) -> Response:
    """Check the e-mail code: the address is verified, or the error is shown next to the code field."""
    form = _form()
    who = _check_csrf(ctx, form)
    ctx.errors = _required(form, {"code": "Kode verifikasi"})
    if not ctx.errors:
        try:
            accounts.verify_email(who, form["code"], client_address=client_address())
        except TooManyRequestsError as exc:
            ctx.throttled(exc)
        except (NotFoundError, ForbiddenError):
            raise
        except DomainError as exc:
            ctx.errors = _field_errors(exc, ("code",))
    if ctx.errors:
        return _account(ctx, 400)
    return _see_other("/akun?pesan=email-terverifikasi")


# ----------------------------------------------------------------------------- catalog and new application

def _office_id() -> str:
    return get_settings().default_office_id


def service_standard(permit_type: PermitType) -> list[dict[str, Any]]:
    """The SOP steps this permit type goes through, with the role and the standard time of each (the type's
    own standard times first); the technical review is skipped, or taken only when a form answer says so."""
    recommendation = permit_type.stages.technical_recommendation
    rows = []
    for s in steps.STEPS.values():
        if s.step_id in (steps.StepId.REVISION, steps.StepId.REJECTION_SIGNING):
            continue
        technical = s.step_id == steps.StepId.TECHNICAL_REVIEW
        condition = recommendation.when if technical and recommendation.mode == "when" else None
        rows.append({"sop_number": s.sop_number, "title": s.title, "role": s.role.value if s.role else "system",
                     "standard_time": sla.standard_label(permit_type, s.step_id.value),
                     "skipped": technical and recommendation.mode == "never",
                     "only_when": _condition_text(permit_type, condition) if condition else None})
    return rows


def _condition_text(permit_type: PermitType, condition: Condition) -> str:
    """`Tempat praktik: Praktik mandiri` — a catalog condition in the form's own words."""
    label = next((f.label for f in permit_type.form_fields if f.field == condition.field), condition.field)
    return f"{label}: {' atau '.join(condition.values())}"


def requirement_rules(permit_type: PermitType) -> dict[str, str]:
    """Per requirement that is not always needed: `opsional` or `wajib bila <field>: <answer>`."""
    rules = {}
    for requirement in permit_type.requirements:
        if requirement.optional:
            rules[requirement.requirement_id] = "opsional"
        elif requirement.required_when:
            rules[requirement.requirement_id] = f"wajib bila {_condition_text(permit_type, requirement.required_when)}"
    return rules


@applicant_pages.route("/ajukan", methods=["GET"])
@page
def catalog_page(ctx: Ctx) -> Response:
    catalog = default_catalog()
    offered = catalog.offered(_office_id())
    return _render("ajukan.html", ctx, title="Ajukan izin", office=catalog.office(_office_id()),
                   permit_types=[(t, service_standard(t), requirement_rules(t)) for t in offered])


@applicant_pages.route("/ajukan/{permit_type}", methods=["GET"])
@page
def apply_page(ctx: Ctx, permit_type: str) -> Response:
    definition = default_catalog().permit_type(_office_id(), permit_type)
    ctx.require()
    return _render("ajukan_formulir.html", ctx, title=definition.name, permit_type=definition, values={})


@applicant_pages.route("/ajukan/{permit_type}", methods=["POST"], content_types=_FORM)
@page
def apply_submit(ctx: Ctx, permit_type: str) -> Response:
    definition = default_catalog().permit_type(_office_id(), permit_type)
    form = _form()
    who = _check_csrf(ctx, form)
    values = {f.field: form.get(f.field, "") for f in definition.form_fields}
    ctx.errors = _required(values, {f.field: f.label for f in definition.form_fields if f.required})
    if not ctx.errors:
        try:
            created = applications.create_draft(who, permit_type, {k: v for k, v in values.items() if v.strip()})
        except DomainError as exc:
            ctx.errors = _field_errors(exc, values)
    if ctx.errors:
        return _render("ajukan_formulir.html", ctx, 400, title=definition.name, permit_type=definition, values=values)
    return _see_other(f"/permohonan/{quote(created.application_id)}?pesan=draf")


# ----------------------------------------------------------------------------- my applications

@applicant_pages.route("/permohonan", methods=["GET"])
@page
def my_applications(ctx: Ctx) -> Response:
    who = ctx.require()
    after = _query("setelah")
    try:
        listed = applications.list_page(who, applications.LIST_PAGE_SIZE, after or None)
    except ValidationError:  # a stale or edited page link: start from the newest
        listed = applications.list_page(who, applications.LIST_PAGE_SIZE)
    rows = [{"view": view, "name": view["permit_type_name"], "holder_label": _holder_label_of(view)}
            for view in listed["applications"]]
    return _render("permohonan_daftar.html", ctx, title="Permohonan saya", rows=rows, next_page=listed["next"],
                   first_page=not after, status_labels=tracking.STATUS_LABELS)


HOLDER_LABELS = {"organisation": "Organisasi", "business": "Nama usaha", "practitioner": "Atas nama",
                 "person": "Atas nama"}


def _holder_label_of(view: dict[str, Any]) -> str:
    """How the list names the permit's holder (a `list_view`): the organisation, the business, or the person."""
    try:
        subject = default_catalog().permit_type(view["office_id"], view["permit_type"]).subject
    except NotFoundError:  # a type the office no longer offers
        subject = "person"
    return HOLDER_LABELS[subject]


def _requirement_rows(app: Application, view: dict[str, Any], definition: PermitType) -> list[dict[str, Any]]:
    """Per requirement: the current accepted file, every uploaded file with its state, the officer's note."""
    current = app.current_documents()
    rows = []
    for requirement in definition.requirements:
        files = sorted((d for d in view["documents"] if d["requirement_id"] == requirement.requirement_id),
                       key=lambda d: d["uploaded_at"], reverse=True)
        rows.append({"requirement": requirement, "current": current.get(requirement.requirement_id),
                     "files": files, "note": view["revision_notes"].get(requirement.requirement_id)})
    return rows


def _detail(ctx: Ctx, application_id: str, status: int = 200) -> Response:
    who = ctx.require()
    app = applications.owned(who, application_id)
    view = applications.status_view(app)
    definition = default_catalog().permit_type(app.office_id, app.permit_type)
    pickup_qr = None
    if app.status == ApplicationStatus.ISSUED and app.registration_number:
        from silastri.services.qr import qr_svg  # only when a permit waits for pickup

        pickup_url = f"{get_settings().public_base_url.rstrip('/')}/ambil/{quote(app.registration_number)}"
        pickup_qr = Markup(qr_svg(pickup_url))  # noqa: S704 - SVG generated by our own QR service
    notes = [e for e in view["timeline"] if e.get("note") and e.get("actor_role") != steps.Role.APPLICANT.value]
    return _render(
        "permohonan_detail.html", ctx, status, title=definition.name, app=app, view=view, definition=definition,
        status_label=tracking.STATUS_LABELS.get(view["status"], view["status"]),
        requirements=_requirement_rows(app, view, definition), requirement_rules=requirement_rules(definition),
        missing=_names(definition, app.missing_requirements(definition)),
        uploadable=app.status in (ApplicationStatus.DRAFT, ApplicationStatus.AWAITING_REVISION),
        withdrawable=(app.status in (ApplicationStatus.DRAFT, ApplicationStatus.IN_PROGRESS,
                                     ApplicationStatus.AWAITING_REVISION) and not app.permit_number),
        downloads=[(slug, label) for slug, (flag, _, _, label) in DOWNLOADS.items() if view["downloads"][flag]],
        notes=notes, step_titles={s.step_id.value: s.title for s in steps.STEPS.values()},
        document_states=DOCUMENT_STATES, step_states=STEP_STATES, pickup_qr=pickup_qr,
        submit_key=uuid.uuid4().hex, max_mb=get_settings().upload_max_bytes // (1024 * 1024),
        max_bytes=get_settings().upload_max_bytes)


@applicant_pages.route("/permohonan/{application_id}", methods=["GET"])
@page
def application_page(ctx: Ctx, application_id: str) -> Response:
    return _detail(ctx, application_id)


def _names(definition: PermitType, requirement_ids: Iterable[str]) -> list[str]:
    wanted = set(requirement_ids)
    return [r.name for r in definition.requirements if r.requirement_id in wanted]


def _action(ctx: Ctx, application_id: str, act: Callable[[Principal, dict[str, str]], object], done: str,
            error_field: str, wording: Mapping[str, str] | None = None) -> Response:
    """A state-changing button on the detail page: CSRF, one service call, back to the page.
    A refusal is shown in the page's own words when its field is known (`wording`), else as the service says."""
    form = _form()
    who = _check_csrf(ctx, form)
    try:
        act(who, form)
    except (NotFoundError, ForbiddenError):
        raise
    except DomainError as exc:
        ctx.errors = {error_field: (wording or {}).get(exc.field or "", exc.message)}
        return _detail(ctx, application_id, exc.status)
    return _see_other(f"/permohonan/{quote(application_id)}?pesan={done}")


@applicant_pages.route("/permohonan/{application_id}/kirim", methods=["POST"], content_types=_FORM)
@page
def submit_application(ctx: Ctx, application_id: str) -> Response:
    return _action(ctx, application_id,
                   lambda who, form: applications.submit(who, application_id, form.get("kunci") or None),
                   "terkirim", "documents",
                   {"documents": "Permohonan belum dapat dikirim: unggah setiap dokumen persyaratan sampai "
                                 "berstatus Diterima."})


@applicant_pages.route("/permohonan/{application_id}/kirim-ulang", methods=["POST"], content_types=_FORM)
@page
def resubmit_application(ctx: Ctx, application_id: str) -> Response:
    return _action(ctx, application_id, lambda who, form: applications.resubmit(who, application_id),
                   "diperbaiki", "documents",
                   {"documents": "Berkas belum dapat dikirim ulang: unggah pengganti untuk setiap dokumen yang "
                                 "diberi catatan petugas."})


@applicant_pages.route("/permohonan/{application_id}/bayar", methods=["POST"], content_types=_FORM)
@page
def pay_application(ctx: Ctx, application_id: str) -> Response:
    """The applicant sends the newest accepted payment proof (issue 10)."""
    def pay(who: Principal, form: dict[str, str]) -> object:
        app = applications.owned(who, application_id)
        proofs = sorted((d for d in app.documents if d.requirement_id == PROOF_REQUIREMENT
                         and d.state == DocumentState.ACCEPTED), key=lambda d: d.uploaded_at)
        return payments.submit_payment(who, application_id, proofs[-1].upload_id if proofs else None)

    return _action(ctx, application_id, pay, "dibayar", "payment",
                   {"upload_id": "Unggah bukti pembayaran (PDF) sampai berstatus Diterima, lalu kirim lagi."})


@applicant_pages.route("/permohonan/{application_id}/tarik", methods=["POST"], content_types=_FORM)
@page
def withdraw_application(ctx: Ctx, application_id: str) -> Response:
    return _action(ctx, application_id,
                   lambda who, form: applications.withdraw(who, application_id, form.get("alasan", "").strip() or None),
                   "ditarik", "withdraw")


@applicant_pages.route("/permohonan/{application_id}/unduh/{slug}", methods=["GET"])
@page
def download(ctx: Ctx, application_id: str, slug: str) -> Response:
    """A short-lived link to an issued document of the applicant's own application."""
    if slug not in DOWNLOADS:
        raise NotFoundError("dokumen tidak dikenal", field="kind")
    kind = DOWNLOADS[slug][0].replace("_", "-")
    url = applications.document_link(ctx.require(), application_id, kind)["url"]
    return Response(body="", status_code=302, headers={"Location": url, "Cache-Control": "no-store",
                                                       "Content-Type": "text/html; charset=utf-8"})


# ----------------------------------------------------------------------------- survey (SKM)

def _survey(ctx: Ctx, application_id: str, status: int = 200, values: Mapping[str, str] | None = None) -> Response:
    who = ctx.require()
    app = applications.owned(who, application_id)
    definition = default_catalog().permit_type(app.office_id, app.permit_type)
    is_open = app.status in (ApplicationStatus.ISSUED, ApplicationStatus.COMPLETED)
    elements = [{"id": element, "question": question, "title": SKM_TITLES[element],
                 "answers": list(enumerate(SKM_ANSWERS[element], start=1))} for element, question in ikm.ELEMENTS]
    return _render("survei.html", ctx, status, title="Survei Kepuasan Masyarakat", app=app, definition=definition,
                   elements=elements, is_open=is_open, values=values or {})


@applicant_pages.route("/permohonan/{application_id}/survei", methods=["GET"])
@page
def survey_page(ctx: Ctx, application_id: str) -> Response:
    return _survey(ctx, application_id)


@applicant_pages.route("/permohonan/{application_id}/survei", methods=["POST"], content_types=_FORM)
@page
def survey_submit(ctx: Ctx, application_id: str) -> Response:
    form = _form()
    who = _check_csrf(ctx, form)
    scores = {e: int(form[e]) for e in ikm.ELEMENT_IDS if form.get(e) in ("1", "2", "3", "4")}
    ctx.errors = {e: "Pilih salah satu jawaban" for e in ikm.ELEMENT_IDS if e not in scores}
    if len(form.get("komentar", "")) > 1000:
        ctx.errors["komentar"] = "Saran dan masukan maksimal 1000 karakter"
    if not ctx.errors:
        try:
            applications.fill_survey(who, application_id,
                                     {"scores": scores, "comment": form.get("komentar", "").strip() or None})
        except ConflictError:
            ctx.errors = {"_form": _survey_refusal(who, application_id)}
            return _survey(ctx, application_id, 409, form)
        except (NotFoundError, ForbiddenError):
            raise
        except DomainError as exc:
            ctx.errors = {"_form": exc.message}
    if ctx.errors:
        return _survey(ctx, application_id, 400, form)
    return _see_other(f"/permohonan/{quote(application_id)}?pesan=survei")


def _survey_refusal(who: Principal, application_id: str) -> str:
    if applications.owned(who, application_id).survey_done:
        return "Survei untuk permohonan ini sudah pernah diisi. Setiap permohonan hanya dapat dinilai satu kali."
    return "Survei dapat diisi setelah izin ditandatangani dan siap diambil."


# ----------------------------------------------------------------------------- public verification (QR code)

VERIFICATION_REASONS = {  # permits.verify reasons, in the public's words
    "no-signature": "Berkas izin tidak memuat tanda tangan elektronik.",
    "digest-mismatch": "Isi berkas berubah setelah ditandatangani.",
    "signature-invalid": "Tanda tangan elektronik tidak valid.",
    "untrusted-signer": "Sertifikat penanda tangan tidak diterbitkan oleh penyelenggara sertifikasi yang diakui.",
    "not-whole-file": "Tanda tangan tidak mencakup seluruh berkas.",
    "malformed": "Berkas izin rusak atau tidak dapat dibaca.",
    "timestamp-invalid": "Stempel waktu tanda tangan tidak valid.",
    "hash-mismatch": "Berkas tersimpan tidak sama dengan berkas yang tercatat saat izin diterbitkan.",
    "revoked": "Izin telah dicabut oleh penerbitnya.",
}


def _date_id(value: str | None) -> str | None:
    return format_date_id(to_wib(datetime.fromisoformat(value)).date()) if value else None


def verification_view(result: dict[str, Any]) -> dict[str, Any]:
    """What the verification page shows of `permits.verify`: the verdict (`sah`, `kedaluwarsa`: genuine but past
    its validity, `tidak-sah`, `dicabut`), the
    issuing office, dates in Indonesian (WIB) and the reasons in Bahasa."""
    verdict = "dicabut" if result["revoked"] else ("sah" if result["valid"] else "tidak-sah")
    catalog = default_catalog()
    try:
        office = catalog.office(result["office_id"])
        issuer = f"{office.name} {office.regency}"
    except NotFoundError:
        issuer = "—"
    valid_until = result.get("valid_until")
    expired = valid_until is not None and datetime.fromisoformat(valid_until) < datetime.now(UTC)
    if verdict == "sah" and expired:  # genuine, but no longer in force: never a green "SAH"
        verdict = "kedaluwarsa"
    timestamp = None
    if result.get("timestamp_at"):
        timestamp = {"at": _wib(result["timestamp_at"]), "valid": bool(result.get("timestamp_valid")),
                     "authority": result.get("timestamp_authority") or "otoritas tidak dikenal"}
    return {
        "verdict": verdict, "permit_number": result["permit_number"], "holder_name": result["holder_name"],
        "permit_type": result["permit_type"], "issuer": issuer, "issued_on": _date_id(result.get("issued_at")),
        "valid_until": _date_id(valid_until), "expired": expired,
        "signer": f"{result['signer_name']}, {result['signer_title']}", "timestamp": timestamp,
        "checked_at": _wib(result.get("checked_at")),
        "reasons": [VERIFICATION_REASONS.get(r, "Pemeriksaan tidak berhasil.")
                    for r in result.get("reasons", []) if not (verdict == "dicabut" and r == "revoked")],
    }


@applicant_pages.route("/verifikasi/{permit_id}", methods=["GET"])
@page
def verification_page(ctx: Ctx, permit_id: str) -> Response:
    """What a permit's QR code opens: is this permit genuine, in force, and who issued it."""
    try:
        result = permits.verify(permit_id)
    except NotFoundError:
        return _render("verifikasi.html", ctx, 404, title="Verifikasi izin", permit=None)
    try:
        office = default_catalog().office(str(result.get("office_id") or ""))
    except NotFoundError:  # an office no longer in the catalog: the default frame
        office = None
    extra: dict[str, Any] = {"site_office": office} if office else {}
    return _render("verifikasi.html", ctx, title="Verifikasi izin", permit=verification_view(result), **extra)


# ----------------------------------------------------------------------------- public tracking

@applicant_pages.route("/lacak", methods=["GET"])
@page
def track_page(ctx: Ctx) -> Response:
    return _render("lacak.html", ctx, title="Lacak permohonan", values={}, result=None, step_states=STEP_STATES)


@applicant_pages.route("/lacak", methods=["POST"], content_types=_FORM)
@page
def track_submit(ctx: Ctx) -> Response:
    form = _form()
    values = {"registration_number": form.get("registration_number", "").strip(),
              "phone": form.get("phone", "").strip()}
    ctx.errors = _required(values, {"registration_number": "Nomor registrasi", "phone": "Nomor WhatsApp pemohon"})
    result = None
    if not ctx.errors:
        try:
            result = tracking.public_status(values["registration_number"], values["phone"],
                                            client_address=client_address())
        except NotFoundError:
            ctx.errors = {"_form": "Permohonan tidak ditemukan. Periksa kembali nomor registrasi dan nomor "
                                   "WhatsApp yang Anda daftarkan."}
        except TooManyRequestsError as exc:
            ctx.throttled(exc)
        except DomainError as exc:
            ctx.errors = _field_errors(exc, values)
    status = 200 if result else (404 if "_form" in ctx.errors else 400)
    return _render("lacak.html", ctx, status, title="Lacak permohonan", values=values, result=result,
                   step_states=STEP_STATES)
