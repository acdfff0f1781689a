"""The officers' workspace (server-rendered, Bahasa Indonesia): queue, task pages, batch signing, counter, revocation.

Reuses the applicant pages' framework read-only (templates, `_render`, CSRF, security headers). Every route is
thin: resolve the officer's session, call one service, render or redirect (303 after a POST).

A GET never decides or changes anything: link-preview bots open the task links sent by WhatsApp and e-mail.
A signed link (`?l=`) is checked before anything else; a tampered or expired one is refused (403)."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from chalice import Blueprint, Response
from silastri.adapters import dynamo, messaging, storage
from silastri.adapters.identity import AuthError, Principal
from silastri.domain import steps
from silastri.domain.catalog import PermitType, default_catalog
from silastri.domain.clock import format_date_id, format_datetime_wib, now_utc, to_wib
from silastri.domain.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
)
from silastri.domain.validation import clean_text, copies, identifier
from silastri.services import (
    applications,
    links,
    messages_view,
    officer_search,
    permits,
    sessions,
    signing,
    tasks,
)
from silastri.settings import get_settings

from chalicelib.pages import (
    CONTENT_SECURITY_POLICY,
    Ctx,
    _check_csrf,
    _duration,
    _form,
    _headers,
    _path,
    _query,
    _Redirect,
    _render,
    _request,
    _role_name,
    _see_other,
    client_address,
)

officer_pages = Blueprint(__name__)

_HERE = Path(__file__).parent
_FORM = ["application/x-www-form-urlencoded"]
_OFFICER_ROLES = frozenset(r.value for r in steps.OFFICER_ROLES)
_ROLE_ORDER = [r.value for r in steps.OFFICER_ROLES]

# ----------------------------------------------------------------------------- wording (presentation only)

NOTICES = {  # `?info=` codes shown after a redirect (never free text from the URL)
    "diputuskan": "Keputusan Anda telah tercatat.",  # the task page says where the file went (decision_notice)
    "diserahkan": "Izin telah diserahkan kepada pemohon. Permohonan selesai.",
    "dicabut": "Izin telah dicabut. Halaman verifikasi publik kini menyatakan izin ini TIDAK SAH.",
    "khusus-pemohon": "Halaman yang Anda buka khusus untuk pemohon. Anda masuk sebagai petugas, jadi Anda dibawa ke "
                      "Dasbor petugas. Untuk mencari permohonan, pakai menu Cari permohonan.",
}
WARNING_NOTICES = frozenset({"khusus-pemohon"})

# The banner after a decision says where the file went: by outcome, with a step's own wording where it differs.
# Every officer step's outcomes are covered (tests/unit check it); "forwarded" is the default only for
# outcomes that do move the file on.
_DECIDED = "Keputusan Anda telah tercatat"
_BACK_TO_APPLICANT = (f"{_DECIDED}: berkas dikembalikan kepada pemohon untuk diperbaiki. Pemohon diberi tahu "
                      "catatan Anda; permohonan menunggu perbaikan dari pemohon dan kembali ke antrean setelah "
                      "berkas dikirim ulang.")
DECISION_NOTICES: dict[tuple[str | None, str], str] = {
    (None, "incomplete"): _BACK_TO_APPLICANT,
    (None, "revision"): _BACK_TO_APPLICANT,
    (None, "returned"): f"{_DECIDED}: permohonan dikembalikan ke tahap sebelumnya beserta catatan Anda.",
    (None, "not_recommend"): f"{_DECIDED}: tidak direkomendasikan. Surat penolakan disiapkan untuk ditandatangani "
                             "Kepala Dinas.",
    (None, "rejected"): f"{_DECIDED}: permohonan ditolak. Surat penolakan disiapkan untuk ditandatangani Kepala Dinas.",
    (None, "proof_rejected"): f"{_DECIDED}: bukti pembayaran ditolak dan permohonan dikembalikan kepada pemohon "
                              "untuk mengirim bukti yang benar.",
    (None, "handed_over"): "Izin telah diserahkan kepada pemohon. Permohonan selesai.",
    ("completeness_check", "complete"): f"{_DECIDED}: berkas lengkap, tanda terima diterbitkan, dan permohonan "
                                        "diteruskan ke tahap berikutnya.",
    ("signing", "signed"): f"{_DECIDED}: izin telah ditandatangani secara elektronik dan diteruskan ke Back Office "
                           "untuk dicetak.",
    ("rejection_signing", "signed"): f"{_DECIDED}: surat penolakan telah ditandatangani; permohonan ditutup sebagai "
                                     "ditolak dan pemohon diberi tahu.",
    ("printing", "printed"): f"{_DECIDED}: izin tercatat sudah dicetak dan menunggu diambil pemohon di loket.",
    ("numbering", "confirmed"): f"{_DECIDED}: nomor izin ditetapkan dan izin diteruskan ke Kepala Dinas untuk "
                                "ditandatangani.",
}
FORWARDED = f"{_DECIDED} dan permohonan diteruskan ke tahap berikutnya."


def decision_notice(step_id: str, outcome: str | None, settled: Mapping[str, Any] | None = None) -> str:
    """The banner after a decision at `step_id` with `outcome` (where the file went); with what the decision
    `settled` (numbering: the number assigned, and the one shown when another file took it first)."""
    outcome = outcome or ""
    text = DECISION_NOTICES.get((step_id, outcome)) or DECISION_NOTICES.get((None, outcome)) or FORWARDED
    if settled and settled.get("number") and settled.get("proposed_number"):
        text += (f" Nomor {settled['proposed_number']} yang ditampilkan sudah dipakai permohonan lain; berkas ini "
                 f"mendapat nomor berikutnya: {settled['number']}.")
    elif settled and settled.get("number"):
        text += f" Nomor izin: {settled['number']}."
    return text


ACTIONS = {
    "submitted": "Permohonan dikirim", "done": "Selesai", "task_opened": "Tugas dibuka",
    "decided": "Keputusan", "revision_requested": "Perbaikan berkas diminta",
    "receipt_issued": "Tanda terima diterbitkan", "returned": "Dikembalikan ke tahap sebelumnya",
    "number_proposed": "Nomor izin diusulkan", "rejection_drafted": "Surat penolakan disiapkan",
    "survey_filled": "SKM diisi oleh pemohon", "withdrawn": "Permohonan ditarik", "failed": "Gagal diproses",
    "completed": "Permohonan selesai", "rejected": "Permohonan ditolak", "lapsed": "Permohonan gugur",
    "run_ended": "Alur kerja berhenti — tugas terbuka ditutup", "run_continued": "Alur kerja dilanjutkan oleh operator",
    "signing_attempt": "Percobaan tanda tangan BSrE", "signing_outcome_unknown": "Hasil tanda tangan BSrE TIDAK DIKETAHUI",
    "signing_rejected": "Tanda tangan ditolak BSrE", "signing_unavailable": "Layanan BSrE tidak dapat dihubungi",
    "signing_failed": "Tanda tangan BSrE gagal",
    "decision_void": "Keputusan tidak berlaku (alur kerja sudah tidak menunggu)",
    "decision_released": "Keputusan tidak selesai diproses — tugas dibuka kembali",
    "sla_breached": "Melewati waktu standar — dieskalasi",
}

APPLICATION_STATES = {
    "draft": "Draf", "in_progress": "Sedang diproses", "awaiting_revision": "Menunggu perbaikan pemohon",
    "issued": "Izin ditandatangani — siap diambil", "completed": "Selesai — izin telah diambil",
    "rejected": "Ditolak", "withdrawn": "Ditarik", "lapsed": "Gugur", "failed": "Gagal diproses — menunggu operator melanjutkan",
    "stopped": "Alur kerja dihentikan — menunggu operator melanjutkan",
}

FILE_LABELS = {  # file kind (as in the JSON API) → label
    "receipt": "Tanda Terima", "technical-recommendation": "Rekomendasi Teknis", "permit-draft": "Draf surat izin",
    "permit": "Surat izin bertanda tangan elektronik (siap cetak)", "rejection-letter": "Surat penolakan",
}

STATIC_TYPES = {"petugas.css": "text/css; charset=utf-8", "petugas.js": "text/javascript; charset=utf-8"}
INBOX_SHOWN = 10  # latest inbox messages on the dashboard

# Documents are viewed inline from the storage endpoint (presigned URL): the same sources the applicant
# pages allow for uploads (S3 on AWS, the loopback emulator locally), for frames only.
_FRAME_SOURCES = "frame-src 'self' https://*.amazonaws.com http://127.0.0.1:* http://localhost:*"
TASK_PAGE_CSP = CONTENT_SECURITY_POLICY.replace("default-src 'self';", f"default-src 'self'; {_FRAME_SOURCES};", 1)


def _outcome_labels() -> dict[tuple[str, str], str]:
    return {(s.step_id.value, o.outcome): o.label for s in steps.STEPS.values() for o in s.outcomes}


OUTCOME_LABELS = _outcome_labels()
STEP_TITLES = {s.step_id.value: s.title for s in steps.STEPS.values()} | {"closed": "Penutupan permohonan"}


# ----------------------------------------------------------------------------- static file

@lru_cache(maxsize=len(STATIC_TYPES))
def _static_body(name: str) -> str:
    return (_HERE / "static" / name).read_text("utf-8")


@lru_cache(maxsize=len(STATIC_TYPES))
def _static_version(name: str = "petugas.css") -> str:
    return hashlib.sha256(_static_body(name).encode()).hexdigest()[:12]


@officer_pages.route("/static-petugas/{name}", methods=["GET"])
def static_file(name: str) -> Response:
    if name not in STATIC_TYPES:
        return Response(body="Tidak ditemukan", status_code=404, headers={"Content-Type": "text/plain; charset=utf-8"})
    immutable = _query("v") == _static_version(name)
    return Response(body=_static_body(name), status_code=200, headers={
        "Content-Type": STATIC_TYPES[name], "X-Content-Type-Options": "nosniff",
        "Cache-Control": "public, max-age=31536000, immutable" if immutable else "public, max-age=300"})


# ----------------------------------------------------------------------------- session, errors, rendering

def _full_path() -> str:
    """The requested path with its query string (a signed link's `l` survives the login)."""
    params = _request().query_params
    query = urlencode({k: str(v) for k, v in params.items()}) if params else ""
    return _path() + (f"?{query}" if query else "")


def _login_redirect(target: str) -> _Redirect:
    return _Redirect("/masuk?" + urlencode({"lanjut": target, "pesan": "perlu-masuk"}))


def _officer(ctx: Ctx, role: str | None = None) -> Principal:
    """The signed-in officer (optionally holding `role`); otherwise login (no session) or 403 (applicants)."""
    if ctx.who is None:
        raise _login_redirect(_full_path())
    if not ctx.who.roles & _OFFICER_ROLES or not ctx.who.office_id:
        raise ForbiddenError("Halaman ini khusus untuk petugas DPMPTSP. Pemohon dapat mengikuti permohonannya di "
                             "halaman Permohonan saya.", field="officers")
    if role and role not in ctx.who.roles:
        raise ForbiddenError(f"Halaman ini khusus untuk {_role_name(role)}.", field="role")
    return ctx.who


def _officer_info(who: Principal | None) -> dict[str, Any] | None:
    """The role badge: name, role names (Plt. for an acting head), which menus apply."""
    if who is None or not who.roles & _OFFICER_ROLES:
        return None
    roles = [r for r in _ROLE_ORDER if r in who.roles]
    names = [("Plt. " if who.acting and r == "head" else "") + _role_name(r) for r in roles]
    return {"name": who.name or who.email or "", "roles": roles, "role_names": names, "acting": who.acting,
            "head": "head" in who.roles, "back_office": "back_office" in who.roles}


def _office_name(who: Principal | None) -> str:
    if who is None or not who.office_id:
        return ""
    try:
        return default_catalog().office(who.office_id).short_name
    except DomainError:
        return ""


def _page_render(template: str, ctx: Ctx, status: int = 200, csp: str | None = None, notice: str | None = None,
                 **context: Any) -> Response:
    info = _query("info")
    response = _render(template, ctx, status, officer=_officer_info(ctx.who), petugas_css=_static_version(),
                       petugas_js=_static_version("petugas.js"), office_name=_office_name(ctx.who),
                       notice=notice or NOTICES.get(info), notice_warning=info in WARNING_NOTICES and not notice,
                       **context)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    if csp:
        response.headers["Content-Security-Policy"] = csp
    return response


def _error_page(ctx: Ctx, status: int, title: str, message: str) -> Response:
    return _page_render("petugas_galat.html", ctx, status, title=title, message=message)


def _sentence(message: str) -> str:
    """Service messages are short lower-case phrases in Bahasa Indonesia; pages show them as sentences."""
    message = message.strip()
    if not message:
        return message
    return message[0].upper() + message[1:] + ("" if message.endswith((".", "!", "?")) else ".")


def officer_page(view: Callable[..., Response]) -> Callable[..., Response]:
    """Resolve the session (any signed-in user; `_officer` decides); turn errors into pages."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        who = sessions.principal_from_headers(_headers())
        ctx = Ctx(who=who, csrf=sessions.csrf_token(who) if who else "")
        try:
            for name, value in kwargs.items():  # path parameters: ids only
                identifier(value, name)
            return view(ctx, *args, **kwargs)
        except _Redirect as redirect:
            return _see_other(redirect.location)
        except AuthError:
            return _see_other("/masuk?pesan=perlu-masuk", sessions.clear_cookie_header())
        except NotFoundError:
            return _error_page(ctx, 404, "Tidak ditemukan", "Tugas, permohonan atau izin yang Anda cari tidak ditemukan.")
        except ForbiddenError as exc:
            return _error_page(ctx, 403, "Tidak diizinkan", _sentence(exc.message))
        except DomainError as exc:
            return _error_page(ctx, exc.status, "Permintaan tidak dapat diproses", _sentence(exc.message))

    return wrapper


def _form_lists() -> dict[str, list[str]]:
    """The urlencoded body with every value per name (checkbox lists)."""
    raw = _request().raw_body or b""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        return parse_qs(text, keep_blank_values=True, max_num_fields=120)
    except ValueError:
        raise ValidationError("formulir terlalu besar", field="body") from None


# ----------------------------------------------------------------------------- presentation helpers

def _countdown(seconds_left: int | None) -> str | None:
    """`sisa 2 jam 5 menit` / `terlambat 1 hari 3 jam` (None without an SLA clock)."""
    if seconds_left is None:
        return None
    return ("sisa " if seconds_left >= 0 else "terlambat ") + _duration(abs(seconds_left))


def _permit_type(office_id: str, permit_type: str) -> PermitType:
    return default_catalog().permit_type(office_id, permit_type)


def _queue_rows(who: Principal) -> list[dict[str, Any]]:
    rows = []
    for row in tasks.queue_view(who):
        rows.append({**row, "permit_type_name": default_catalog().permit_type_name(who.office_id or "", row["permit_type"]),
                     "waiting": _duration(row["waiting_seconds"]), "countdown": _countdown(row["seconds_left"]),
                     "role_name": _role_name(row["role"])})
    return rows


def _actor(entry: dict[str, Any]) -> tuple[str, str]:
    """Who did it and in which role; an acting head is shown as Plt."""
    details = entry.get("details") or {}
    role = entry.get("actor_role") or "system"
    acting = bool(details.get("acting"))
    role_name = ("Plt. " if acting and role == "head" else "") + _role_name(role)
    name = str(details.get("actor_name") or "")
    if acting and name and not name.startswith("Plt."):
        name = "Plt. " + name
    return (name or role_name), role_name


def _what(entry: dict[str, Any]) -> str:
    details = entry.get("details") or {}
    step, action = entry.get("step", ""), entry.get("action", "")
    text = ACTIONS.get(action, action.replace("_", " "))
    if action == "decided" and details.get("outcome"):
        text = OUTCOME_LABELS.get((step, details["outcome"]), details["outcome"])
    elif action == "number_proposed" and details.get("number"):
        text += f": {details['number']}"
    elif action == "returned" and details.get("return_to"):
        text += f" ({STEP_TITLES.get(details['return_to'], details['return_to'])})"
    elif action == "done" and details.get("forwarded_to"):
        text = f"Diteruskan ke {_role_name(details['forwarded_to'])}"
    elif action.startswith("signing_") and isinstance(details.get("attempt"), int):
        text += f" (percobaan ke-{details['attempt']}"
        text += ", tanda tangan ulang dikonfirmasi)" if details.get("confirm_resign") else ")"
    if action == "decided" and details.get("copies") and step == steps.StepId.PRINTING.value:
        text += f" — {details['copies']} salinan"
    return f"{STEP_TITLES.get(step, step)}: {text}"


def _timeline_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for entry in sorted(entries, key=lambda e: int(e.get("seq", 0))):
        who, role = _actor(entry)
        rows.append({"at": entry["at"], "who": who, "role": role, "what": _what(entry), "note": entry.get("note"),
                     "show_role": role.lower() not in who.lower(), "system": entry.get("actor_role") == "system",
                     "action": entry.get("action"), "step": entry.get("step"),
                     "acting": bool((entry.get("details") or {}).get("acting"))})
    return rows


def _task_context(who: Principal, task_id: str) -> dict[str, Any]:
    """Everything the task page shows, from `tasks.task_view` (plus catalog wording)."""
    view = tasks.task_view(who, task_id)
    task, app = view["task"], view["application"]
    definition = _permit_type(task["office_id"], app["permit_type"])
    labels = {f.field: f.label for f in definition.form_fields}
    form_rows = [(labels.get(k, k), v) for k, v in app["form"].items()]
    documents = {d["requirement_id"]: d for d in view["documents"]}
    requirements = [{"requirement": r, "document": documents.get(r.requirement_id),
                     "note": (app.get("revision_notes") or {}).get(r.requirement_id)} for r in definition.requirements]
    timeline = _timeline_rows(view["timeline"])
    decisions = [row for row in timeline if row["action"] in ("decided", "withdrawn")]
    opened = datetime.fromisoformat(task["opened_at"])
    is_open = task["status"] == "open"
    waited = ((now_utc() if is_open else datetime.fromisoformat(task["decided_at"])) - opened).total_seconds()
    step_id = task["step"]
    files = []
    if any(r["step"] == steps.StepId.TECHNICAL_REVIEW.value and r["action"] == "decided" for r in timeline):
        files.append(("technical-recommendation", FILE_LABELS["technical-recommendation"]))
    if step_id == steps.StepId.PRINTING.value:
        files.append(("permit", FILE_LABELS["permit"]))
    return {
        "view": view, "task": task, "app": app, "definition": definition, "form_rows": form_rows,
        "requirements": requirements, "timeline": timeline, "decisions": decisions, "is_open": is_open,
        "waiting": _duration(waited), "step_id": step_id,
        "overdue": bool(is_open and task.get("due_at") and now_utc() >= datetime.fromisoformat(task["due_at"])),
        "due_at": task.get("due_at"),
        "standard_time": (task.get("sla") or {}).get("standard") or steps.step(step_id).standard_time_label,
        "holder": definition.holder(app["form"]),  # the catalog's holder field
        "status_label": APPLICATION_STATES.get(app["status"], app["status"]),
        "outcomes": view["outcomes"], "proposed_number": view.get("proposed_number"), "files": files,
        "payment": view.get("payment"),
        "decided_label": OUTCOME_LABELS.get((step_id, task.get("outcome") or ""), task.get("outcome") or ""),
        "preview_draft": step_id == steps.StepId.SIGNING.value and is_open,
        "bsre": signing.is_bsre(),
        "signing_step": step_id in signing.SIGNING_STEPS,
        "signer_label": signing.mode_label(),
        "bsre_warning": signing.connection_warning() if "head" in who.roles else None,
        "signing_unknown_at": app.get("signing_unknown_at") if step_id in signing.SIGNING_STEPS else None,
        "signing_attempts": signing.attempts_of(app["application_id"], step_id)
        if step_id in signing.SIGNING_STEPS and signing.is_bsre() else [],
        "task_path": f"/petugas/tugas/{quote(task_id)}",
        "messages": messages_view.application_messages(who, app["application_id"]),
    }


def _task_page(ctx: Ctx, task_id: str, status: int = 200, chosen: str = "", values: Mapping[str, str] | None = None,
               conflict: bool = False, certificate: Mapping[str, Any] | None = None, signer_nik: str = "",
               totp_sent: bool = False, signing_ready: bool = False) -> Response:
    """The task page. BSrE signing: `certificate` is the status just checked (the passphrase/TOTP fields show only
    when it may sign, after a TOTP was sent, or with `signing_ready` after a failed signing decision), `signer_nik`
    the NIK typed for it (shown back to the head in this response only; never stored)."""
    who = _officer(ctx)
    context = _task_context(who, task_id)
    decided = _query("info") == "diputuskan" and context["task"].get("outcome")
    return _page_render("petugas_tugas.html", ctx, status, csp=TASK_PAGE_CSP,
                        notice=decision_notice(context["step_id"], context["task"]["outcome"],
                                               tasks.settled(task_id)) if decided else None,
                        title=f"{context['view']['title']} — {context['app']['registration_number']}",
                        chosen=chosen, values=values or {}, conflict=conflict, certificate=certificate,
                        signer_nik=signer_nik, totp_sent=totp_sent, signing_ready=signing_ready, **context)


# ----------------------------------------------------------------------------- dashboard

@officer_pages.route("/petugas", methods=["GET"])
@officer_page
def dashboard(ctx: Ctx) -> Response:
    who = _officer(ctx)
    rows = _queue_rows(who)
    inbox = messages_view.inbox(who, limit=INBOX_SHOWN)
    return _page_render("petugas_dasbor.html", ctx, title="Dasbor petugas", rows=rows,
                        overdue=sum(1 for r in rows if r["overdue"]),
                        signing=sum(1 for r in rows if r["step"] == steps.StepId.SIGNING.value),
                        inbox=inbox, unread=sum(1 for m in inbox if m["unread"]))


# ----------------------------------------------------------------------------- search, decision history

def _step_title(step_id: str | None) -> str:
    return STEP_TITLES.get(step_id or "", step_id or "—")


def _search_rows(who: Principal, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for row in found:
        current = row["current_task"]
        rows.append({**row, "permit_type_name": default_catalog().permit_type_name(who.office_id or "", row["permit_type"]),
                     "status_label": APPLICATION_STATES.get(row["status"], row["status"]),
                     "where": (f"{current['title']} — menunggu {_role_name(current['role'])}" if current
                               else "Tidak ada tugas yang terbuka"),
                     "tasks": [{**t, "state": _task_state(t)} for t in row["tasks"]]})
    return rows


def _task_state(task: Mapping[str, Any]) -> str:
    if task["status"] == "open":
        return "menunggu keputusan"
    if task["status"] == "cancelled":
        return "ditutup tanpa keputusan"
    label = OUTCOME_LABELS.get((task["step"], task.get("outcome") or ""), task.get("outcome") or "")
    return label + (f" ({format_datetime_wib(datetime.fromisoformat(task['decided_at']))})"
                    if task.get("decided_at") else "")


@officer_pages.route("/petugas/cari", methods=["GET"])
@officer_page
def search_page(ctx: Ctx) -> Response:
    """Every officer role finds an application of its own office by full or partial registration number."""
    who = _officer(ctx)
    number = _query("nomor").strip()
    rows: list[dict[str, Any]] = []
    status = 200
    if number:
        try:
            rows = _search_rows(who, officer_search.search(who, _registration(number)))
        except ValidationError as exc:
            ctx.errors, status = {"nomor": _sentence(exc.message)}, 400
        else:
            if not rows:
                ctx.errors, status = {"nomor": _NOT_FOUND}, 404
    return _page_render("petugas_cari.html", ctx, status, title="Cari permohonan", number=number, rows=rows,
                        searched=bool(number))


_DECISION_STATES = {"decided": "", "deciding": "sedang diteruskan", "cancelled": "tidak berlaku (alur kerja berhenti)"}


@officer_pages.route("/petugas/riwayat", methods=["GET"])
@officer_page
def history_page(ctx: Ctx) -> Response:
    """What this officer decided before (newest first): step, outcome, date WIB, registration number."""
    who = _officer(ctx)
    rows = [{**r, "step_title": _step_title(r["step"]),
             "outcome_label": OUTCOME_LABELS.get((r["step"], r["outcome"] or ""), r["outcome"] or "—"),
             "state": _DECISION_STATES.get(r["status"], ""),
             "permit_type_name": default_catalog().permit_type_name(who.office_id or "", r["permit_type"])}
            for r in officer_search.decision_history(who)]
    return _page_render("petugas_riwayat.html", ctx, title="Riwayat keputusan", rows=rows,
                        limit=officer_search.HISTORY_LIMIT)


# ----------------------------------------------------------------------------- in-app inbox

@officer_pages.route("/petugas/pesan/{message_id}", methods=["GET"])
@officer_page
def open_message(ctx: Ctx, message_id: str) -> Response:
    """Marks an inbox message read, then goes to its link (only a link into our own site; else the dashboard).

    A GET that changes only the reader's own read mark (like opening an e-mail); 404 if not in their inbox."""
    target = messages_view.open_inbox_message(_officer(ctx), message_id)
    return _see_other(target)


# ----------------------------------------------------------------------------- one task

@officer_pages.route("/petugas/tugas/{task_id}", methods=["GET"])
@officer_page
def task_page(ctx: Ctx, task_id: str) -> Response:
    """Shows the task; never decides. A signed link is verified first, before the session is looked at."""
    if "l" in (_request().query_params or {}):
        try:
            links.check_task_link(task_id, _query("l"))
        except ForbiddenError as exc:
            return _error_page(ctx, 403, "Tautan tidak berlaku",
                               f"{_sentence(exc.message)} Tidak ada yang diubah.")
    return _task_page(ctx, task_id)


def _details(form: Mapping[str, str]) -> dict[str, Any]:
    """Step-specific inputs of a decision form, as `tasks.decide` expects them (only the fields present)."""
    details: dict[str, Any] = {}
    notes = {name[4:]: text.strip() for name, text in form.items() if name.startswith("doc-") and text.strip()}
    if notes:
        details["document_notes"] = notes
    if form.get("visited_on", "").strip():
        details["visited_on"] = form["visited_on"].strip()
    findings = [line.strip() for line in form.get("findings", "").splitlines() if line.strip()]
    if findings:
        details["findings"] = findings
    if "number" in form:
        details["number"] = form["number"].strip()
    for name in ("amount", "basis"):  # the payment assessment (issue 10): checked by services/payments.py
        if name in form:
            details[name] = form[name].strip()
    if "copies" in form:
        text = form["copies"].strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 3):
            raise ValidationError("jumlah cetak harus angka 1 sampai 10", field="copies")
        details["copies"] = copies(int(text))
    for secret in ("signer_nik", "passphrase", "totp"):  # BSrE one-time secrets: passed through, never kept
        if form.get(secret, "").strip():
            details[secret] = form[secret].strip()
    if form.get("confirm_resign") == "1":  # "Saya mengerti; tandatangani ulang dengan passphrase/TOTP baru"
        details["confirm_resign"] = True
    return details


