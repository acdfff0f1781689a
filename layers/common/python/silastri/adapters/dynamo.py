"""DynamoDB adapter (pynamodb). Domain records are stored as a JSON body plus the attributes that keys
and indexes need; optimistic locking (`version`) guards read-modify-write updates."""

from __future__ import annotations

import json
import os
import random
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.constants import BINARY, STRING
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from ..domain import audit
from ..domain.clock import now_utc
from ..domain.errors import ConflictError, NotFoundError, ValidationError
from ..domain.ikm import SurveyAnswers
from ..domain.models import Application, DocumentVersion, PermitRecord, Task, TaskStatus, TimelineEvent
from ..settings import get_settings

T = TypeVar("T")


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "ap-southeast-3"


class _Meta:
    """Table names are bound from settings by `bind_tables()` before first use."""

    table_name = ""
    region = _region()


class ByApplicantIndex(GlobalSecondaryIndex["ApplicationItem"]):
    """An applicant's applications, newest first: keys only (the items are then read with BatchGetItem), so that
    rewriting an application writes nothing here unless its keys change."""

    class Meta:
        index_name = "by_applicant_keys"
        projection = KeysOnlyProjection()

    applicant_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ByRegistrationIndex(GlobalSecondaryIndex["ApplicationItem"]):
    """Applications by registration number: keys only (the items are then read with BatchGetItem)."""

    class Meta:
        index_name = "by_registration_keys"
        projection = KeysOnlyProjection()

    registration_number = UnicodeAttribute(hash_key=True)


class ByOfficeSubmittedIndex(GlobalSecondaryIndex["ApplicationItem"]):
    """Sparse index of submitted applications by office and submission time, for the office report: only what
    the report reads (type, status, closing time). Drafts are not in it (no `submitted_key`)."""

    class Meta:
        index_name = "by_office_submitted"
        projection = IncludeProjection(["permit_type", "status", "closed_at"])

    office_id = UnicodeAttribute(hash_key=True)
    submitted_key = UnicodeAttribute(range_key=True)


class CompressedJSONAttribute(Attribute[dict[str, Any]]):
    """A JSON document stored zlib-compressed as binary, as the DynamoDB Developer Guide advises for large
    attribute values ("Best practices for storing large items and attributes": compressing), so that an item is
    billed fewer 1 KB write units. Items written before (the JSON as a string) are read too."""

    attr_type = BINARY

    def serialize(self, value: dict[str, Any]) -> bytes:
        return zlib.compress(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), 9)

    def deserialize(self, value: bytes | str) -> dict[str, Any]:
        if isinstance(value, str):  # the earlier form: the JSON text
            return dict(json.loads(value))
        return dict(json.loads(zlib.decompress(value).decode("utf-8")))

    def get_value(self, value: dict[str, Any]) -> Any:
        return value[STRING] if STRING in value else super().get_value(value)


class ApplicationItem(Model):
    """An application: the attributes its keys and indexes need, and the rest of the model as a compressed JSON
    `body` (without what those attributes already hold, and without its documents: `UploadItem`s). Kept under
    1 KB (one write unit per rewrite) for a whole orsos life."""

    class Meta(_Meta):
        pass

    application_id = UnicodeAttribute(hash_key=True)
    applicant_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    registration_number = UnicodeAttribute(null=True)
    office_id = UnicodeAttribute()
    status = UnicodeAttribute()
    body = CompressedJSONAttribute()
    version = VersionAttribute()
    # the report's attributes (copied from the body on every write; `submitted_key` keys `by_office_submitted`)
    permit_type = UnicodeAttribute(null=True)
    submitted_key = UnicodeAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)
    by_applicant = ByApplicantIndex()
    by_registration = ByRegistrationIndex()
    by_office_submitted = ByOfficeSubmittedIndex()


class UploadItem(Model):
    """One uploaded document version of an application (`DocumentVersion` as JSON), beside the application item
    rather than inside it: an upload writes this small item, not the whole application."""

    class Meta(_Meta):
        pass

    application_id = UnicodeAttribute(hash_key=True)
    upload_id = UnicodeAttribute(range_key=True)
    body = JSONAttribute()


class ByQueueIndex(GlobalSecondaryIndex["TaskItem"]):
    class Meta:
        index_name = "by_queue"
        projection = IncludeProjection(["application_id", "office_id", "step", "role", "status", "execution_name"])

    queue = UnicodeAttribute(hash_key=True)
    opened_at = UnicodeAttribute(range_key=True)


class ByApplicationIndex(GlobalSecondaryIndex["TaskItem"]):
    class Meta:
        index_name = "by_application"
        projection = IncludeProjection(
            ["office_id", "step", "role", "status", "outcome", "note", "decided_by", "decided_at", "execution_name"]
        )

    application_id = UnicodeAttribute(hash_key=True)
    opened_at = UnicodeAttribute(range_key=True)


class ByDueIndex(GlobalSecondaryIndex["TaskItem"]):
    """Sparse index of the tasks with an alarm to ring, by office and the moment of that alarm (`alarm_at`): an
    open officer task's SLA clock (the 80% reminder, then the due time), and a claimed decision's recovery
    (`CLAIM_RECOVERY_AFTER` after the claim: a claim still deciding then was left by a process that died). A task
    leaves it when its claim is finished or it is cancelled (`sla_office` removed) or escalated (`alarm_at`
    removed), so the SLA monitor's and the claims sweeper's queries never grow with closed history."""

    class Meta:
        index_name = "by_due"
        projection = IncludeProjection(["application_id", "step", "role", "status", "opened_at", "due_at",
                                        "remind_at", "reminded_at"])

    sla_office = UnicodeAttribute(hash_key=True)
    alarm_at = UnicodeAttribute(range_key=True)


class ByDeciderIndex(GlobalSecondaryIndex["TaskItem"]):
    """Sparse index of finished decisions (decided, or voided when the run no longer waited) by who made them,
    newest first by decision time: an officer's own decision history ("riwayat keputusan"). `decided_by` and
    `decided_at` are copied from the claim (`claimed_by`, `claimed_at`) when it is finished (`finish_claim`), so a
    decision enters this index and `by_office_decided` once, not at the claim and again at its end."""

    class Meta:
        index_name = "by_decider"
        projection = IncludeProjection(["application_id", "office_id", "step", "role", "status", "outcome", "opened_at"])

    decided_by = UnicodeAttribute(hash_key=True)
    decided_at = UnicodeAttribute(range_key=True)


class ByOfficeDecidedIndex(GlobalSecondaryIndex["TaskItem"]):
    """Sparse index of finished decisions by office and decision time (the office report's time per step and SLA
    compliance, which counts decided tasks only): a task enters it when its claim is finished (`finish_claim`)."""

    class Meta:
        index_name = "by_office_decided"
        projection = IncludeProjection(["application_id", "step", "status", "outcome", "opened_at", "due_at", "sla"])

    office_id = UnicodeAttribute(hash_key=True)
    decided_at = UnicodeAttribute(range_key=True)


