"""Durable writes on the local emulator: no write is acknowledged before it is on disk.

`DurableWrites` is WSGI middleware in front of moto's dispatcher. For the services in
`persistence.PERSISTED_SERVICES` it does, per request:

* **DynamoDB, S3** (request journal): a *mutating* request (DynamoDB: any operation that
  is not a read; S3: PUT, POST, DELETE — presigned POST uploads included, after
  `upload_policy.PresignedPostPolicy` accepted them) is applied while holding the
  service's write lock (`DYNAMODB_LOCK` serialises DynamoDB anyway), and if it succeeded
  (status < 400) the request itself — method, path, headers, body — is appended to the
  journal and fsync'd *before* the answer is returned. Failed requests changed nothing
  and are not journaled. Replaying the journal in order on the state of the last
  snapshot repeats exactly what was acknowledged (conditions included), because replay
  order is apply order. S3 version ids are regenerated on replay (the application stores
  none).
* **Cognito** (state journal): request replay would not be deterministic (``sub``,
  tokens and codes are random), so after each successful mutating request the whole
  cognito-idp state is pickled into the journal (without tokens, with hashed passwords:
  see `persistence` and `cognito_passwords`). Token-only calls (InitiateAuth, refresh,
  sign-out) are not journaled: tokens are never saved, so after a restart users log in
  again.
* **SQS, SNS** (request journal, except consumption): every accepted mutating call —
  queues, topics, subscriptions, ``Publish``, ``SendMessage``… — is journaled as a request
  before its answer, so an acknowledged message is never lost; receives, deletes and
  visibility changes (`CONSUMER_CALLS`) are kept by snapshots only, so after a crash a
  message handled in the last few seconds comes back (at-least-once). The consumers are idempotent (the notifier's message log sends each
  message once; status events only move forward). Their requests hold a shared lock so
  that a snapshot never captures half of one.
* any other service added to `PERSISTED_SERVICES` is state-journaled like Cognito.

Lambda, Step Functions and everything else pass straight through and take no lock: a
Lambda invocation runs a handler that calls DynamoDB over HTTP from another thread.

`DurableStore` owns the files: ``aws-state.pickle`` (snapshot) and ``journal.NNNNNNNN.log``
(records framed with a magic, length, sequence number and CRC-32; a torn tail from a crash
is ignored). `DurableStore.compact` takes every write lock, pickles the state into memory,
switches to a new journal file, releases the locks, writes the snapshot durably and only
then deletes the older journal files; records are never applied twice because the snapshot
stores the sequence number of the last record it contains.

A persistence failure (append, fsync, snapshot write) is loud and final: the reason goes to
stderr and the log, and every later mutating request to a journaled service is answered
503 with that reason, until the stack is restarted. Nothing goes on in memory silently.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pickle
import re
import struct
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.wsgi import get_input_stream

from . import persistence

__all__ = [
    "DYNAMODB_LOCK",
    "DurableStore",
    "DurableWrites",
    "Journal",
    "PersistenceFailure",
    "RecoveryReport",
    "SharedExclusiveLock",
    "all_write_locks",
    "read_journal",
]

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Serialises moto's DynamoDB request handling (moto deep-copies tables for transaction
#: rollback without any lock of its own); also DynamoDB's write lock for the journal.
DYNAMODB_LOCK = threading.RLock()

SNAPSHOT_FILE = "aws-state.pickle"
_JOURNAL_RE = re.compile(r"^journal\.(\d{8})\.log$")
_FRAME = struct.Struct(">4sIQI")  # magic, payload length, sequence number, CRC-32 of seq+payload
_MAGIC = b"SLJ1"

#: Services whose mutating requests are journaled as requests (replay is deterministic).
REQUEST_JOURNALED = frozenset({"dynamodb", "s3"})
#: Messaging services: journaled as requests except their consumer calls, and held under `MESSAGING_LOCK`.
SNAPSHOT_ONLY = frozenset({"sqs", "sns"})
#: SQS calls of a consumer: not journaled (replaying receipts would not be deterministic); snapshots keep them.
CONSUMER_CALLS = frozenset({"ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility",
                            "ChangeMessageVisibilityBatch"})
_QUERY_ACTION = re.compile(rb"(?:^|&)Action=([A-Za-z]+)(?:&|$)")
#: Cognito calls that change nothing but issued tokens (never saved).
COGNITO_TOKEN_CALLS = frozenset({"InitiateAuth", "AdminInitiateAuth", "GetTokensFromRefreshToken",
                                 "RevokeToken", "GlobalSignOut", "AdminUserGlobalSignOut"})
_READ_PREFIXES = ("Get", "List", "Describe", "BatchGet", "Query", "Scan", "TransactGet", "AdminGet", "AdminList")


class PersistenceFailure(RuntimeError):
    """Local state could not be made durable; the stack refuses writes from now on."""


# --------------------------------------------------------------------------- locks


class SharedExclusiveLock:
    """A readers-writer lock with writer preference: many shared holders, or one exclusive one.

    Used for the snapshot-only services: their requests hold it shared, a snapshot
    exclusive. None of those requests makes a nested request, so holding new ones off
    while a snapshot waits cannot deadlock.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        """Hold the lock shared (blocks while a snapshot holds or waits for it)."""
        with self._cond:
            while self._exclusive or self._waiting:
                self._cond.wait()
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                if not self._shared:
                    self._cond.notify_all()

    def acquire_exclusive(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the lock alone; False when it did not come."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._waiting += 1
            try:
                while self._exclusive or self._shared:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
                self._exclusive = True
                return True
            finally:
                self._waiting -= 1
                self._cond.notify_all()

    def release_exclusive(self) -> None:
        """Release what `acquire_exclusive` took."""
        with self._cond:
            self._exclusive = False
            self._cond.notify_all()


MESSAGING_LOCK = SharedExclusiveLock()
_WRITE_LOCKS: dict[str, threading.RLock] = {"dynamodb": DYNAMODB_LOCK}
_WRITE_LOCKS_GUARD = threading.Lock()


def write_lock(service: str) -> threading.RLock:
    """The lock held around "apply a mutating request + journal it" for ``service``."""
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(service)
        if lock is None:
            lock = _WRITE_LOCKS[service] = threading.RLock()
        return lock


@contextlib.contextmanager
def all_write_locks(services: Iterable[str] = persistence.PERSISTED_SERVICES,
                    timeout: float = 30.0) -> Iterator[None]:
    """Hold every write lock of ``services`` (in one fixed order), so that no write is half-applied.

    Raises TimeoutError when a lock does not come within ``timeout`` seconds overall
    (a request holding it for that long); nothing is held then.
    """
    deadline = time.monotonic() + timeout
    services = tuple(services)
    held: list[threading.RLock] = []
    messaging = any(s in SNAPSHOT_ONLY for s in services)
    if messaging and not MESSAGING_LOCK.acquire_exclusive(timeout):
        raise TimeoutError(f"an SQS/SNS request still in progress after {timeout} s")
    try:
        for service in sorted(s for s in services if s not in SNAPSHOT_ONLY):
            lock = write_lock(service)
            if not lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"a {service} write still in progress after {timeout} s")
            held.append(lock)
        yield
    finally:
        for lock in reversed(held):
            lock.release()
        if messaging:
            MESSAGING_LOCK.release_exclusive()