def _error_field(exc: DomainError) -> str:
    field = exc.field or "_form"
    if field.startswith("document_notes."):
        return "doc-" + field.split(".", 1)[1]
    return field if field in ("note", "visited_on", "findings", "number", "copies", "passphrase", "signer_nik",
                              "confirm_resign") else "_form"


@officer_pages.route("/petugas/tugas/{task_id}", methods=["POST"], content_types=_FORM)
@officer_page
def decide_task(ctx: Ctx, task_id: str) -> Response:
    form = _form()
    _officer(ctx)
    who = _check_csrf(ctx, form)
    outcome = form.get("outcome", "")
    try:
        note = clean_text(form.get("note"), "note", 2000, label="Catatan", required=False, multiline=True) or None
        tasks.decide(who, task_id, outcome, note, _details(form))
    except ConflictError as exc:
        if tasks.task_view(who, task_id)["task"]["status"] != "open":
            return _task_page(ctx, task_id, 409, conflict=True)
        ctx.errors = {_error_field(exc): _sentence(exc.message)}
        return _task_page(ctx, task_id, 409, chosen=outcome, values=form, signer_nik=form.get("signer_nik", ""),
                          signing_ready=bool(form.get("signer_nik")))
    except (NotFoundError, ForbiddenError):
        raise
    except DomainError as exc:  # signing: 400 wrong passphrase, 422 refused, 502/503 BSrE (see services.signing)
        ctx.errors = {_error_field(exc): _sentence(exc.message)}
        return _task_page(ctx, task_id, exc.status if exc.status >= 400 else 400, chosen=outcome, values=form,
                          signer_nik=form.get("signer_nik", ""), signing_ready=bool(form.get("signer_nik")))
    return _see_other(f"/petugas/tugas/{quote(task_id)}?info=diputuskan")