class TaskItem(Model):
    class Meta(_Meta):
        pass

    task_id = UnicodeAttribute(hash_key=True)
    application_id = UnicodeAttribute()
    office_id = UnicodeAttribute()
    step = UnicodeAttribute()
    role = UnicodeAttribute()
    status = UnicodeAttribute()
    queue = UnicodeAttribute(null=True)  # set only while open: a sparse index of open work
    opened_at = UnicodeAttribute()
    execution_name = UnicodeAttribute()
    task_token = UnicodeAttribute()  # secret: never returned by the API, never logged
    outcome = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)  # set when the claim is finished (sparse `by_decider`)
    decided_at = UnicodeAttribute(null=True)  # the claim's time, set when it is finished (`by_office_decided`)
    claimed_by = UnicodeAttribute(null=True)  # who claimed the decision (open → deciding) and when
    claimed_at = UnicodeAttribute(null=True)
    decision_details = JSONAttribute(null=True)
    claim_id = UnicodeAttribute(null=True)  # the winning claim (open → deciding); effects are keyed by it
    decision_effects = JSONAttribute(null=True)  # what the claim produced, to publish once the run accepts it
    # set with the claim's changes, in one transaction (`commit_claim`): from then on the claim is delivered, never
    # released (a claim released after it was complete could be delivered by its claimer as well)
    effects_complete = BooleanAttribute(null=True)
    reminded_at = UnicodeAttribute(null=True)
    # SLA clock (UTC ISO): set when an officer task opens; `sla_office` only while open (sparse `by_due`)
    due_at = UnicodeAttribute(null=True)
    remind_at = UnicodeAttribute(null=True)
    alarm_at = UnicodeAttribute(null=True)
    sla_office = UnicodeAttribute(null=True)
    sla = JSONAttribute(null=True)  # {"standard": label, "budget_minutes": n, "consumed_minutes": n}
    escalated_at = UnicodeAttribute(null=True)
    by_queue = ByQueueIndex()
    by_application = ByApplicationIndex()
    by_due = ByDueIndex()
    by_decider = ByDeciderIndex()
    by_office_decided = ByOfficeDecidedIndex()


class EventItem(Model):
    class Meta(_Meta):
        pass

    application_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    body = JSONAttribute()


class CounterItem(Model):
    class Meta(_Meta):
        pass

    counter_id = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)
    holder = UnicodeAttribute(null=True)  # which application took `value` (numbering recovery); the audit head's hash
    # numbering in batches (`advance_numbers`): the applications that took the last len(holders) values, in order
    # (the last `recent` of them in the last batch), and those waiting to take one (ids only, never personal data)
    holders: ListAttribute[str] = ListAttribute(null=True)  # of strings (type inferred per element)
    recent = NumberAttribute(null=True)
    waiting = UnicodeSetAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)  # a numbering counter whose year has ended (UTC ISO): it gives no more


class SurveyItem(Model):
    class Meta(_Meta):
        pass

    office_id = UnicodeAttribute(hash_key=True)
    application_id = UnicodeAttribute(range_key=True)
    body = JSONAttribute()
    filled_at = UnicodeAttribute(null=True)  # when the applicant filled it (UTC ISO): the IKM of a period


class CodeItem(Model):
    """A one-time code (stored as a hash) with its expiry, attempts and last send time."""

    class Meta(_Meta):
        pass

    code_id = UnicodeAttribute(hash_key=True)
    code_hash = UnicodeAttribute()
    expires_epoch = NumberAttribute()
    attempts = NumberAttribute(default=0)
    sent_epoch = NumberAttribute()
    subject = UnicodeAttribute()


class ByNumberIndex(GlobalSecondaryIndex["PermitItem"]):
    class Meta:
        index_name = "by_number"
        projection = AllProjection()

    permit_number = UnicodeAttribute(hash_key=True)


class PermitItem(Model):
    class Meta(_Meta):
        pass

    permit_id = UnicodeAttribute(hash_key=True)
    permit_number = UnicodeAttribute()
    body = JSONAttribute()
    version = VersionAttribute()
    by_number = ByNumberIndex()


_BOUND_TO: str | None = None  # the endpoint the models' connections were made for
_CONNECTION: Connection | None = None  # for transactions, made for the same endpoint


def bind_tables() -> None:
    """Point every model at the tables named in settings (idempotent).

    Bound again (new connections) when the process's AWS endpoint changed since: a local stack started
    after another one in the same process; on Lambda the endpoint never changes."""
    global _BOUND_TO, _CONNECTION
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if endpoint == _BOUND_TO:
        return
    settings = get_settings()
    from .limits import LimitItem
    from .message_log import MessageItem

    for model, name in [
        (ApplicationItem, settings.applications_table),
        (UploadItem, settings.uploads_table),
        (TaskItem, settings.tasks_table),
        (EventItem, settings.events_table),
        (CounterItem, settings.counters_table),
        (PermitItem, settings.permits_table),
        (SurveyItem, settings.surveys_table),
        (CodeItem, settings.codes_table),
        (MessageItem, settings.messages_table),
        (LimitItem, settings.codes_table),
    ]:
        model.Meta.table_name = name
        model.Meta.region = _region()
        model._connection = None  # pynamodb keeps one per model, made for the endpoint of its time
    _CONNECTION = None
    _BOUND_TO = endpoint


def _transaction() -> TransactWrite:
    global _CONNECTION
    if _CONNECTION is None:
        _CONNECTION = Connection(region=_region())
    return TransactWrite(connection=_CONNECTION)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _when(stored: str | None) -> datetime | None:
    return datetime.fromisoformat(stored) if stored else None


def _key(moment: datetime) -> str:
    """A sortable UTC timestamp (fixed width), for index range keys compared as strings."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# ----------------------------------------------------------------------------- applications

def _report_attributes(app: Application) -> dict[str, str | None]:
    """What the office report's index reads, copied from the body (see `ByOfficeSubmittedIndex`)."""
    return {"permit_type": app.permit_type,
            "submitted_key": _key(app.submitted_at) if app.submitted_at else None,
            "closed_at": _key(app.closed_at) if app.closed_at else None}


# model fields the item holds as attributes of their own (keys, index keys, the report's): not repeated in the body
_ITEM_FIELDS = ("application_id", "applicant_id", "office_id", "status", "registration_number", "permit_type",
                "created_at", "submitted_at", "closed_at")


def _body(app: Application) -> dict[str, Any]:
    """The application item's JSON body: the model without its documents (kept as `UploadItem`s), without the
    fields held as item attributes (`_ITEM_FIELDS`) and without values left at their defaults (fewer bytes on
    every rewrite; reading restores them)."""
    return app.model_dump(mode="json", exclude={"documents", *_ITEM_FIELDS}, exclude_defaults=True)


def _fields_of(item: ApplicationItem) -> dict[str, Any]:
    """The model fields held as item attributes (`_ITEM_FIELDS`), for reading a body written without them."""
    fields: dict[str, Any] = {"application_id": item.application_id, "applicant_id": item.applicant_id,
                              "office_id": item.office_id, "status": item.status, "created_at": item.created_at}
    if item.registration_number is not None:
        fields["registration_number"] = item.registration_number
    if item.permit_type is not None:
        fields["permit_type"] = item.permit_type
    if item.submitted_key:
        fields["submitted_at"] = item.submitted_key
    if item.closed_at:
        fields["closed_at"] = item.closed_at
    return fields


def _attributes(app: Application) -> dict[str, str | None]:
    """The item's attributes besides its key, body and version (see `_ITEM_FIELDS`)."""
    return {"applicant_id": app.applicant_id, "created_at": _iso(app.created_at),
            "registration_number": app.registration_number, "office_id": app.office_id, "status": app.status.value,
            **_report_attributes(app)}


