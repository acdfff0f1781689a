"""Turns a notification event into messages, as the office's notification plan says (event → recipient →
channel → template), each one sent at most once and recorded with its delivery status (`message_log`)."""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from typing import Any

from ..adapters import dynamo, identity, message_log, messaging
from ..adapters.messaging import (
    ChannelError,
    Notification,
    PermanentChannelError,
    TransientChannelError,
    UncertainChannelError,
)
from ..domain import notifications, payment, steps
from ..domain.catalog import Office, default_catalog
from ..domain.clock import format_date_id, format_datetime_wib, now_utc, to_wib
from ..observability import NOTIFICATIONS_FAILED, count, logger
from ..settings import get_settings
from . import links

LEASE_SECONDS = 120  # longer than the notifier's timeout: an attempt still running is never taken for dead
_DAYS = {"mon": "Senin", "tue": "Selasa", "wed": "Rabu", "thu": "Kamis", "fri": "Jumat", "sat": "Sabtu", "sun": "Minggu"}


def plan_for(office_id: str | None) -> notifications.NotificationPlan:
    """The notification plan of an office (the default office's when none is named)."""
    catalog = default_catalog()
    office = catalog.office(office_id or get_settings().default_office_id)
    return notifications.default_messages().plan(office.notification_plan)


def check_plans() -> None:
    """At start: every office's plan exists and every template it names fits (ValueError otherwise)."""
    for office in default_catalog().offices.values():
        try:
            notifications.default_messages().plan(office.notification_plan)
        except KeyError as exc:
            raise ValueError(f"kantor {office.office_id}: {exc.args[0]}") from None


def wanted(note: Notification) -> bool:
    """Whether the plan sends anything for this event (producers skip publishing when it does not)."""
    return bool(plan_for(note.office_id).rules_for(note.kind))


# ----------------------------------------------------------------------------- parameters


def office_hours_text(office: Office) -> str:
    """`Senin–Kamis 07.30–16.00, Jumat 07.30–16.30 WIB` from the office's hours."""
    groups: list[tuple[list[str], tuple[str, str]]] = []
    for key in _DAYS:
        pair = office.office_hours.hours.get(key)
        if not pair:
            continue
        if groups and groups[-1][1] == (pair[0], pair[1]) and list(_DAYS).index(groups[-1][0][-1]) + 1 == list(_DAYS).index(key):
            groups[-1][0].append(key)
        else:
            groups.append(([key], (pair[0], pair[1])))
    parts = []
    for days, (start, end) in groups:
        label = _DAYS[days[0]] if len(days) == 1 else f"{_DAYS[days[0]]}–{_DAYS[days[-1]]}"
        parts.append(f"{label} {start.replace(':', '.')}–{end.replace(':', '.')}")
    return ", ".join(parts) + " WIB"


def _wib(value: str | None) -> str:
    return format_datetime_wib(datetime.fromisoformat(value)) if value else "-"


def event_params(note: Notification) -> dict[str, Any]:
    """Every parameter the event's templates may use (notifications.params_of), from the application, the
    office and the event itself. Raises NotFoundError for an application that does not exist."""
    params: dict[str, Any] = dict.fromkeys(notifications.params_of(note.kind), "-") if note.kind in notifications.EVENTS else {}
    if note.registration_number:
        params["registration_number"] = note.registration_number
    base = get_settings().public_base_url.rstrip("/")
    catalog = default_catalog()
    office = catalog.office(note.office_id or get_settings().default_office_id)
    if note.application_id:
        app = dynamo.get_application(note.application_id, documents=False)
        office = catalog.office(app.office_id)
        path = f"permohonan/{app.application_id}"
        params |= {"registration_number": note.registration_number or app.registration_number or "-",
                   "permit_type_name": catalog.permit_type_name(app.office_id, app.permit_type),
                   "office_name": office.short_name, "application_path": path, "application_url": f"{base}/{path}"}
        if note.kind == "closed_rejected":
            reason = "; ".join(app.rejection_reasons).strip().rstrip(".") if app.rejection_reasons else ""
            params["reason"] = reason or "lihat surat penolakan"
    p = note.params
    if note.kind == "revision_requested":
        params |= {"deadline": _wib(p.get("deadline")), "round": p.get("round") or "-"}
    if note.kind == "payment_due":  # issue 10: the payment reference of the application (services/payments.py)
        params |= {"payment_name": p.get("name") or "retribusi", "deadline": _wib(p.get("deadline")),
                   "amount": payment.format_rupiah(int(str(p["amount"]))) if str(p.get("amount", "")).isdigit() else "-",
                   "reference_number": p.get("reference_number") or "-",
                   "method_name": payment.METHOD_NAMES.get(str(p.get("method")), "-")}
    if note.kind == "permit_ready":
        ready_at = p.get("ready_at")
        ready = datetime.fromisoformat(ready_at) if ready_at else now_utc()
        params |= {"pickup_place": f"{office.short_name}, {office.address}", "pickup_hours": office_hours_text(office),
                   "pickup_bring": office.pickup_bring,
                   "pickup_until": format_date_id(to_wib(ready + timedelta(days=office.pickup_window_days)).date())}
    if p.get("step"):
        definition = steps.step(str(p["step"]))
        params |= {"step_title": definition.title, "sop_number": definition.sop_number,
                   "standard": p.get("standard") or definition.standard_time_label}
        if p.get("outcome"):
            params["outcome_label"] = definition.outcome(str(p["outcome"])).label
    if p.get("task_id"):
        url = links.task_link(str(p["task_id"]))
        params |= {"task_url": url, "task_path": url.removeprefix(base + "/")}
    if "due_at" in p:
        params["due_at"] = _wib(p.get("due_at"))
    from_role = p.get("from_role")
    if from_role:
        params["from_role_name"] = steps.ROLE_NAMES.get(steps.Role(from_role), from_role)
    if p.get("code"):
        params["code"] = p["code"]
    return params