def _signing_form(ctx: Ctx, task_id: str) -> tuple[Principal, str]:
    """The head's BSrE form (CSRF checked): who and the typed NIK (not validated here; the service does)."""
    form = _form()
    _officer(ctx, "head")
    who = _check_csrf(ctx, form)
    return who, form.get("signer_nik", "").strip()


@officer_pages.route("/petugas/tugas/{task_id}/sertifikat", methods=["POST"], content_types=_FORM)
@officer_page
def certificate_check(ctx: Ctx, task_id: str) -> Response:
    """"Periksa sertifikat": the head's certificate status at BSrE, shown on the task page (works without JS)."""
    who, nik = _signing_form(ctx, task_id)
    try:
        result = signing.certificate_status(who, nik, client_address=client_address())
    except (NotFoundError, ForbiddenError):
        raise
    except DomainError as exc:
        ctx.errors = {"signer_nik": _sentence(exc.message)}
        return _task_page(ctx, task_id, exc.status, chosen="signed", signer_nik=nik)
    return _task_page(ctx, task_id, certificate=result, signer_nik=nik)


@officer_pages.route("/petugas/tugas/{task_id}/totp", methods=["POST"], content_types=_FORM)
@officer_page
def totp_request(ctx: Ctx, task_id: str) -> Response:
    """"Kirim kode TOTP": BSrE e-mails the head a one-time code; the page then asks for it."""
    who, nik = _signing_form(ctx, task_id)
    try:
        signing.request_totp(who, nik, client_address=client_address())
    except (NotFoundError, ForbiddenError):
        raise
    except DomainError as exc:
        ctx.errors = {"signer_nik": _sentence(exc.message)}
        return _task_page(ctx, task_id, exc.status, chosen="signed", signer_nik=nik)
    return _task_page(ctx, task_id, signer_nik=nik, totp_sent=True)