def _application_item(app: Application) -> ApplicationItem:
    item = ApplicationItem(application_id=app.application_id, body=_body(app))
    for name, value in _attributes(app).items():
        setattr(item, name, value)
    return item


def create_application(app: Application) -> None:
    """Store a new application (and its documents, if it has any). Raises ConflictError when the id exists."""
    bind_tables()
    item = _application_item(app)
    try:
        if app.documents:
            with _transaction() as transaction:
                transaction.save(item, condition=ApplicationItem.application_id.does_not_exist())
                for doc in app.documents:
                    transaction.save(_upload_item(app.application_id, doc.model_dump(mode="json")))
        else:
            item.save(condition=ApplicationItem.application_id.does_not_exist())
    except (PutError, TransactWriteError) as exc:
        raise ConflictError("application exists") from exc


def _upload_item(application_id: str, doc: dict[str, Any]) -> UploadItem:
    return UploadItem(application_id=application_id, upload_id=doc["upload_id"], body=doc)


def _stored_documents(application_id: str, item: ApplicationItem, consistent: bool = True) -> list[dict[str, Any]]:
    """The application's documents as JSON, in upload order: its `UploadItem`s, plus (an application stored before
    documents had their own items) those still embedded in its body."""
    found = {doc["upload_id"]: doc for doc in (item.body or {}).get("documents") or []}
    for upload in UploadItem.query(application_id, consistent_read=consistent):
        found[upload.upload_id] = dict(upload.body)
    return sorted(found.values(), key=lambda doc: (doc["uploaded_at"], doc["upload_id"]))


def _application(item: ApplicationItem, documents: bool, consistent: bool = True) -> Application:
    """The domain model of a stored item; with `documents`, its documents too (one Query), else an empty list."""
    body = _fields_of(item) | {k: v for k, v in (item.body or {}).items() if k != "documents"}
    if documents:
        body["documents"] = _stored_documents(item.application_id, item, consistent)
    return Application.model_validate(body)


def get_application(application_id: str, documents: bool = True) -> Application:
    """The application (strongly consistent). `documents=False` skips reading its documents (one Query fewer):
    the model then has none, so pass it only where they are not used. Raises NotFoundError."""
    bind_tables()
    try:
        item = ApplicationItem.get(application_id, consistent_read=True)
    except DoesNotExist:
        raise NotFoundError("permohonan tidak ditemukan", field="application_id") from None
    return _application(item, documents)


def update_application(application_id: str, change: Callable[[Application], T], attempts: int = 12,
                       documents: bool = True) -> tuple[Application, T]:
    """Read, apply `change` (which mutates the model and may raise), write back with optimistic locking.

    Only what changed is written: the application item when its fields changed (no index rewritten unless a key
    changed), each new or changed document as its own item. Documents are written in one transaction with the
    application item (or a check of its version), so they change only on the application `change` saw.
    `documents=False` neither reads nor writes documents (for changes that do not touch them; the returned model
    then has none). An application still holding its documents in its body is moved to document items on its
    first write. Retries (with jittered backoff) on a concurrent write; skips the write when nothing changed.
    Returns the application as stored and what `change` returned."""
    bind_tables()
    for attempt in range(attempts):
        try:
            item = ApplicationItem.get(application_id, consistent_read=True)
        except DoesNotExist:
            raise NotFoundError("permohonan tidak ditemukan", field="application_id") from None
        legacy = bool((item.body or {}).get("documents"))
        app = _application(item, documents or legacy)
        before_docs = {d.upload_id: d.model_dump(mode="json") for d in app.documents}
        result = change(app)
        body = _body(app)
        if not (documents or legacy) and app.documents:
            raise ValueError("update_application(documents=False) cannot add documents")  # they would be lost
        after_docs = {d.upload_id: d.model_dump(mode="json") for d in app.documents} if documents or legacy else {}
        changed_docs = [doc for upload_id, doc in after_docs.items() if legacy or before_docs.get(upload_id) != doc]
        attributes = _attributes(app)
        body_changed = body != item.body or any(getattr(item, k) != v for k, v in attributes.items())
        if not body_changed and not changed_docs:
            return app, result
        if body_changed:
            item.body = body
            for name, value in attributes.items():
                setattr(item, name, value)
        try:
            if not changed_docs:
                item.save()
            else:
                with _transaction() as transaction:
                    if body_changed:
                        transaction.save(item)
                    else:  # the documents change only on the application as read
                        transaction.condition_check(ApplicationItem, application_id,
                                                    condition=ApplicationItem.version == item.version)
                    for doc in changed_docs:
                        transaction.save(_upload_item(application_id, doc))
        except (PutError, TransactWriteError) as exc:
            if _is_conditional_failure(exc) or _is_cancelled(exc):
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # noqa: S311 - jitter, not security
                continue
            raise
        return app, result
    raise ConflictError("permohonan sedang diubah oleh pengguna lain; coba lagi")


def save_document(application_id: str, doc: DocumentVersion, check: Callable[[Application], None],
                  new: bool, guarded: bool = False) -> Application:
    """Store one document version as its own item, `check(app)` (it raises, e.g. ConflictError) passing on the
    application read (consistent, without its documents) just before; `new`: the upload slot must not exist yet,
    else it must exist (a slot being completed).

    Unguarded: one conditional PutItem (1 WRU); a state change in the milliseconds between the read and the put is
    not excluded, so use it only where a document landing just after a state change is inert (a quarantined
    slot: completing it checks the state again). `guarded`: the put and a check of the application's version as
    read in one transaction (4 WRU), so an accepted document lands only on the application `check` passed (a
    resubmission at the same moment makes it re-read and refuse). An application still holding its documents in
    its body goes through `update_application` (moving them out). Returns the application as read.
    Raises NotFoundError, ConflictError (the slot condition failed, `check` refused, or the application kept
    changing)."""
    bind_tables()
    for attempt in range(5):
        try:
            item = ApplicationItem.get(application_id, consistent_read=True)
        except DoesNotExist:
            raise NotFoundError("permohonan tidak ditemukan", field="application_id") from None
        if (item.body or {}).get("documents"):  # stored before documents had items: the transactional path moves them
            def change(app: Application) -> None:
                check(app)
                app.documents = [d for d in app.documents if d.upload_id != doc.upload_id] + [doc]

            return update_application(application_id, change)[0]
        app = _application(item, documents=False)
        check(app)
        upload = _upload_item(application_id, doc.model_dump(mode="json"))
        condition = UploadItem.upload_id.does_not_exist() if new else UploadItem.upload_id.exists()
        try:
            if not guarded:
                upload.save(condition=condition)
            else:
                with _transaction() as transaction:
                    transaction.condition_check(ApplicationItem, application_id,
                                                condition=ApplicationItem.version == item.version)
                    transaction.save(upload, condition=condition)
        except (PutError, TransactWriteError) as exc:
            if not (_is_conditional_failure(exc) or _is_cancelled(exc)):
                raise
            if guarded and ApplicationItem.get(application_id, consistent_read=True).version != item.version:
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # noqa: S311 - jitter, not security
                continue  # the application changed: read it again and check again
            raise ConflictError("unggahan ini sudah ada atau tidak ditemukan; muat ulang halaman") from exc
        return app
    raise ConflictError("permohonan sedang diubah oleh pengguna lain; coba lagi")


def _is_cancelled(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) in ("TransactionCanceledException", "TransactionConflictException")


