"""SILASTRI's JSON API and web pages (Chalice). Every route is thin: parse, call one service, answer.

Authentication: Cognito ID tokens (Authorization: Bearer …), verified here against the pool's JWKS —
API Gateway authorizers are not enforced locally, so the app never relies on them alone."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

import pydantic
from chalice import Chalice, Response
from chalice.app import Request, _matches_content_type  # the same matching Chalice applies
from chalicelib.officer_pages import officer_pages
from chalicelib.pages import (  # packaged with this function (Lambda code root on the path)
    applicant_pages,
    method_not_allowed_page,
    not_found_page,
)
from chalicelib.report_pages import REPORT_ROLES, report_pages
from silastri.adapters import dynamo, messaging
from silastri.adapters.identity import AuthError, Principal
from silastri.domain import steps
from silastri.domain.catalog import PermitType, default_catalog
from silastri.domain.errors import (
    DomainError,
    ForbiddenError,
    NotFoundError,
    TooManyRequestsError,
    ValidationError,
)
from silastri.domain.ikm import compute_ikm
from silastri.domain.reports import MIN_RESPONDENTS, truncate2
from silastri.domain.validation import clean_text, identifier, json_object
from silastri.observability import flush_request_metrics, logger
from silastri.services import (
    accounts,
    applications,
    messages_view,
    notifier,
    payments,
    permits,
    sessions,
    signing,
    tasks,
    tracking,
)
from silastri.settings import get_settings

notifier.check_plans()  # at start: every office's notification plan names templates that exist and fit
signing.warn_if_unencrypted()  # at start: BSRE_URL over plain http:// to a non-private address is logged (once)


NOT_FOUND_ROUTE = "/{proxy+}"  # API Gateway's catch-all resource (template.yaml); here also the 404 view


class SilastriApp(Chalice):
    """Chalice, routing by the request's own path when API Gateway hands it over through the catch-all resource.

    On AWS every path reaches the function as resource `/{proxy+}` (template.yaml: one proxy resource, not one
    resource per route); on the local server the same happens for a path no route has (api_server.py). The
    path is matched against the app's routes here, as Chalice's own deployment would have API Gateway do it;
    a path that matches none stays on `/{proxy+}`, whose view answers the Bahasa 404."""

    def __call__(self, event: Any, context: Any) -> Any:
        return super().__call__(refuse_other_methods(route_event(event, self.routes), self.routes), context)


METHOD_NOT_ALLOWED = "silastriAllowedMethods"  # requestContext key: the methods the requested path has
UNSUPPORTED_MEDIA = "silastriAcceptedTypes"     # requestContext key: the body types the route takes


def refuse_other_methods(event: Any, routes: Mapping[str, Any]) -> Any:
    """A known path asked with a method it does not have, or with a body type its route does not take, goes to
    the catch-all view with the path's methods (or the route's types) noted: it answers a Bahasa 405 with
    `Allow` (or 415) instead of Chalice's English `MethodNotAllowedError`/`UnsupportedMediaType`. API Gateway
    puts the method and path at the top of the event; Chalice's local server only in `requestContext`."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    if not isinstance(context, dict):
        return event
    method = str(event.get("httpMethod") or context.get("httpMethod") or "").upper()
    resource = context.get("resourcePath")
    if resource in (None, NOT_FOUND_ROUTE) or resource not in routes or not method or method == "OPTIONS":
        return event
    entry = routes[resource].get(method)
    if entry is None:
        context[METHOD_NOT_ALLOWED] = sorted(routes[resource])
    else:
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        accepted = list(entry.content_types or [])
        if not accepted or _matches_content_type(headers.get("content-type", "application/json"), accepted):
            return event
        context[UNSUPPORTED_MEDIA] = accepted
    context["resourcePath"] = NOT_FOUND_ROUTE
    path = str(event.get("path") or context.get("path") or "/").split("?", 1)[0]
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    return event