# ----------------------------------------------------------------------------- documents of an application

def _inline_url(application_id: str, kind: str, filename: str) -> str:
    """A short-lived link that shows an issued document in the browser (`document_link` makes it a download).

    Only called after `applications.document_link` has authorised the officer for this document; the link
    comes from `storage` like every other (issued keys only, sanitised name, no shared caching)."""
    key = getattr(dynamo.get_application(application_id, documents=False), applications.OFFICER_FILES[kind])
    return storage.download_url(key, filename, inline=True)


@officer_pages.route("/petugas/permohonan/{application_id}/berkas/{kind}", methods=["GET"])
@officer_page
def application_file(ctx: Ctx, application_id: str, kind: str) -> Response:
    """Redirect to a short-lived link (`?lihat=1`: shown in the browser, otherwise downloaded)."""
    link = applications.document_link(_officer(ctx), application_id, kind)
    url = _inline_url(application_id, kind, link["filename"]) if _query("lihat") == "1" else link["url"]
    return Response(body="", status_code=302, headers={"Location": url, "Cache-Control": "no-store",
                                                       "Content-Type": "text/html; charset=utf-8"})


# ----------------------------------------------------------------------------- batch signing (head)

def _signing_rows(who: Principal) -> list[dict[str, Any]]:
    return [r for r in _queue_rows(who) if r["step"] == steps.StepId.SIGNING.value]