def _by_keys(application_ids: list[str], documents: bool, consistent: bool = False) -> dict[str, Application]:
    """Applications by id with BatchGetItem (unknown ids left out); with `documents`, one Query each for those."""
    wanted = list(dict.fromkeys(application_ids))
    if not wanted:
        return {}
    return {item.application_id: _application(item, documents, consistent)
            for item in ApplicationItem.batch_get(wanted, consistent_read=consistent)}


def applications_of(applicant_id: str, documents: bool = True) -> list[Application]:
    """The applicant's applications, newest first: the keys-only index, then one BatchGetItem (and one Query of
    documents per application unless `documents=False`)."""
    bind_tables()
    ids = [i.application_id for i in ApplicationItem.by_applicant.query(applicant_id, scan_index_forward=False)]
    found = _by_keys(ids, documents)
    return [found[i] for i in ids if i in found]


def applications_by_registration(registration_number: str) -> list[Application]:
    """Every application with this registration number: numbers are per office (two offices on the same
    prefix both have REG-2026-000001). [] for an empty or unknown number."""
    if not registration_number or not registration_number.strip():
        return []
    bind_tables()
    ids = [item.application_id for item in ApplicationItem.by_registration.query(registration_number)]
    found = _by_keys(ids, documents=True, consistent=True)
    return [found[i] for i in ids if i in found]


def application_by_registration(registration_number: str, office_id: str | None = None) -> Application:
    """The application of `office_id` with this registration number; without an office, the only one.

    Raises NotFoundError (also for an empty number, or another office's), ValidationError (field `office`)
    when no office is given and two offices hold the number."""
    found = [app for app in applications_by_registration(registration_number)
             if office_id is None or app.office_id == office_id]
    if not found:
        raise NotFoundError("nomor registrasi tidak ditemukan", field="registration_number")
    if len(found) > 1:
        raise ValidationError("nomor registrasi ini ada di lebih dari satu kantor; sebutkan kantornya",
                              field="office")
    return found[0]


def applications_by_id(application_ids: list[str], documents: bool = True) -> dict[str, Application]:
    """The applications with these ids (one batch read, plus one Query of documents each unless
    `documents=False`; unknown ids are left out)."""
    bind_tables()
    return _by_keys(application_ids, documents)


def all_applications(documents: bool = True) -> Iterator[Application]:
    """Full scan, for operators (restart resume, benchmarks); never on a request path."""
    bind_tables()
    for item in ApplicationItem.scan():
        yield _application(item, documents)


# ----------------------------------------------------------------------------- tasks

def _task(item: TaskItem) -> Task:
    return Task(
        task_id=item.task_id, application_id=item.application_id, office_id=item.office_id, step=item.step,
        role=item.role, status=TaskStatus(item.status), opened_at=datetime.fromisoformat(item.opened_at),
        execution_name=item.execution_name, outcome=item.outcome, note=item.note,
        decided_by=item.decided_by or item.claimed_by,  # a claim not finished yet: who and when it was claimed
        decided_at=_when(item.decided_at or item.claimed_at),
        claim_id=item.claim_id,
        due_at=datetime.fromisoformat(item.due_at) if item.due_at else None,
        remind_at=datetime.fromisoformat(item.remind_at) if item.remind_at else None,
        reminded_at=datetime.fromisoformat(item.reminded_at) if item.reminded_at else None,
        escalated_at=datetime.fromisoformat(item.escalated_at) if item.escalated_at else None,
        sla=dict(item.sla) if item.sla else None,
    )


def queue_key(office_id: str, role: str) -> str:
    return f"{office_id}#{role}"


def open_task(task: Task, token: str) -> Task:
    """Open a human task, or — for the same application and step still open (a resumed run) — hand the
    existing task the new token. Returns the task as stored."""
    bind_tables()
    for existing in TaskItem.by_application.query(task.application_id):
        if existing.status == TaskStatus.OPEN.value and existing.step == task.step:
            full = TaskItem.get(existing.task_id, consistent_read=True)
            full.update(actions=[TaskItem.task_token.set(token), TaskItem.execution_name.set(task.execution_name)])
            return _task(full)
    item = TaskItem(
        task_id=task.task_id, application_id=task.application_id, office_id=task.office_id, step=task.step,
        role=task.role, status=TaskStatus.OPEN.value, queue=queue_key(task.office_id, task.role),
        opened_at=_iso(task.opened_at), execution_name=task.execution_name, task_token=token,
    )
    if task.due_at and task.remind_at:
        item.due_at, item.remind_at, item.alarm_at = _key(task.due_at), _key(task.remind_at), _key(task.remind_at)
        item.sla_office, item.sla = task.office_id, task.sla
    item.save(condition=TaskItem.task_id.does_not_exist())
    return task


def get_task(task_id: str) -> Task:
    bind_tables()
    try:
        return _task(TaskItem.get(task_id, consistent_read=True))
    except DoesNotExist:
        raise NotFoundError("tugas tidak ditemukan", field="task_id") from None


#: A claim still deciding this long after it was made was left by a process that died (an API request ends by
#: 30 s: API Gateway's 29 s, the function's timeout): the claims sweeper (`stale_claims`) settles it.
CLAIM_RECOVERY_AFTER = timedelta(minutes=5)


def claim_task(task_id: str, claim_id: str, outcome: str, note: str | None, actor_id: str, at: datetime,
               details: dict[str, Any] | None = None) -> tuple[Task, str]:
    """Claim the decision: one conditional write open → deciding, by whom, with which outcome.

    Only one claim can ever win; the task leaves the queue, and its alarm (`by_due`) is set to `at` +
    `CLAIM_RECOVERY_AFTER` for the claims sweeper. Returns the claimed task as the write left it (the update's
    ALL_NEW image: no second read) and its token (backend use only). Raises ConflictError when the task is no longer
    open (decided, being decided or cancelled)."""
    bind_tables()
    item = TaskItem(task_id=task_id)
    try:
        item.update(
            actions=[
                TaskItem.status.set(TaskStatus.DECIDING.value),
                TaskItem.queue.remove(),
                TaskItem.sla_office.set(TaskItem.office_id),
                TaskItem.alarm_at.set(_key(at + CLAIM_RECOVERY_AFTER)),
                TaskItem.outcome.set(outcome),
                *([TaskItem.note.set(note)] if note else []),
                TaskItem.claimed_by.set(actor_id),
                TaskItem.claimed_at.set(_iso(at)),
                TaskItem.decision_details.set(details or {}),
                TaskItem.claim_id.set(claim_id),
                TaskItem.decision_effects.set({}),
            ],
            condition=(TaskItem.status == TaskStatus.OPEN.value),
        )
    except UpdateError as exc:
        if _is_conditional_failure(exc):
            raise ConflictError("tugas ini sudah diputuskan") from exc
        raise
    return _task(item), item.task_token


def _update_if(item: Model, actions: list[Any], condition: Any) -> bool:
    """One conditional update; False (nothing written) when `condition` does not hold."""
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if _is_conditional_failure(exc):
            return False
        raise
    return True


def _update_claim(item: TaskItem, claim_id: str, actions: list[Any]) -> bool:
    """Apply `actions` only while the task is deciding under `claim_id`; False when it no longer is."""
    return _update_if(item, actions,
                      (TaskItem.status == TaskStatus.DECIDING.value) & (TaskItem.claim_id == claim_id))