def route_event(event: Any, routes: Mapping[str, Any]) -> Any:
    """`event` with `resourcePath` and `pathParameters` of the route its path matches (concrete segments before
    `{parameters}`, as API Gateway picks); unchanged when it already names a route other than the catch-all."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    if not isinstance(context, dict) or context.get("resourcePath") not in (NOT_FOUND_ROUTE, None):
        return event
    path = str(event.get("path") or context.get("path") or "/").split("?", 1)[0]
    if path != "/" and path.endswith("/"):
        path = path[:-1]
    parts = path.split("/")
    for route in sorted(r for r in routes if r != NOT_FOUND_ROUTE):
        pattern = route.split("/")
        if len(pattern) != len(parts):
            continue
        captured = {}
        for part, want in zip(parts, pattern, strict=True):
            if want.startswith("{") and want.endswith("}"):
                if not part:
                    break
                captured[want[1:-1]] = unquote(part)
            elif part != want:
                break
        else:
            context["resourcePath"] = route
            event["pathParameters"] = captured or None
            return event
    context["resourcePath"] = NOT_FOUND_ROUTE
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    return event


app = SilastriApp(app_name="silastri")
app.api.binary_types = []  # every response is text: spreadsheets and PDFs are served from S3 (storage.py)
app.register_blueprint(applicant_pages)
app.register_blueprint(officer_pages)
app.register_blueprint(report_pages)

JSON = "application/json"


@app.middleware("http")
def flush_metrics(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Metrics of a request go out with it: the shared Powertools set is flushed after every request (a Chalice
    app has no per-invocation `@metrics.log_metrics`; counters emitted with `count` are out already)."""
    try:
        return get_response(event)
    finally:
        flush_request_metrics()


def _error(status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None,
           code: str | None = None) -> Response:
    """The error body: {"error": {"message", "field"}} plus a stable machine `code` where the error has one
    (e.g. `signing_outcome_unknown`, `confirm_resign_required`, `certificate_not_usable`)."""
    error: dict[str, Any] = {"message": message, "field": field}
    if code:
        error["code"] = code
    return Response(status_code=status, headers={"Content-Type": JSON, **(headers or {})}, body={"error": error})