# ----------------------------------------------------------------------------- recipients


def _recipients(rule: notifications.Rule, note: Notification) -> list[tuple[str, dict[str, str]]]:
    """(role label, contact attributes incl. `sub`) of everyone the rule names."""
    if rule.to == "applicant":
        if not note.user_id:
            return []
        contact = identity.contact_of(note.user_id)
        return [("applicant", contact)] if contact else []
    role = note.role if rule.to == "role" else rule.to
    if not (role and note.office_id):
        return []
    return [(role, contact) for contact in identity.contacts_of_role(note.office_id, role)]


def _address(channel: str, role: str, contact: dict[str, str], kind: str = "") -> str | None:
    if channel == "whatsapp":
        return contact.get("phone_number") or None
    if channel == "email":
        # applicants: only an address they proved they own (the e-mail code is that proof, so it goes to an
        # unverified address); officers' addresses are set by the administrator
        if role == "applicant" and kind != "email_code" and contact.get("email_verified") != "true":
            return None
        return contact.get("email") or None
    return contact.get("sub") or None  # the in-app inbox


# ----------------------------------------------------------------------------- sending one message


def _outgoing(rule: notifications.Rule, channel: str, params: dict[str, Any]) -> tuple[str, str, str, str | None,
                                                                                      messaging.TemplateCall | None]:
    """(template name, subject, text, link, template call) of one message."""
    catalog = notifications.default_messages()
    link = params.get("task_url") or params.get("application_url")
    if channel == "whatsapp":
        assert rule.whatsapp
        rendered = notifications.render_whatsapp(catalog, rule.whatsapp, params)
        call = messaging.TemplateCall(name=rendered.template, language=rendered.language,
                                      body_parameters=rendered.body_parameters, button_parameter=rendered.button_parameter)
        return rendered.template, "SILASTRI", rendered.preview, link, call
    ref = rule.email if channel == "email" else rule.inbox
    assert ref
    email = notifications.render_email(catalog, ref, params)
    return email.template, email.subject, email.body, link, None