@officer_pages.route("/petugas/tanda-tangan", methods=["GET"])
@officer_page
def signing_page(ctx: Ctx) -> Response:
    who = _officer(ctx, "head")
    return _page_render("petugas_tanda_tangan.html", ctx, title="Tanda tangan elektronik", rows=_signing_rows(who),
                        results=None, bsre=get_settings().signer_mode == "bsre")


@officer_pages.route("/petugas/tanda-tangan", methods=["POST"], content_types=_FORM)
@officer_page
def signing_submit(ctx: Ctx) -> Response:
    form = _form_lists()
    who = _officer(ctx, "head")
    _check_csrf(ctx, {"csrf": (form.get("csrf") or [""])[0]})
    chosen = [t for t in form.get("task_id", []) if t]
    waiting = {r["task_id"]: r for r in _signing_rows(who)}
    results = None
    if not chosen:
        ctx.errors = {"task_id": "Pilih minimal satu izin untuk ditandatangani."}
    else:
        try:
            outcome = tasks.sign_batch(who, chosen)
        except ValidationError as exc:
            ctx.errors = {"task_id": _sentence(exc.message)}
        else:
            results = [{**r, "row": waiting.get(r["task_id"]),
                        "message": _sentence(str(r.get("error") or ""))}
                       for r in outcome]
    return _page_render("petugas_tanda_tangan.html", ctx, 400 if ctx.errors else 200, title="Tanda tangan elektronik",
                        rows=_signing_rows(who), results=results, bsre=get_settings().signer_mode == "bsre")