def release_claim(task_id: str, claim_id: str) -> bool:
    """Undo a claim whose effects could not be made (deciding → open, back in its queue).

    Conditional on the claim, and on its changes not being committed (`commit_claim`: a complete claim is
    delivered, never released); returns False, changing nothing, otherwise."""
    bind_tables()
    item = TaskItem.get(task_id, consistent_read=True)
    return _update_if(item, [
        TaskItem.status.set(TaskStatus.OPEN.value), TaskItem.queue.set(queue_key(item.office_id, item.role)),
        *_sla_alarm_actions(item),
        TaskItem.outcome.remove(), TaskItem.note.remove(), TaskItem.decided_by.remove(),
        TaskItem.decided_at.remove(), TaskItem.claimed_by.remove(), TaskItem.claimed_at.remove(),
        TaskItem.decision_details.remove(), TaskItem.claim_id.remove(),
        TaskItem.decision_effects.remove()],
        (TaskItem.status == TaskStatus.DECIDING.value) & (TaskItem.claim_id == claim_id)
        & TaskItem.effects_complete.does_not_exist())


def _sla_alarm_actions(item: TaskItem) -> list[Any]:
    """The `by_due` entry of a task open again: its SLA clock's next alarm (the reminder, the due time once
    reminded, none once escalated), or out of the index when it has no SLA clock."""
    if not item.due_at:
        return [TaskItem.sla_office.remove(), TaskItem.alarm_at.remove()]
    if item.escalated_at:
        return [TaskItem.sla_office.set(item.office_id), TaskItem.alarm_at.remove()]
    return [TaskItem.sla_office.set(item.office_id),
            TaskItem.alarm_at.set(item.due_at if item.reminded_at else (item.remind_at or item.due_at))]


def task_token_of(task_id: str) -> str | None:
    """The token a task was last handed (backend use only), None for an unknown task."""
    bind_tables()
    try:
        return str(TaskItem.get(task_id, consistent_read=True, attributes_to_get=["task_token"]).task_token)
    except DoesNotExist:
        return None


#: an audit entry to append, as `build(seq, prev_hash)` (services/timeline.py `entry`)
Builder = Callable[[int, str], TimelineEvent]


def void_claim(task: Task, previous: dict[str, Any], entry: Builder | None = None, attempts: int = 12) -> bool:
    """deciding → cancelled for `task` as claimed, and its changes undone on the application (`previous`: field →
    value before the claim), with its audit `entry` (`timeline.entry`) if given, in one transaction: a crash leaves
    all or nothing, and the claim is voided only while it is still this claim (not finished, not taken over).
    Returns False, changing nothing, when it no longer is. Retries on a concurrent change of the application or
    of the audit trail; raises ConflictError when it keeps changing."""
    assert task.claim_id
    return _with_claim(task, _setting(previous), _finish_actions(task, TaskStatus.CANCELLED), entry, attempts)


def commit_claim(task: Task, changes: dict[str, Any], effects: dict[str, Any], entry: Builder | None = None,
                 attempts: int = 12) -> bool:
    """Apply a claim's `changes` (application field → value), record its `effects` as complete and append its audit
    `entry` (`timeline.entry`: the decision as the trail says it), in one transaction, only while the claim is still
    this one (deciding under `task.claim_id`): the changes are never on the application without the record of them
    (and of the values they replaced) nor without the decision's entry in the audit trail, and a claim released or
    taken over meanwhile (the claims sweeper, a resumed run's opener) gets nothing written. Returns False, writing
    nothing, when the claim is no longer this one. Retries on a concurrent change of the application or of the audit
    trail; raises ConflictError when it keeps changing."""
    assert task.claim_id
    actions = [TaskItem.decision_effects.set({**effects, "complete": True}), TaskItem.effects_complete.set(True)]
    return _with_claim(task, _setting(changes) if changes else None, actions, entry, attempts)


def _setting(values: dict[str, Any]) -> Callable[[Application], None]:
    """A change that sets application fields (field → value)."""
    def change(target: Application) -> None:
        for name, value in values.items():
            setattr(target, name, value)

    return change


def _with_claim(task: Task, change: Callable[[Application], None] | None, actions: list[Any], entry: Builder | None,
                attempts: int) -> bool:
    """In one transaction, conditional on `task` still deciding under its claim: update the task with `actions`,
    `change` the application (when given; conditional on its version too) and append the audit `entry` (when given;
    conditional on its sequence number, the head moved after). False (nothing written) when the claim no longer is
    this one. An application still holding its documents in its body has them moved to their items first."""
    bind_tables()
    claim_still = (TaskItem.status == TaskStatus.DECIDING.value) & (TaskItem.claim_id == task.claim_id)
    head_id = audit_head_id(task.application_id)
    for attempt in range(attempts):
        item = None
        if change is not None:
            item = ApplicationItem.get(task.application_id, consistent_read=True)
            if (item.body or {}).get("documents"):  # stored before documents had items
                update_application(task.application_id, lambda target: None)
                continue
            app = _application(item, documents=False)
            change(app)
            item.body = _body(app)
            for name, value in _attributes(app).items():
                setattr(item, name, value)
        seq, head_hash = read_counter(head_id) if entry else (0, None)
        event = entry(seq + 1, head_hash or audit.GENESIS) if entry else None
        try:
            with _transaction() as transaction:
                if item is not None:
                    transaction.save(item)
                transaction.update(TaskItem(task_id=task.task_id), actions=actions, condition=claim_still)
                if event is not None:
                    transaction.save(EventItem(application_id=task.application_id, event_id=event.event_id,
                                               body=event.model_dump(mode="json")),
                                     condition=EventItem.event_id.does_not_exist())
        except TransactWriteError as exc:
            if not _is_cancelled(exc):
                raise
            current = TaskItem.get(task.task_id, consistent_read=True)
            if current.status != TaskStatus.DECIDING.value or current.claim_id != task.claim_id:
                return False
            if event is not None:  # the entry's place may be taken: help its writer move the head
                _help_head_past(task.application_id, seq)
            time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # noqa: S311 - something changed: again
            continue
        if event is not None:
            advance_counter(head_id, seq, event.hash)
        return True
    raise ConflictError("permohonan sedang diubah oleh pengguna lain; coba lagi")


def take_over_claim(task: Task, claim_id: str, at: datetime | None = None) -> Task | None:
    """Make a deciding claim this caller's to deliver: one conditional write of a new `claim_id` while the task is
    still deciding under `task.claim_id`, so whoever held the claim before can no longer finish or void it (their
    conditional writes name the old claim); the claims sweeper's alarm moves to `at` (default now) +
    `CLAIM_RECOVERY_AFTER`. Returns the task as written, None when the claim is gone (finished, voided, released or
    taken over by another)."""
    bind_tables()
    assert task.claim_id
    item = TaskItem(task_id=task.task_id)
    alarm = _key((at or datetime.now(UTC)) + CLAIM_RECOVERY_AFTER)
    if not _update_claim(item, task.claim_id, [TaskItem.claim_id.set(claim_id), TaskItem.alarm_at.set(alarm)]):
        return None
    return _task(item)


def defer_claim_recovery(task_id: str, until: datetime) -> bool:
    """Look at a claim the sweeper could not settle again at `until` (its `by_due` alarm); False when the task is
    no longer deciding."""
    bind_tables()
    return _update_if(TaskItem(task_id=task_id), [TaskItem.alarm_at.set(_key(until))],
                      TaskItem.status == TaskStatus.DECIDING.value)