def api(route: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into clear 4xx answers with the offending field (429 with Retry-After)."""

    @functools.wraps(route)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return route(*args, **kwargs)
        except TooManyRequestsError as exc:
            return _error(429, exc.message, exc.field, {"Retry-After": str(exc.retry_after)})
        except DomainError as exc:
            return _error(exc.status, exc.message, exc.field, code=getattr(exc, "code", None))
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            return _error(400, first["msg"], ".".join(str(p) for p in first["loc"]) or None)

    return wrapper


def request() -> Request:
    current = app.current_request
    assert current is not None, "only inside a request"
    return current


def header(name: str) -> str:
    headers = request().headers
    return str(headers.get(name, "")) if headers else ""


def query(name: str, default: str) -> str:
    params = request().query_params
    return str(params.get(name, default)) if params else default


def body() -> dict[str, Any]:
    """The JSON object in the request body ({} when empty); 400 (field `body`) for anything else."""
    return json_object(request().raw_body)


def client_address() -> str:
    """The caller's address as API Gateway (or the local server) saw it: the key of per-address limits."""
    context = request().context or {}
    return str((context.get("identity") or {}).get("sourceIp") or "unknown")


def principal() -> Principal:
    """From a Bearer token, or from the web session cookie — then unsafe methods need the CSRF header."""
    authorization = header("authorization")
    if authorization.lower().startswith("bearer "):
        return sessions.verify(authorization[7:].strip())
    who = sessions.principal_from_headers(request().headers or {})
    if who is None:
        raise AuthError("silakan masuk terlebih dahulu")
    if request().method not in ("GET", "HEAD", "OPTIONS"):
        sessions.check_csrf(who, header("x-csrf-token") or None)
    return who


def officer() -> Principal:
    who = principal()
    if not who.roles & {r.value for r in steps.OFFICER_ROLES} or not who.office_id:
        raise ForbiddenError("khusus petugas DPMPTSP", field="role")
    return who


def _field(data: dict[str, Any], name: str, kind: type = str) -> Any:
    value = data.get(name)
    if isinstance(value, bool) and kind is not bool:
        value = None  # JSON true/false is not a number
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
        raise ValidationError(f"'{name}' wajib diisi ({'teks' if kind is str else 'bilangan bulat'})", field=name)
    return value


def _text(data: dict[str, Any], name: str, max_len: int) -> str | None:
    """An optional free text (note, reason, comment): None when absent or empty; see `clean_text`."""
    return clean_text(data.get(name), name, max_len, required=False, multiline=True) or None


# ----------------------------------------------------------------------------- accounts

@app.route("/api/auth/register", methods=["POST"])
@api
def register() -> Any:
    data = body()
    result = accounts.register(data.get("name", ""), data.get("email", ""), data.get("phone", ""),
                               data.get("password", ""), data.get("nik", ""))
    return Response(status_code=201, body=result)


@app.route("/api/auth/activate", methods=["POST"])
@api
def activate() -> Any:
    data = body()
    accounts.activate(_field(data, "email"), _field(data, "code"), client_address=client_address())
    return {"activated": True}


@app.route("/api/auth/resend", methods=["POST"])
@api
def resend() -> Any:
    """A new activation code; `sent` False (with `message`) when WhatsApp is down — not an error."""
    sent = accounts.resend(_field(body(), "email"), client_address=client_address())
    return {"sent": sent, "message": "kode dikirim melalui WhatsApp" if sent else accounts.CODE_NOT_SENT}


@app.route("/api/auth/password-reset", methods=["POST"])
@api
def password_reset_request() -> Any:
    accounts.request_password_reset(_field(body(), "email"), client_address=client_address())
    return Response(status_code=202, body={"message": "jika akun terdaftar, kode dikirim melalui WhatsApp"})


@app.route("/api/auth/password-reset/confirm", methods=["POST"])
@api
def password_reset_confirm() -> Any:
    data = body()
    accounts.reset_password(_field(data, "email"), _field(data, "code"), _field(data, "new_password"),
                            client_address=client_address())
    return {"reset": True}


@app.route("/api/auth/login", methods=["POST"])
@api
def login() -> Any:
    data = body()
    return accounts.login(_field(data, "email"), _field(data, "password"), client_address=client_address())


@app.route("/api/me", methods=["GET"])
@api
def me() -> Any:
    return principal().model_dump(mode="json")


@app.route("/api/account", methods=["GET"])
@api
def account() -> Any:
    """The applicant's account: name, e-mail, whether the e-mail is verified, masked NIK."""
    return accounts.account_view(principal())


@app.route("/api/account/email/code", methods=["POST"])
@api
def email_code() -> Any:
    """Send a verification code to the applicant's e-mail (once a minute, sending limits: 429)."""
    sent = accounts.send_email_code(principal(), client_address=client_address())
    return Response(status_code=202, body={"code_sent": sent, "message": "kode dikirim ke alamat email Anda" if sent
                                           else accounts.EMAIL_CODE_NOT_SENT})


@app.route("/api/account/email/verify", methods=["POST"])
@api
def email_verify() -> Any:
    """Check the e-mail code ({"code"}); the address is then verified. Bad code → 400 (field `code`)."""
    accounts.verify_email(principal(), _field(body(), "code"), client_address=client_address())
    return {"email_verified": True}


# ----------------------------------------------------------------------------- catalog

@app.route("/api/catalog", methods=["GET"])
@api
def catalog() -> Any:
    office_id = query("office", get_settings().default_office_id)
    office = default_catalog().office(office_id)
    return {"office": office.model_dump(include={"office_id", "short_name", "regency"}),
            "permit_types": [_permit_type_view(t) for t in default_catalog().offered(office_id)],
            "service_standard": [{"sop_number": s.sop_number, "title": s.title, "standard_time": s.standard_time_label}
                                 for s in steps.STEPS.values() if s.step_id not in (steps.StepId.REVISION,
                                                                                   steps.StepId.REJECTION_SIGNING)]}


def _permit_type_view(definition: PermitType) -> dict[str, Any]:
    """A permit type as the catalog API shows it: the catalog entry (without the decree's text) plus what a
    client needs at a glance (recommending agency, fixed fee, validity label, the holder field)."""
    data = definition.model_dump(mode="json", by_alias=True, exclude={"decree"})
    data |= {"technical_agency": definition.technical_agency, "fee": definition.fee,
             "validity_label": definition.validity.label, "holder_field": definition.holder_field.field,
             "decree_title": definition.decree_title}
    return data


# ----------------------------------------------------------------------------- applications (applicant)

@app.route("/api/applications", methods=["POST"])
@api
def create_application() -> Any:
    data = body()
    office_id = data.get("office_id")
    if office_id is not None:
        office_id = identifier(office_id, "office_id")
    created = applications.create_draft(principal(), _field(data, "permit_type"), data.get("form") or {}, office_id)
    return Response(status_code=201, body=applications.status_view(created))


@app.route("/api/applications", methods=["GET"])
@api
def my_applications() -> Any:
    """The caller's applications, newest first, a page at a time (`?limit=` 1..100, default 20; `?after=` the
    previous page's `next`): {"applications": [...], "next": cursor or null}. Each application's full status
    (steps, timeline) is GET /api/applications/{id}."""
    who = principal()
    raw_limit = query("limit", str(applications.LIST_PAGE_SIZE))
    if not (raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 3):
        raise ValidationError("limit harus bilangan 1 sampai 100", field="limit")
    return applications.list_page(who, int(raw_limit), query("after", "") or None)


@app.route("/api/applications/{application_id}", methods=["GET"])
@api
def application_status(application_id: str) -> Any:
    return applications.status_view(applications.owned(principal(), identifier(application_id, "application_id")))


@app.route("/api/applications/{application_id}", methods=["PUT"])
@api
def update_application(application_id: str) -> Any:
    application_id = identifier(application_id, "application_id")
    return applications.status_view(applications.update_draft(principal(), application_id, body().get("form") or {}))


@app.route("/api/applications/{application_id}/uploads", methods=["POST"])
@api
def request_upload(application_id: str) -> Any:
    data = body()
    return Response(status_code=201, body=applications.request_upload(
        principal(), identifier(application_id, "application_id"), _field(data, "requirement_id"), _field(data, "filename"),
        _field(data, "size_bytes", int)))


@app.route("/api/applications/{application_id}/uploads/{upload_id}/complete", methods=["POST"])
@api
def complete_upload(application_id: str, upload_id: str) -> Any:
    doc = applications.complete_upload(principal(), identifier(application_id, "application_id"),
                                       identifier(upload_id, "upload_id"))
    status = 200 if doc.state == "accepted" else 422
    return Response(status_code=status, body=doc.model_dump(mode="json", exclude={"key"}))


@app.route("/api/applications/{application_id}/submit", methods=["POST"])
@api
def submit(application_id: str) -> Any:
    key = header("idempotency-key") or None
    submitted = applications.submit(principal(), identifier(application_id, "application_id"), key)
    return Response(status_code=202, body=applications.status_view(submitted))


@app.route("/api/applications/{application_id}/resubmit", methods=["POST"])
@api
def resubmit(application_id: str) -> Any:
    return applications.status_view(applications.resubmit(principal(), identifier(application_id, "application_id")))


@app.route("/api/applications/{application_id}/payment", methods=["POST"])
@api
def submit_payment(application_id: str) -> Any:
    """The applicant has paid: `upload_id` of the accepted proof (uploaded as requirement `bukti-pembayaran`),
    or none when the payment provider already reports the reference paid."""
    data = body()
    upload_id = data.get("upload_id")
    paid = payments.submit_payment(principal(), identifier(application_id, "application_id"),
                                   identifier(upload_id, "upload_id") if upload_id is not None else None)
    return applications.status_view(paid)


@app.route("/api/applications/{application_id}/withdraw", methods=["POST"])
@api
def withdraw(application_id: str) -> Any:
    reason = _text(body(), "reason", 1000)
    return applications.status_view(applications.withdraw(principal(), identifier(application_id, "application_id"),
                                                          reason))


@app.route("/api/applications/{application_id}/survey", methods=["POST"])
@api
def survey(application_id: str) -> Any:
    data = body()
    scores = data.get("scores")
    if not isinstance(scores, dict) or not all(type(v) is int for v in scores.values()):
        raise ValidationError("nilai survei harus bilangan bulat 1–4 untuk setiap unsur", field="scores")
    if "comment" in data:
        data["comment"] = _text(data, "comment", 1000)
    applications.fill_survey(principal(), identifier(application_id, "application_id"), data)
    return Response(status_code=201, body={"survey": "recorded"})


@app.route("/api/applications/{application_id}/files/{kind}", methods=["GET"])
@api
def download(application_id: str, kind: str) -> Any:
    """A short-lived download link for an issued document (applicant: own; officers: their office)."""
    return applications.document_link(principal(), identifier(application_id, "application_id"),
                                      identifier(kind, "kind"))


# ----------------------------------------------------------------------------- officers

@app.route("/api/tasks", methods=["GET"])
@api
def task_queue() -> Any:
    return {"tasks": tasks.queue_view(officer())}


@app.route("/api/tasks/{task_id}", methods=["GET"])
@api
def task_detail(task_id: str) -> Any:
    return tasks.task_view(officer(), identifier(task_id, "task_id"))


@app.route("/api/tasks/{task_id}/decision", methods=["POST"])
@api
def decide(task_id: str) -> Any:
    who = officer()
    data = body()
    decided, settled = tasks.decide_settled(who, identifier(task_id, "task_id"), _field(data, "outcome"),
                                            _text(data, "note", 2000), data.get("details") or {})
    # what the decision settled, e.g. the permit number assigned (another file may have taken the one shown)
    return {**decided.model_dump(mode="json"), "settled": settled}


@app.route("/api/signing/batch", methods=["POST"])
@api
def sign_batch() -> Any:
    """The head signs several waiting permits in one action."""
    who = officer()
    task_ids = body().get("task_ids") or []
    if not isinstance(task_ids, list) or not all(isinstance(t, str) for t in task_ids):
        raise ValidationError("task_ids harus berupa daftar id tugas", field="task_ids")
    for task_id in task_ids:
        identifier(task_id, "task_ids")
    return {"results": tasks.sign_batch(who, task_ids)}


@app.route("/api/signing/certificate-status", methods=["POST"])
@api
def signing_certificate_status() -> Any:
    """BSrE: the head's certificate status ({"nik"} → {"status", "label", "may_sign"}); heads/acting heads of the
    office only (403), NIK 16 digits (400), BSrE mode only (409), throttled (429). The NIK is not kept."""
    who = officer()
    return signing.certificate_status(who, body().get("nik"), client_address=client_address())


@app.route("/api/signing/totp", methods=["POST"])
@api
def signing_totp() -> Any:
    """BSrE e-mails a one-time TOTP code to the head ({"nik"}); same rules as the certificate status."""
    who = officer()
    signing.request_totp(who, body().get("nik"), client_address=client_address())
    return Response(status_code=202, body={"sent": True, "message": signing.TOTP_SENT})


@app.route("/api/applications/{application_id}/messages", methods=["GET"])
@api
def application_messages(application_id: str) -> Any:
    """The application's messages and their delivery status (officers of its office only: 403; unknown: 404)."""
    rows = messages_view.application_messages(principal(), identifier(application_id, "application_id"))
    return {"messages": [{k: row[k] for k in messages_view.API_FIELDS} for row in rows]}


@app.route("/api/inbox", methods=["GET"])
@api
def officer_inbox() -> Any:
    """The officer's in-app inbox, newest first (subject, body, link, status, unread)."""
    return {"messages": messages_view.inbox(officer())}


@app.route("/api/counter/{registration_number}", methods=["GET"])
@api
def counter(registration_number: str) -> Any:
    """At the counter: masked identity, SKM filled or not, the open pickup task."""
    return tasks.counter_view(officer(), identifier(registration_number, "registration_number"))


@app.route("/api/permits/{permit_id}/revoke", methods=["POST"])
@api
def revoke_permit(permit_id: str) -> Any:
    """The head revokes an issued permit, with a reason."""
    who = officer()
    reason = clean_text(body().get("reason"), "reason", 1000, label="alasan pencabutan", multiline=True)
    record = permits.revoke(identifier(permit_id, "permit_id"), who, reason)
    return {"permit_number": record.permit_number, "revoked": record.revoked, "reason": record.revoked_reason}


@app.route("/api/reports/ikm", methods=["GET"])
@api
def ikm_report() -> Any:
    """The office's Indeks Kepuasan Masyarakat from the SKM surveys (PermenPAN-RB 14/2017); with fewer than
    `reports.MIN_RESPONDENTS` respondents only their number (fewer would tell one applicant's answers)."""
    who = officer()
    if not who.roles & REPORT_ROLES:  # as the report page: not the back office, not the sector agency's team
        raise ForbiddenError("IKM kantor hanya untuk Kepala Dinas, Koordinator dan Sub Koordinator", field="role")
    surveys = dynamo.surveys_of(who.office_id or "")
    if len(surveys) < MIN_RESPONDENTS:
        return {"respondents": len(surveys), "shown_from": MIN_RESPONDENTS}
    result = compute_ikm(surveys)
    # two decimals, truncated as the report prints them (never more precision than the published figure)
    return {**result.model_dump(), "nrr": {e: float(truncate2(v)) for e, v in result.nrr.items()},
            "ikm": float(truncate2(result.ikm)), "converted": float(truncate2(result.converted))}


# ----------------------------------------------------------------------------- public

@app.route("/api/registry", methods=["GET"])
@api
def registry() -> Any:
    """What the permit registry says about an issued permit (used by `silastri verify-permit`): `permit_id` (the
    QR code's id), or `number` with `office` (numbers are per office)."""
    permit_id = query("permit_id", "")
    if permit_id:
        return permits.registry_entry(permit_id=identifier(permit_id, "permit_id"))
    number = clean_text(query("number", ""), "number", 100, label="nomor izin")
    office = query("office", "")
    return permits.registry_entry(permit_number=number,
                                  office_id=identifier(office, "office") if office else None)


@app.route("/api/track", methods=["POST"])
@api
def track() -> Any:
    """Public tracking: status only, by registration number + the applicant's full WhatsApp number."""
    data = body()
    return tracking.public_status(_field(data, "registration_number"), _field(data, "phone"),
                                  client_address=client_address())


@app.route("/api/verify/{permit_id}", methods=["GET"])
@api
def verify(permit_id: str) -> Any:
    """What the public verification page says about a permit (by the random id in its QR code)."""
    return permits.verify(identifier(permit_id, "permit_id"))


@app.route("/", methods=["GET"])
def home() -> Response:
    """The service catalog is the front page."""
    return Response(body="", status_code=303, headers={"Location": "/ajukan"})


_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


@app.route(NOT_FOUND_ROUTE, methods=_ALL_METHODS, content_types=["*/*"])
def not_found() -> Response:
    """Any path no route has: JSON under `/api/`, otherwise the Bahasa 404 page (never API Gateway's
    `Missing Authentication Token`). A known path asked with another method: 405 with `Allow`, in Bahasa."""
    context = request().context or {}
    accepted = context.get(UNSUPPORTED_MEDIA)
    if accepted:
        message = "jenis isi permintaan tidak diterima di alamat ini; kirim " + " atau ".join(accepted)
        if _requested_path().startswith("/api/"):
            return _error(415, message, "content-type", code="unsupported_media_type")
        return method_not_allowed_page(message, {}, status=415)
    allowed = context.get(METHOD_NOT_ALLOWED)
    if allowed:
        headers = {"Allow": ", ".join(allowed)}
        message = f"alamat ini tidak menerima metode {request().method}; gunakan {' atau '.join(allowed)}"
        if _requested_path().startswith("/api/"):
            return _error(405, message, "method", headers=headers, code="method_not_allowed")
        return method_not_allowed_page(message, headers)
    if _requested_path().startswith("/api/"):
        return _error(404, "alamat API tidak dikenal", "path", code="not_found")
    return not_found_page()


def _requested_path() -> str:
    params = request().uri_params or {}
    return "/" + str(params.get("proxy", ""))


@app.route("/api/openapi.json", methods=["GET"])
def openapi() -> Any:
    from silastri.openapi import document

    return document(app.routes, get_settings().upload_max_bytes)


# ----------------------------------------------------------------------------- local stack only

def _local_officer() -> Principal:
    """The outbox shows codes and phone numbers: only on the local runtime, and only to a signed-in officer.

    NotFoundError anywhere else (the pages do not exist on AWS); AuthError/ForbiddenError otherwise."""
    if get_settings().messaging_mode != "local-outbox":
        raise NotFoundError("halaman tidak ditemukan")
    return officer()


@app.route("/lokal/pembayaran/{reference_number}", methods=["POST"])
@api
def local_payment_paid(reference_number: str) -> Any:
    """Local runtime only (404 on AWS): the bank reports the payment reference paid (LocalPaymentProvider), as a
    signed-in user would see it happen after paying at the bank."""
    if get_settings().messaging_mode != "local-outbox":
        raise NotFoundError("halaman tidak ditemukan")
    principal()
    payments.simulate_paid(identifier(reference_number, "reference_number"))
    return {"reference_number": reference_number.upper(), "status": "paid"}


@app.route("/api/local/outbox", methods=["GET"])
@api
def local_outbox() -> Any:
    """Messages sent on the local runtime (officers only; 404 on AWS)."""
    _local_officer()
    return {"messages": [m.model_dump(mode="json") for m in messaging.LocalOutbox(messaging.outbox_path()).messages()]}


logger.debug("api loaded")