# --------------------------------------------------------------------------- journal files


def _crc(seq: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(seq.to_bytes(8, "big")))


def read_journal(path: Path) -> Iterator[tuple[int, bytes]]:
    """(sequence number, payload) of every whole record in ``path``, in order.

    Stops at the first torn or corrupt frame: a crash can only tear the tail of an
    append-only file, and what follows a tear was never acknowledged.
    """
    data = Path(path).read_bytes()
    offset, previous = 0, -1
    while offset + _FRAME.size <= len(data):
        magic, length, seq, crc = _FRAME.unpack_from(data, offset)
        start, end = offset + _FRAME.size, offset + _FRAME.size + length
        if magic != _MAGIC or end > len(data) or seq <= previous or _crc(seq, data[start:end]) != crc:
            return
        yield seq, data[start:end]
        offset, previous = end, seq


class Journal:
    """One append-only journal file; `append` returns only when the record is on disk.

    Appends from different threads are written in order under a lock and share
    fdatasync calls (group commit): a record is durable once a sync that started
    after its write has finished.
    """

    def __init__(self, directory: Path, generation: int, last_seq: int) -> None:
        self.directory = Path(directory)
        self.generation = generation
        self.seq = last_seq
        self.synced = last_seq
        self.path = self.directory / f"journal.{generation:08d}.log"
        self.records = 0
        self.bytes = 0
        self._write_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        persistence._fsync_directory(self.directory)

    def write(self, payload: bytes) -> int:
        """Write one record (not yet synced); returns its sequence number. Raises OSError."""
        with self._write_lock:
            if self._fd is None:
                raise OSError(f"journal {self.path.name} is closed")
            seq = self.seq + 1
            frame = _FRAME.pack(_MAGIC, len(payload), seq, _crc(seq, payload)) + payload
            view = memoryview(frame)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self.seq = seq
            self.records += 1
            self.bytes += len(frame)
            return seq

    def sync(self, seq: int) -> None:
        """Return once record ``seq`` (and every one before it) is on disk. Raises OSError."""
        with self._sync_lock:
            if self.synced >= seq:
                return  # another thread's fdatasync covered it
            target = self.seq
            if self._fd is None:
                raise OSError(f"journal {self.path.name} is closed")
            os.fdatasync(self._fd)
            self.synced = target

    def append(self, payload: bytes) -> int:
        """Write one record and make it durable; returns its sequence number. Raises OSError."""
        seq = self.write(payload)
        self.sync(seq)
        return seq

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def journal_files(directory: Path) -> list[tuple[int, Path]]:
    """(generation, path) of the journal files in ``directory``, oldest first."""
    found = []
    for path in Path(directory).glob("journal.*.log"):
        match = _JOURNAL_RE.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