def stale_claims(office_id: str, now: datetime) -> Iterator[Task]:
    """An office's decisions still deciding past their recovery alarm (`CLAIM_RECOVERY_AFTER` after the claim or
    the last take-over): left by a process that died. A query on the sparse `by_due` index."""
    bind_tables()
    for item in TaskItem.by_due.query(office_id, TaskItem.alarm_at <= _key(now)):
        if item.status == TaskStatus.DECIDING.value:
            yield get_task(item.task_id)


def _finish_actions(task: Task, status: TaskStatus) -> list[Any]:
    """The status a claim ends in, and who decided it when (copied from the claim) for the history indexes; out of
    `by_due` (nothing left to recover)."""
    return [TaskItem.status.set(status.value), TaskItem.sla_office.remove(), TaskItem.alarm_at.remove(),
            *([TaskItem.decided_by.set(task.decided_by), TaskItem.decided_at.set(_iso(task.decided_at))]
              if task.decided_by and task.decided_at else [])]


def finish_claim(task: Task, status: TaskStatus) -> bool:
    """deciding → decided (the run accepted it) or → cancelled (the run no longer waits), for `task` as claimed
    (its `claim_id`, and `decided_by`/`decided_at` as the claim set them: copied to the decision history indexes).

    Returns True only for the call that made the transition (so that it is announced once)."""
    bind_tables()
    assert task.claim_id
    return _update_claim(TaskItem(task_id=task.task_id), task.claim_id, _finish_actions(task, status))


def claim_of(task_id: str) -> tuple[Task, dict[str, Any], dict[str, Any]]:
    """The task with its decision details and recorded effects (backend use only)."""
    bind_tables()
    try:
        item = TaskItem.get(task_id, consistent_read=True)
    except DoesNotExist:
        raise NotFoundError("tugas tidak ditemukan", field="task_id") from None
    return _task(item), dict(item.decision_details or {}), dict(item.decision_effects or {})


def deciding_tasks_of(application_id: str, listed: list[Task] | None = None) -> list[tuple[Task, str]]:
    """The application's claimed-but-unfinished decisions, with their tokens (backend use only). `listed`: the
    application's tasks as just listed (`tasks_of_application`) by a caller that needs them too; each one
    listed as deciding is read again (consistent) before it counts."""
    bind_tables()
    found = []
    candidates = ([t.task_id for t in listed if t.status == TaskStatus.DECIDING] if listed is not None else
                  [i.task_id for i in TaskItem.by_application.query(application_id)
                   if i.status == TaskStatus.DECIDING.value])
    for task_id in candidates:
        full = TaskItem.get(task_id, consistent_read=True)
        if full.status == TaskStatus.DECIDING.value:
            found.append((_task(full), full.task_token))
    return found


def cancel_open_tasks(application_id: str) -> None:
    bind_tables()
    for existing in TaskItem.by_application.query(application_id):
        if existing.status == TaskStatus.OPEN.value:
            try:
                TaskItem(task_id=existing.task_id).update(
                    actions=[TaskItem.status.set(TaskStatus.CANCELLED.value), TaskItem.queue.remove(),
                             TaskItem.sla_office.remove()],
                    condition=(TaskItem.status == TaskStatus.OPEN.value),
                )
            except UpdateError as exc:
                if not _is_conditional_failure(exc):
                    raise


def open_task_of(application_id: str) -> tuple[Task, str] | None:
    """The application's open task and its token (backend use only)."""
    bind_tables()
    for existing in TaskItem.by_application.query(application_id, scan_index_forward=False):
        if existing.status == TaskStatus.OPEN.value:
            full = TaskItem.get(existing.task_id, consistent_read=True)
            if full.status == TaskStatus.OPEN.value:
                return _task(full), full.task_token
    return None


def tasks_of_application(application_id: str) -> list[Task]:
    """Every task of the application, oldest first: one query of `by_application` (which tasks) and one
    BatchGetItem of the whole items, not a GetItem per task (reads as consistent as before)."""
    bind_tables()
    ids = [i.task_id for i in TaskItem.by_application.query(application_id, attributes_to_get=["task_id"])]
    found = tasks_by_ids(ids)
    return [found[i] for i in ids if i in found]


def tasks_by_ids(task_ids: list[str]) -> dict[str, Task]:
    """Tasks by id with one BatchGetItem (unknown ids left out; never the token)."""
    bind_tables()
    wanted = list(dict.fromkeys(task_ids))
    return {item.task_id: _task(item) for item in TaskItem.batch_get(wanted)} if wanted else {}


def applications_by_ids(application_ids: list[str]) -> dict[str, Application]:
    """Applications by id without their documents, with one BatchGetItem (unknown ids left out)."""
    bind_tables()
    return _by_keys(application_ids, documents=False)


def queue(office_id: str, role: str) -> list[Task]:
    """Open tasks of an office and role, oldest first."""
    bind_tables()
    tasks = []
    for item in TaskItem.by_queue.query(queue_key(office_id, role), scan_index_forward=True):
        if item.status == TaskStatus.OPEN.value:
            tasks.append(Task(
                task_id=item.task_id, application_id=item.application_id, office_id=item.office_id,
                step=item.step, role=item.role, status=TaskStatus.OPEN,
                opened_at=datetime.fromisoformat(item.opened_at), execution_name=item.execution_name,
            ))
    return tasks


def decisions_by(actor_id: str, limit: int = 100) -> list[Task]:
    """The decisions `actor_id` made, once finished (decided or voided: `finish_claim`), newest first by the time
    they were claimed, at most `limit`.

    One query of the sparse `by_decider` index; the tasks carry only what the index projects (no token)."""
    bind_tables()
    found = []
    for item in TaskItem.by_decider.query(actor_id, scan_index_forward=False, limit=limit):
        found.append(Task(
            task_id=item.task_id, application_id=item.application_id, office_id=item.office_id, step=item.step,
            role=item.role, status=TaskStatus(item.status), opened_at=datetime.fromisoformat(item.opened_at),
            execution_name="", outcome=item.outcome, decided_by=actor_id,
            decided_at=datetime.fromisoformat(item.decided_at)))
        if len(found) >= limit:
            break
    return found


def mark_reminded(task_id: str, at: datetime) -> bool:
    """The 80% reminder, once: set `reminded_at` and move the task's alarm to its due time.

    One conditional write; False if already reminded or no longer open (so a reminder goes out once)."""
    bind_tables()
    item = TaskItem.get(task_id, consistent_read=True)
    return _update_if(
        item, [TaskItem.reminded_at.set(_iso(at)), *([TaskItem.alarm_at.set(item.due_at)] if item.due_at else [])],
        TaskItem.reminded_at.does_not_exist() & (TaskItem.status == TaskStatus.OPEN.value))


def mark_escalated(task_id: str, at: datetime) -> bool:
    """The breach escalation, once: set `escalated_at` and take the task out of the `by_due` index.

    One conditional write; False if already escalated or no longer open."""
    bind_tables()
    return _update_if(
        TaskItem(task_id=task_id),
        [TaskItem.escalated_at.set(_iso(at)), TaskItem.reminded_at.set(TaskItem.reminded_at | _iso(at)),
         TaskItem.alarm_at.remove()],
        TaskItem.escalated_at.does_not_exist() & (TaskItem.status == TaskStatus.OPEN.value))