def send_one(note: Notification, rule: notifications.Rule, role: str, contact: dict[str, str], channel: str,
             params: dict[str, Any], channels: dict[str, messaging.Channel]) -> str:
    """One message of the plan, at most once per (event, recipient, channel). Returns its status afterwards.

    Raises TransientChannelError when the channel failed for now (or another attempt is in flight), so the
    queue redelivers; a permanent failure is recorded (`failed`) and not raised."""
    recipient_id = contact.get("sub") or ""
    address = _address(channel, role, contact, note.kind)
    if not recipient_id or not address:
        return "skipped"
    mid = notifications.message_id(note.event_id, recipient_id, channel)
    template, subject, text, link, call = _outgoing(rule, channel, params)
    common = dict(event=note.kind, event_id=note.event_id, channel=channel, template=template,
                  recipient_id=recipient_id, recipient_role=role, office_id=note.office_id,
                  application_id=note.application_id, note=note.model_dump(mode="json"))
    if channel == "inbox":  # stored is delivered: the officer sees it on the dashboard
        # without the notification (`note`, kept for a redrive of a failed or unknown message: an inbox message
        # is never either), so that the item, its content and its index entries stay small
        inbox = {k: v for k, v in common.items() if k != "note"}
        item = message_log.ensure(mid, status=message_log.DELIVERED, inbox_owner=recipient_id,
                                  content={"subject": subject, "body": text, "link": link}, **inbox)
        return item.status
    now = time.time()
    # the first delivery creates the message with its first attempt claimed (one write); a redelivery finds it
    attempt: int | None = 1
    if not message_log.create_claimed(mid, now, LEASE_SECONDS, **common):
        existing = message_log.get(mid)
        assert existing is not None
        if existing.status not in message_log.NOT_SENT:
            return existing.status  # sent, delivered, read, failed or unknown already: never again by itself
        attempt = message_log.claim_attempt(mid, now, LEASE_SECONDS)
    if attempt is None:
        current = message_log.get(mid)
        assert current is not None
        if current.status in message_log.NOT_SENT and current.sending_until is not None:
            if current.sending_until > now:  # come back when that attempt's lease has run out
                raise TransientChannelError("pesan ini sedang dikirim oleh proses lain",
                                            retry_after=math.ceil(current.sending_until - now) + 1)
            if message_log.mark_unknown(mid, int(current.attempts), now):
                return message_log.UNKNOWN
            raise TransientChannelError("status pesan berubah saat diperiksa; diperiksa lagi", retry_after=1)
        return current.status
    outgoing = messaging.OutgoingMessage(message_id=mid, channel=channel, to=address, subject=subject, text=text,
                                         link=link, template=call)
    try:
        provider_id = channels[channel].send(outgoing)
    except PermanentChannelError as exc:
        message_log.record_outcome(mid, attempt, message_log.FAILED, exc.reason)
        count(NOTIFICATIONS_FAILED, channel=channel, kind=note.kind, permanent="yes")
        logger.warning("message failed permanently", kind=note.kind, channel=channel, message_id=mid, reason=exc.reason)
        return message_log.FAILED
    except UncertainChannelError as exc:
        message_log.record_outcome(mid, attempt, message_log.UNKNOWN, exc.reason)
        count(NOTIFICATIONS_FAILED, channel=channel, kind=note.kind, permanent="unknown")
        return message_log.UNKNOWN
    except Exception as exc:
        reason = exc.reason if isinstance(exc, ChannelError) else f"kesalahan tak terduga ({type(exc).__name__})"
        message_log.record_outcome(mid, attempt, message_log.RETRYING, reason)
        count(NOTIFICATIONS_FAILED, channel=channel, kind=note.kind, permanent="no")
        raise TransientChannelError(reason) from exc
    message_log.record_outcome(mid, attempt, message_log.SENT, provider_id=provider_id)
    return message_log.SENT


def deliver(note: Notification, channels: dict[str, messaging.Channel] | None = None) -> dict[str, int]:
    """Every message the plan names for this event; returns counts per resulting status.

    Every message is tried even when one fails; then the first transient failure is raised so the queue
    redelivers the event (messages already sent are not sent again)."""
    channels = channels or messaging.channels()
    rules = plan_for(note.office_id).rules_for(note.kind)
    outcome: dict[str, int] = {}
    if not rules:
        return outcome
    params = event_params(note)
    retry: TransientChannelError | None = None
    for rule in rules:
        for role, contact in _recipients(rule, note):
            for channel in rule.channels():
                try:
                    status = send_one(note, rule, role, contact, channel, params, channels)
                except TransientChannelError as exc:
                    retry = retry or exc
                    status = message_log.RETRYING
                outcome[status] = outcome.get(status, 0) + 1
    logger.info("notification handled", kind=note.kind, application_id=note.application_id, outcome=outcome)
    if retry:
        raise retry
    return outcome


def send_now(kind: str, user: dict[str, str], params: dict[str, Any], event_id: str,
             channels: dict[str, messaging.Channel] | None = None) -> str:
    """An account message sent synchronously (one-time codes: never queued). Returns the WhatsApp/e-mail
    message's status; a channel failure is recorded as failed (the user asks for a new code) and not raised."""
    channels = channels or messaging.channels()
    note = Notification(kind=kind, event_id=event_id, office_id=get_settings().default_office_id)
    statuses: list[str] = []
    for rule in plan_for(note.office_id).rules_for(kind):
        for channel in rule.channels():
            try:
                statuses.append(send_one(note, rule, "applicant", user, channel, params, channels))
            except TransientChannelError as exc:
                mid = notifications.message_id(event_id, user.get("sub", ""), channel)
                item = message_log.get(mid)
                if item is not None and item.status == message_log.RETRYING:
                    message_log.apply_status(mid, message_log.FAILED, now_utc(),
                                             f"{exc.reason}; pengguna diminta meminta kode baru")
                statuses.append(message_log.FAILED)
    # sent if any channel took it (a plan may add a second channel the user cannot receive on)
    sent = [s for s in statuses if s in (message_log.SENT, message_log.DELIVERED, message_log.READ)]
    return sent[0] if sent else (statuses[-1] if statuses else "skipped")