# --------------------------------------------------------------------------- records

_CGI_KEYS = ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "SERVER_NAME",
             "SERVER_PORT", "SERVER_PROTOCOL", "REQUEST_URI", "RAW_URI", "REMOTE_ADDR", "wsgi.url_scheme")
_SKIPPED_HEADERS = ("HTTP_TRANSFER_ENCODING", "HTTP_CONNECTION", "HTTP_KEEP_ALIVE")


def _request_record(service: str, environ: dict[str, Any], body: bytes) -> bytes:
    env = {k: environ[k] for k in _CGI_KEYS if isinstance(environ.get(k), str)}
    env.update({k: v for k, v in environ.items()
                if k.startswith("HTTP_") and k not in _SKIPPED_HEADERS and isinstance(v, str)})
    return pickle.dumps({"kind": "request", "service": service, "environ": env, "body": body},
                        protocol=pickle.HIGHEST_PROTOCOL)


def _replay_environ(record: dict[str, Any]) -> dict[str, Any]:
    body: bytes = record["body"]
    environ: dict[str, Any] = dict(record["environ"])
    environ.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)), "wsgi.errors": sys.stderr,
                    "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False,
                    "wsgi.run_once": False})
    environ.setdefault("wsgi.url_scheme", "http")
    return environ


def _call(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app to completion: (status line, headers, whole body)."""
    captured: list[Any] = []
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
        captured[:] = [status, headers]
        return chunks.append

    result = app(environ, start_response)
    try:
        for chunk in result:
            chunks.append(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return captured[0], list(captured[1]), b"".join(chunks)


# --------------------------------------------------------------------------- the store


@dataclass
class RecoveryReport:
    """What `DurableStore.recover` found: snapshot, records replayed, and replays that failed."""

    snapshot: bool = False
    snapshot_seq: int = 0
    replayed_requests: int = 0
    replayed_states: int = 0
    skipped: int = 0
    diverged: list[str] = field(default_factory=list)

    @property
    def restored(self) -> bool:
        """True when any saved state was found."""
        return self.snapshot or bool(self.replayed_requests or self.replayed_states)


class DurableStore:
    """The snapshot and journal files of one data directory, and the failure state.

    ``on_failure`` is called once with the reason when persistence fails.
    """

    def __init__(self, directory: Path, services: Iterable[str] = persistence.PERSISTED_SERVICES,
                 on_failure: Callable[[str], None] | None = None) -> None:
        self.directory = Path(directory)
        self.services = tuple(services)
        self.snapshot_path = self.directory / SNAPSHOT_FILE
        self.journal: Journal | None = None
        self.failure: str | None = None
        self.on_failure = on_failure
        self._append_lock = threading.Lock()
        self._compact_lock = threading.Lock()
        self.appends = 0
        self.append_seconds = 0.0
        self.compactions = 0

    # -- failure

    def fail(self, reason: str) -> PersistenceFailure:
        """Enter the failed state (first reason wins), say so loudly, return the exception to raise."""
        first = self.failure is None
        if first:
            self.failure = reason
            message = (f"PERSISTENCE FAILED: {reason} — the local stack now refuses writes "
                       "(answers 503); restart it once the cause is fixed")
            print(message, file=sys.stderr, flush=True)
            log.critical(message)
            if self.on_failure is not None:
                self.on_failure(reason)
        return PersistenceFailure(self.failure or reason)

    # -- start

    def recover(self, dispatcher: WSGIApp) -> RecoveryReport:
        """Load the snapshot, replay the journal after it through ``dispatcher`` (moto's app), open a new journal.

        Call before serving requests. Raises `persistence.SnapshotError` for an unusable
        snapshot and OSError when the directory cannot be written.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        report = RecoveryReport()
        with all_write_locks(self.services):
            seq = persistence.load_snapshot(self.snapshot_path)
            report.snapshot = seq is not None
            report.snapshot_seq = last = seq or 0
            files = journal_files(self.directory)
            for _generation, path in files:
                for record_seq, payload in read_journal(path):
                    if record_seq <= last:
                        report.skipped += 1
                        continue
                    last = record_seq
                    self._replay(payload, dispatcher, record_seq, report)
            generation = files[-1][0] + 1 if files else 1
            self.journal = Journal(self.directory, generation, last)
        for message in report.diverged:
            print(f"journal replay: {message}", file=sys.stderr, flush=True)
            log.error("journal replay: %s", message)
        return report

    def _replay(self, payload: bytes, dispatcher: WSGIApp, seq: int, report: RecoveryReport) -> None:
        record = pickle.loads(payload)  # noqa: S301 - our own journal
        if record["kind"] == "state":
            persistence.load_state(record["state"], origin=f"journal record {seq}")
            report.replayed_states += 1
            return
        status, _headers, body = _call(dispatcher, _replay_environ(record))
        report.replayed_requests += 1
        if int(status.split()[0]) >= 400:
            env = record["environ"]
            what = env.get("HTTP_X_AMZ_TARGET") or f"{env.get('REQUEST_METHOD')} {env.get('PATH_INFO')}"
            report.diverged.append(f"record {seq} ({record['service']} {what}) answered {status} on replay: "
                                   f"{body[:200].decode(errors='replace')}")

    # -- appends (the caller holds the service's write lock)

    def _append(self, payload: bytes) -> None:
        if self.failure is not None:
            raise PersistenceFailure(self.failure)
        started = time.perf_counter()
        with self._append_lock:  # held by a compaction while it switches files
            journal = self.journal
            if journal is None:
                raise self.fail("the journal is not open")
            try:
                seq = journal.write(payload)
            except OSError as exc:
                raise self.fail(f"journal append to {journal.path} failed: {exc}") from exc
        try:
            journal.sync(seq)  # outside the append lock: concurrent appends share one fdatasync
        except OSError as exc:
            raise self.fail(f"journal fdatasync of {journal.path} failed: {exc}") from exc
        self.appends += 1
        self.append_seconds += time.perf_counter() - started

    def append_request(self, service: str, environ: dict[str, Any], body: bytes) -> None:
        """Journal one applied request durably. Raises `PersistenceFailure`."""
        self._append(_request_record(service, environ, body))

    def append_record(self, record: bytes) -> None:
        """Journal a record made by `_request_record` durably. Raises `PersistenceFailure`."""
        self._append(record)

    def append_state(self, service: str) -> None:
        """Journal ``service``'s whole state durably. Raises `PersistenceFailure`."""
        try:
            state = persistence.dump_state((service,))
        except Exception as exc:
            raise self.fail(f"{service} state could not be pickled: {exc.__class__.__name__}: {exc}") from exc
        self._append(pickle.dumps({"kind": "state", "service": service, "state": state},
                                  protocol=pickle.HIGHEST_PROTOCOL))

    # -- compaction

    def pending(self) -> int:
        """Records appended since the last compaction."""
        return self.journal.records if self.journal is not None else 0

    def compact(self, timeout: float = 30.0) -> None:
        """Snapshot the state and drop the journal records it contains.

        Raises TimeoutError when a write lock does not come within ``timeout`` seconds
        (nothing changed, try again later) and `PersistenceFailure` when the snapshot
        cannot be written (the stack then refuses writes).
        """
        if self.failure is not None:
            raise PersistenceFailure(self.failure)
        with self._compact_lock:
            with all_write_locks(self.services, timeout=timeout), self._append_lock:
                if self.journal is None:
                    raise self.fail("the journal is not open")
                try:
                    data = persistence.dump_state(self.services, journal_seq=self.journal.seq)
                except Exception as exc:
                    raise self.fail(f"snapshot pickling failed: {exc.__class__.__name__}: {exc}") from exc
                old = self.journal
                try:
                    old.sync(old.seq)  # (every record is synced before its answer; this is for the close)
                    self.journal = Journal(self.directory, old.generation + 1, old.seq)
                except OSError as exc:
                    raise self.fail(f"a new journal file could not be created: {exc}") from exc
                old.close()
            try:
                persistence.write_snapshot(self.snapshot_path, data)
            except OSError as exc:
                raise self.fail(f"snapshot {self.snapshot_path} could not be written: {exc}") from exc
            for generation, path in journal_files(self.directory):
                if generation < self.journal.generation:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
            self.compactions += 1

    def close(self) -> None:
        """Close the journal file (no compaction)."""
        with self._append_lock:
            if self.journal is not None:
                self.journal.close()

    def stats(self) -> dict[str, Any]:
        """Appends so far and their mean latency (ms), compactions, failure."""
        mean = self.append_seconds / self.appends * 1000 if self.appends else 0.0
        return {"appends": self.appends, "mean_append_ms": round(mean, 3), "compactions": self.compactions,
                "failure": self.failure}


# --------------------------------------------------------------------------- middleware


def module_name(service: str) -> str:
    """moto's module (and backend app) name for a backend name: ``cognito-idp`` → ``cognitoidp``."""
    from moto.backends import ALT_SERVICE_NAMES

    safe = service.replace("-", "")
    return ALT_SERVICE_NAMES.get(safe, safe)


def _operation(environ: dict[str, Any]) -> str | None:
    target = environ.get("HTTP_X_AMZ_TARGET")
    return str(target).rsplit(".", 1)[-1] if target else None


def _is_read(environ: dict[str, Any]) -> bool:
    operation = _operation(environ)
    if operation is None:  # REST protocols (S3)
        return environ.get("REQUEST_METHOD", "GET") in ("GET", "HEAD", "OPTIONS")
    return operation.startswith(_READ_PREFIXES) and operation not in COGNITO_TOKEN_CALLS


def _exact_body(environ: dict[str, Any]) -> bytes:
    """The exact bytes moto will see (read once, put back), so that a replay is the same request."""
    body: bytes = get_input_stream(environ).read()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ.pop("wsgi.input_terminated", None)
    return body


def _journaled_messaging_call(environ: dict[str, Any], body: bytes) -> bool:
    """Whether an SQS/SNS request is journaled: it changes something and is not a consumer call
    (JSON protocol: X-Amz-Target; query protocol: Action= in the form body)."""
    operation = _operation(environ)
    if operation is None:
        found = _QUERY_ACTION.search(body)
        operation = found.group(1).decode() if found else None
    if operation is None:
        return False
    return not operation.startswith(_READ_PREFIXES) and operation not in CONSUMER_CALLS


def _unavailable(environ: dict[str, Any], start_response: Callable[..., Any], reason: str) -> list[bytes]:
    message = f"local persistence failed, writes are refused until the stack is restarted: {reason}"
    if environ.get("HTTP_X_AMZ_TARGET"):
        body = json.dumps({"__type": "ServiceUnavailable", "message": message}).encode()
        kind = "application/x-amz-json-1.0"
    else:
        from xml.sax.saxutils import escape

        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code>'
                f"<Message>{escape(message)}</Message><RequestId>silastri-local</RequestId></Error>").encode()
        kind = "application/xml"
    start_response("503 Service Unavailable", [("Content-Type", kind), ("Content-Length", str(len(body))),
                                               ("x-amzn-ErrorType", "ServiceUnavailable")])
    return [body]


class DurableWrites:
    """WSGI middleware journaling every acknowledged write to the persisted services (see the module doc).

    ``dispatcher`` is moto's ``DomainDispatcherApplication``; ``store`` is attached later
    (`attach`), until then writes are locked but not journaled (``persist=False`` stacks).
    """

    def __init__(self, dispatcher: Any, services: Iterable[str] = persistence.PERSISTED_SERVICES) -> None:
        self.dispatcher = dispatcher
        # moto's backend apps are named after the module (cognitoidp), backends after the service (cognito-idp).
        self.services = {module_name(s): s for s in services}
        self.store: DurableStore | None = None

    def attach(self, store: DurableStore | None) -> None:
        """Journal into ``store`` from now on (None: stop journaling)."""
        self.store = store

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            backend_app = self.dispatcher.get_application(environ)
        except Exception:  # let moto answer whatever it answers for an unknown request
            return self.dispatcher(environ, start_response)  # type: ignore[no-any-return]
        service = self.services.get(str(getattr(backend_app, "service", "")))
        if service is None:
            return backend_app(environ, start_response)  # type: ignore[no-any-return]
        if service in SNAPSHOT_ONLY:
            return self._messaging(service, backend_app, environ, start_response)
        if _is_read(environ):
            return backend_app(environ, start_response)  # type: ignore[no-any-return]
        return self._write(service, backend_app, environ, start_response)

    def _messaging(self, service: str, backend_app: WSGIApp, environ: dict[str, Any],
                   start_response: Callable[..., Any]) -> Iterable[bytes]:
        """SQS/SNS: under the shared messaging lock; accepted changes other than consumption are journaled
        before the answer."""
        store = self.store
        record = b""
        if store is not None:
            body = _exact_body(environ)
            if _journaled_messaging_call(environ, body):
                if store.failure is not None:
                    return _unavailable(environ, start_response, store.failure)
                record = _request_record(service, environ, body)
        with MESSAGING_LOCK.shared():
            status, headers, payload = _call(backend_app, environ)
            if record and store is not None and int(status.split()[0]) < 400:
                try:
                    store.append_record(record)
                except PersistenceFailure as exc:
                    return _unavailable(environ, start_response, str(exc))
        start_response(status, headers)
        return [payload]

    def _write(self, service: str, backend_app: WSGIApp, environ: dict[str, Any],
               start_response: Callable[..., Any]) -> Iterable[bytes]:
        store = self.store
        if store is not None and store.failure is not None:
            return _unavailable(environ, start_response, store.failure)
        journal_request = service in REQUEST_JOURNALED
        record = b""
        if journal_request:
            body = _exact_body(environ)
            if store is not None:
                record = _request_record(service, environ, body)
        with write_lock(service):
            if store is not None and store.failure is not None:
                return _unavailable(environ, start_response, store.failure)
            status, headers, payload = _call(backend_app, environ)
            if store is not None and int(status.split()[0]) < 400:
                try:
                    if journal_request:
                        store.append_record(record)
                    elif _operation(environ) not in COGNITO_TOKEN_CALLS:
                        store.append_state(service)
                except PersistenceFailure as exc:
                    return _unavailable(environ, start_response, str(exc))
        start_response(status, headers)
        return [payload]