def tasks_with_alarm(office_id: str, now: datetime) -> Iterator[Task]:
    """Open officer tasks of an office whose next SLA alarm (reminder or due time) is at or before `now`.

    A query on the sparse `by_due` index: its cost follows the open, ringing tasks, not closed history."""
    bind_tables()
    for item in TaskItem.by_due.query(office_id, TaskItem.alarm_at <= _key(now)):
        if item.status == TaskStatus.OPEN.value:
            yield get_task(item.task_id)


# ----------------------------------------------------------------------------- timeline

def audit_head_id(application_id: str) -> str:
    return f"audit#{application_id}"


def append_chained(application_id: str, build: Callable[[int, str], TimelineEvent]) -> TimelineEvent:
    """Append the next audit entry: `build(seq, prev_hash)` makes it; the head moves in the same step.

    Concurrent appends are ordered by a conditional put on the sequence number. A head left behind by
    a crash or by a concurrent appender (entry written, head not moved) is found by that put failing and is
    brought forward first, so no entry is ever skipped: three calls (read the head, put, move the head) when
    nobody else appends."""
    bind_tables()
    head_id = audit_head_id(application_id)
    for _ in range(50):
        seq, head_hash = read_counter(head_id)
        event = build(seq + 1, head_hash or audit.GENESIS)
        item = EventItem(application_id=application_id, event_id=event.event_id, body=event.model_dump(mode="json"))
        try:
            item.save(condition=EventItem.event_id.does_not_exist())
        except PutError as exc:
            if not _is_conditional_failure(exc):
                raise
            _help_head_past(application_id, seq)  # its writer may have died; then try again
            time.sleep(random.uniform(0, 0.005))  # noqa: S311 - jitter
            continue
        advance_counter(head_id, seq, event.hash)
        return event
    raise ConflictError("jejak audit sedang sibuk; coba lagi")


def _help_head_past(application_id: str, seq: int) -> None:
    """Entry `seq + 1` may be written with the audit head still at `seq` (its writer died, or is about to move it):
    move the head past it (a conditional write; a no-op when it moved already or the entry is not there)."""
    try:
        existing = EventItem.get(application_id, f"{seq + 1:08d}", consistent_read=True)
    except DoesNotExist:
        return
    advance_counter(audit_head_id(application_id), seq, existing.body["hash"])


def audit_head(application_id: str) -> tuple[int, str | None]:
    return read_counter(audit_head_id(application_id))


def raw_events(application_id: str) -> list[dict[str, Any]]:
    bind_tables()
    return [dict(i.body) for i in EventItem.query(application_id, consistent_read=True)]


def timeline(application_id: str) -> list[TimelineEvent]:
    bind_tables()
    return [TimelineEvent.model_validate(i.body) for i in EventItem.query(application_id, consistent_read=True)]


# ----------------------------------------------------------------------------- counters

def increment_counter(counter_id: str) -> int:
    """Atomic +1 (for registration numbers, where a gap does not matter)."""
    bind_tables()
    item = CounterItem(counter_id=counter_id)
    item.update(actions=[CounterItem.value.add(1)])
    return int(item.value)


def read_counter(counter_id: str) -> tuple[int, str | None]:
    bind_tables()
    try:
        item = CounterItem.get(counter_id, consistent_read=True)
    except DoesNotExist:
        return 0, None
    return int(item.value), item.holder


def advance_counter(counter_id: str, expected: int, holder: str) -> bool:
    """Move the counter from `expected` to `expected + 1`, recording who holds the new value.

    One conditional write: either this caller owns the number or someone else got there first (False).
    """
    bind_tables()
    item = CounterItem(counter_id=counter_id)
    condition = (CounterItem.value == expected) if expected else (
        CounterItem.counter_id.does_not_exist() | (CounterItem.value == 0))
    try:
        item.update(actions=[CounterItem.value.set(expected + 1), CounterItem.holder.set(holder)], condition=condition)
    except UpdateError as exc:
        if _is_conditional_failure(exc):
            return False
        raise
    return True


class NumberCounter(NamedTuple):
    """A numbering counter as stored: `holders[i]` took `value - len(holders) + 1 + i`; the last `recent` of
    them are the last batch; `waiting` asked for a number (`wait_for_number`) and are in no batch yet."""

    value: int
    holders: tuple[str, ...]
    recent: int
    waiting: frozenset[str]
    closed: bool = False  # its year has ended (`close_number_counter`): `advance_numbers` refuses it


def _number_counter(item: CounterItem) -> NumberCounter:
    if item.holders is not None:
        holders = tuple(item.holders)
        recent = int(item.recent if item.recent is not None else len(holders))
    else:  # written by `advance_counter`: one holder
        holders, recent = ((item.holder,), 1) if item.holder else ((), 0)
    return NumberCounter(int(item.value or 0), holders, recent, frozenset(item.waiting or ()), item.closed_at is not None)


def read_number_counter(counter_id: str) -> NumberCounter:
    """A numbering counter (strongly consistent); an absent one reads as value 0, no holders, none waiting."""
    bind_tables()
    try:
        return _number_counter(CounterItem.get(counter_id, consistent_read=True))
    except DoesNotExist:
        return NumberCounter(0, (), 0, frozenset())


def advance_numbers(counter_id: str, expected: int, holders: list[str], batch: int,
                    waiting: frozenset[str] = frozenset()) -> bool:
    """Move a numbering counter from `expected` to `expected + batch` with one conditional write, `holders`
    becoming the holders of the last len(holders) values (the last `batch` of them new); those of `waiting` (as
    read) leave the waiting set. False when the counter is no longer at `expected`, one of `waiting` has left
    the set (`stop_waiting`), or the counter is closed (`close_number_counter`): nothing written."""
    bind_tables()
    item = CounterItem(counter_id=counter_id)
    condition = (CounterItem.value == expected) if expected else (
        CounterItem.counter_id.does_not_exist() | (CounterItem.value == 0))
    condition &= CounterItem.closed_at.does_not_exist()
    for application_id in sorted(waiting):  # a taker that gave up is never numbered behind its back
        condition &= CounterItem.waiting.contains(application_id)
    actions: list[Any] = [CounterItem.value.set(expected + batch), CounterItem.holders.set(holders),
                          CounterItem.recent.set(batch), CounterItem.holder.remove()]
    if waiting:
        actions.append(CounterItem.waiting.delete(set(waiting)))
    return _update_if(item, actions, condition)


def close_number_counter(counter_id: str) -> NumberCounter:
    """Close a numbering counter whose year has ended (idempotent; an absent one is created closed at 0), so no
    later write moves it, and return it as it is after that write (consistent: the holders it ends with)."""
    bind_tables()
    item = CounterItem(counter_id=counter_id)
    item.update(actions=[CounterItem.closed_at.set(CounterItem.closed_at | now_utc().isoformat())])  # ALL_NEW
    return _number_counter(item)


def wait_for_number(counter_id: str, application_id: str) -> NumberCounter:
    """Add the application to the counter's waiting set (an ADD: never conflicts; the next batch takes it) and
    return the counter as it is after that write, like `read_number_counter`."""
    bind_tables()
    item = CounterItem(counter_id=counter_id)
    item.update(actions=[CounterItem.waiting.add({application_id})])  # returns the whole item (ALL_NEW)
    return _number_counter(item)