@officer_pages.route("/petugas/tanda-tangan/satu", methods=["POST"], content_types=_FORM)
@officer_page
def signing_one(ctx: Ctx) -> Response:
    """One permit of a batch, for the page's script (progress shown permit by permit): JSON
    `{"task_id", "signed", "message"}`. The form itself still posts the whole batch without JS."""
    form = _form()
    who = _officer(ctx, "head")
    _check_csrf(ctx, form)
    task_id = form.get("task_id", "")
    try:
        identifier(task_id, "task_id")
        result = tasks.sign_batch(who, [task_id])[0]
    except (ValidationError, NotFoundError) as exc:
        result = {"task_id": task_id, "signed": False, "error": exc.message}
    body = {"task_id": result["task_id"], "signed": bool(result["signed"]),
            "message": _sentence(str(result.get("error") or ""))}
    return Response(body=json.dumps(body), status_code=200, headers={
        "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})


# ----------------------------------------------------------------------------- counter (back office, SOP 10)

def _registration(text: str) -> str:
    """A typed registration number, or the pickup QR's URL (…/ambil/REG-2026-000123) as a scanner types it."""
    text = text.strip()
    if "/ambil/" in text:
        text = text.rsplit("/ambil/", 1)[1].split("?", 1)[0].strip("/")
    return text.upper()


_NOT_FOUND = "Nomor registrasi tidak ditemukan di kantor ini. Periksa kembali nomornya."


def _find(ctx: Ctx, who: Principal, number: str) -> tuple[list[Any], int]:
    """The office's applications a typed number names; an unreadable or unknown number is a field error."""
    try:
        found = officer_search.find_applications(who, number)
    except ValidationError as exc:
        ctx.errors = {**ctx.errors, "nomor": _sentence(exc.message)}
        return [], 400
    if not found:
        ctx.errors = {**ctx.errors, "nomor": _NOT_FOUND}
        return [], 404
    return found, 200


def _counter(ctx: Ctx, number: str, status: int = 200) -> Response:
    """The counter: a full or partial registration number (or the pickup QR); several matches are listed."""
    who = _officer(ctx, "back_office")
    view, choices = None, []
    if number and not ctx.errors.get("nomor"):
        found, found_status = _find(ctx, who, _registration(number))
        status = found_status if found_status != 200 else status
        if len(found) > 1:
            choices = [{"registration_number": a.registration_number, "holder": a.holder_name(),
                        "status_label": APPLICATION_STATES.get(a.status.value, a.status.value)} for a in found]
        elif found:
            view = tasks.counter_view(who, found[0].registration_number or "")
            # right after a handover the run is still closing the application: it is handed over all the same
            view["handed_over"] = officer_search.handed_over(found[0].application_id)
    status_label = ""
    if view:
        status_label = (APPLICATION_STATES["completed"] if view["handed_over"]
                        else APPLICATION_STATES.get(view["status"], view["status"]))
    return _page_render("petugas_loket.html", ctx, status, title="Loket pengambilan izin", number=number, result=view,
                        choices=choices, status_label=status_label)


@officer_pages.route("/petugas/loket", methods=["GET"])
@officer_page
def counter_page(ctx: Ctx) -> Response:
    return _counter(ctx, _query("nomor"))


@officer_pages.route("/petugas/loket", methods=["POST"], content_types=_FORM)
@officer_page
def counter_hand_over(ctx: Ctx) -> Response:
    form = _form()
    _officer(ctx, "back_office")
    who = _check_csrf(ctx, form)
    number = _registration(form.get("nomor", ""))
    try:
        tasks.decide(who, form.get("task_id", ""), "handed_over", None, {})
    except ConflictError as exc:
        ctx.errors = {"serahkan": "Pemohon belum mengisi Survei Kepuasan Masyarakat (SKM). Minta pemohon mengisi SKM "
                                  "terlebih dahulu, lalu serahkan izin." if exc.field == "survey"
                      else "Penyerahan izin ini sudah tercatat sebelumnya (sudah diputuskan)."}
        return _counter(ctx, number, 409)
    except (NotFoundError, ForbiddenError):
        raise
    except DomainError as exc:
        ctx.errors = {"serahkan": _sentence(exc.message)}
        return _counter(ctx, number, 400)
    return _see_other("/petugas/loket?" + urlencode({"nomor": number, "info": "diserahkan"}))


@officer_pages.route("/ambil/{registration_number}", methods=["GET"])
@officer_page
def pickup_code(ctx: Ctx, registration_number: str) -> Response:
    """Where the pickup QR points: the back office goes to the counter; anyone else sees what to do."""
    number = _registration(registration_number)
    if ctx.who is not None and "back_office" in ctx.who.roles:
        return _see_other("/petugas/loket?" + urlencode({"nomor": number}))
    return _page_render("petugas_ambil.html", ctx, title="Kode pengambilan izin", number=number)


# ----------------------------------------------------------------------------- revocation (head)

@officer_pages.route("/petugas/izin", methods=["GET"])
@officer_page
def permit_lookup(ctx: Ctx) -> Response:
    """The head finds an issued permit by its number, then revokes it on its own page."""
    _officer(ctx, "head")
    number = _query("nomor").strip()
    if number:
        record = dynamo.permit_by_number(number)
        if record is not None and record.office_id == (ctx.who.office_id if ctx.who else None):
            return _see_other(f"/petugas/izin/{quote(record.permit_id)}/cabut")
        ctx.errors = {"nomor": "Nomor izin tidak ditemukan di register kantor ini."}
    return _page_render("petugas_izin_cari.html", ctx, 404 if ctx.errors else 200, title="Cari izin", number=number)


def _revoke_page(ctx: Ctx, permit_id: str, status: int = 200, reason: str = "") -> Response:
    _officer(ctx, "head")
    permit = permits.verify(permit_id)
    valid_until = permit["valid_until"] and format_date_id(to_wib(datetime.fromisoformat(permit["valid_until"])).date())
    return _page_render("petugas_cabut.html", ctx, status, title="Cabut izin", permit=permit, permit_id=permit_id,
                        reason=reason, valid_until=valid_until or "—")


@officer_pages.route("/petugas/izin/{permit_id}/cabut", methods=["GET"])
@officer_page
def revoke_page(ctx: Ctx, permit_id: str) -> Response:
    return _revoke_page(ctx, permit_id)


@officer_pages.route("/petugas/izin/{permit_id}/cabut", methods=["POST"], content_types=_FORM)
@officer_page
def revoke_submit(ctx: Ctx, permit_id: str) -> Response:
    form = _form()
    _officer(ctx, "head")
    who = _check_csrf(ctx, form)
    reason = form.get("reason", "").strip()
    try:
        reason = clean_text(reason, "reason", 1000, label="Alasan pencabutan", required=False, multiline=True)
        permits.revoke(permit_id, who, reason)
    except ConflictError:
        ctx.errors = {"_form": "Izin ini sudah dicabut sebelumnya."}
        return _revoke_page(ctx, permit_id, 409)
    except (NotFoundError, ForbiddenError):
        raise
    except DomainError as exc:
        ctx.errors = {"reason" if exc.field == "reason" else "_form": _sentence(exc.message)}
        return _revoke_page(ctx, permit_id, 400, reason)
    return _see_other(f"/petugas/izin/{quote(permit_id)}/cabut?info=dicabut")


# ----------------------------------------------------------------------------- local stack only

_OUTBOX_CHANNELS = {"whatsapp": "WhatsApp", "email": "E-mail"}


@officer_pages.route("/lokal/kotak-keluar", methods=["GET"])
@officer_page
def local_outbox_page(ctx: Ctx) -> Response:
    """The local outbox (WhatsApp/e-mail sent on the local stack, newest first, the last 200), for officers.
    Does not exist on AWS (404): it shows codes and phone numbers. WhatsApp messages as the template call Meta
    receives (name, language, numbered body parameters, button parameter) and the preview; times WIB."""
    if get_settings().messaging_mode != "local-outbox":
        raise NotFoundError("halaman tidak ditemukan")
    _officer(ctx)
    rows = []
    for message in reversed(messaging.LocalOutbox(messaging.outbox_path()).messages()[-200:]):
        local = to_wib(message.at)
        link = message.link if message.link and message.link.startswith(("http://", "https://", "/")) else None
        rows.append({"message": message, "when": f"{format_date_id(local.date())} {local:%H:%M:%S} WIB",
                     "channel": _OUTBOX_CHANNELS.get(message.channel, message.channel), "link": link,
                     "lines": message.text.split("\n")})
    return _page_render("lokal_kotak_keluar.html", ctx, title="Kotak keluar lokal", rows=rows)