def stop_waiting(counter_id: str, application_id: str) -> NumberCounter:
    """Take the application out of the counter's waiting set (a taker giving up) and return the counter as it is
    after that write, like `read_number_counter`: a batch that took it before still lists it among `holders`."""
    bind_tables()
    item = CounterItem(counter_id=counter_id)
    item.update(actions=[CounterItem.waiting.delete({application_id})])  # returns the whole item (ALL_NEW)
    return _number_counter(item)


def applications_for_numbering(application_ids: list[str]) -> dict[str, Application]:
    """The applications by id, strongly consistent, without documents (one BatchGetItem; unknown ids left out):
    whether each has its number written. The whole item is read: its body lacks the fields held as attributes."""
    bind_tables()
    wanted = list(dict.fromkeys(application_ids))
    if not wanted:
        return {}
    return {item.application_id: _application(item, documents=False) for item in ApplicationItem.batch_get(
        wanted, consistent_read=True)}


# ----------------------------------------------------------------------------- permits registry

def put_permit(record: PermitRecord) -> None:
    bind_tables()
    item = PermitItem(permit_id=record.permit_id, permit_number=record.permit_number, body=record.model_dump(mode="json"))
    try:
        item.save(condition=PermitItem.permit_id.does_not_exist())
    except PutError as exc:
        if not _is_conditional_failure(exc):
            raise
        existing = PermitItem.get(record.permit_id, consistent_read=True)
        existing.body = record.model_dump(mode="json")
        existing.permit_number = record.permit_number
        existing.save()


def get_permit(permit_id: str) -> PermitRecord:
    bind_tables()
    try:
        return PermitRecord.model_validate(PermitItem.get(permit_id, consistent_read=True).body)
    except DoesNotExist:
        raise NotFoundError("izin tidak ditemukan", field="permit_id") from None


def permit_by_number(permit_number: str) -> PermitRecord | None:
    """The first permit with this number (any office); prefer `permits_by_number` where offices may collide."""
    return next(iter(permits_by_number(permit_number)), None)


def permits_by_number(permit_number: str) -> list[PermitRecord]:
    """Every permit with this number: numbers are per office, so two offices may hold the same one."""
    if not permit_number:
        return []
    bind_tables()
    return [PermitRecord.model_validate(item.body) for item in PermitItem.by_number.query(permit_number)]


# ----------------------------------------------------------------------------- SKM surveys

def put_survey(office_id: str, application_id: str, survey: SurveyAnswers, filled_at: datetime | None = None) -> None:
    """Keep one application's survey, with when it was filled (default: now)."""
    bind_tables()
    SurveyItem(office_id=office_id, application_id=application_id, body=survey.model_dump(mode="json"),
               filled_at=_key(filled_at or now_utc())).save(condition=SurveyItem.application_id.does_not_exist())


def surveys_of(office_id: str) -> list[SurveyAnswers]:
    bind_tables()
    return [SurveyAnswers.model_validate(i.body) for i in SurveyItem.query(office_id)]


def dated_surveys_of(office_id: str) -> list[tuple[str, datetime | None, SurveyAnswers]]:
    """Every survey of the office with its application and when it was filled (None: filled before surveys
    were dated). One office-wide query."""
    bind_tables()
    return [(i.application_id, datetime.fromisoformat(i.filled_at) if i.filled_at else None,
             SurveyAnswers.model_validate(i.body)) for i in SurveyItem.query(office_id)]


# ----------------------------------------------------------------------------- office report

def report_applications(office_id: str, submitted_from: datetime, submitted_before: datetime) -> Iterator[dict[str, Any]]:
    """Applications of the office submitted in [from, before) from the sparse `by_office_submitted` index:
    `application_id`, `permit_type`, `status`, `submitted_at`, `closed_at` (UTC datetimes or None)."""
    bind_tables()
    condition = ApplicationItem.submitted_key.between(_key(submitted_from), _key(submitted_before))
    for item in ApplicationItem.by_office_submitted.query(office_id, condition):
        submitted = datetime.fromisoformat(item.submitted_key) if item.submitted_key else None
        if submitted is None or submitted >= submitted_before:
            continue
        yield {"application_id": item.application_id, "permit_type": item.permit_type, "status": item.status,
               "submitted_at": submitted,
               "closed_at": datetime.fromisoformat(item.closed_at) if item.closed_at else None}


def report_decided_tasks(office_id: str, decided_from: datetime, decided_before: datetime) -> Iterator[dict[str, Any]]:
    """Tasks of the office claimed or decided in [from, before) from the sparse `by_office_decided` index:
    `application_id`, `step`, `status`, `outcome`, `opened_at`, `decided_at`, `due_at`, `sla`."""
    bind_tables()
    # stored decision times are ISO strings of varying width: query a second wider, filter exactly here
    condition = TaskItem.decided_at.between(_iso(decided_from - timedelta(seconds=1)),
                                            _iso(decided_before + timedelta(seconds=1)))
    for item in TaskItem.by_office_decided.query(office_id, condition):
        decided = datetime.fromisoformat(item.decided_at) if item.decided_at else None
        if decided is None or not decided_from <= decided < decided_before:
            continue
        yield {"application_id": item.application_id, "step": item.step, "status": item.status,
               "outcome": item.outcome, "opened_at": datetime.fromisoformat(item.opened_at), "decided_at": decided,
               "due_at": datetime.fromisoformat(item.due_at) if item.due_at else None,
               "sla": dict(item.sla) if item.sla else None}


def application_types(application_ids: list[str]) -> dict[str, str]:
    """The permit type of each application (a batch read of only that attribute; unknown ids left out)."""
    bind_tables()
    found: dict[str, str] = {}
    for item in ApplicationItem.batch_get(application_ids, attributes_to_get=["application_id", "permit_type"]):
        if item.permit_type:
            found[item.application_id] = item.permit_type
        else:  # written before the attribute existed
            found[item.application_id] = get_application(item.application_id).permit_type
    return found


def _is_conditional_failure(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


# ----------------------------------------------------------------------------- an applicant's list, one page

def applications_page(applicant_id: str, limit: int = 20,
                      after: tuple[str, str] | None = None) -> tuple[list[Application], tuple[str, str] | None]:
    """One page of an applicant's applications, newest first, in two requests whatever the page size: a Query of
    the keys-only `by_applicant_keys` index for at most `limit` + 1 keys, then one BatchGetItem (consistent) of the
    page's items (without their documents, which live in the uploads table).

    `after`: the (created_at, application_id) of the last application of the previous page, or None for the first
    page. Returns (applications, the `after` of the next page or None when this is the last). `limit` 1..100."""
    bind_tables()
    limit = max(1, min(100, limit))
    start = None
    if after is not None:
        start = {"applicant_id": {"S": applicant_id}, "created_at": {"S": after[0]},
                 "application_id": {"S": after[1]}}
    keys = [(item.application_id, item.created_at) for item in ApplicationItem.by_applicant.query(
        applicant_id, scan_index_forward=False, limit=limit + 1, page_size=limit + 1, last_evaluated_key=start,
        attributes_to_get=["application_id", "created_at"])]
    page = keys[:limit]
    if not page:  # nothing (more) stored: BatchGetItem refuses an empty request
        return [], None
    found = {item.application_id: item for item in ApplicationItem.batch_get(
        [application_id for application_id, _ in page], consistent_read=True)}
    applications = [_application(found[application_id], documents=False)  # a list entry shows no documents
                    for application_id, _ in page if application_id in found]
    following = (page[-1][1], page[-1][0]) if len(keys) > limit else None
    return applications, following
