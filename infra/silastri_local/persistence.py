"""Snapshots of moto's state, so that local data survives a restart of the local stack.

moto keeps everything in process memory. `save_snapshot` pickles the backends of
the services whose data the application owns (DynamoDB, S3, Cognito, SQS, SNS) into
one file; `load_snapshot` puts them back into a (new) process's backend dicts.
Step Functions is not persisted: executions are live threads, and the runtime
starts new runs for applications that were waiting.

Pickles are tied to the exact moto version, which is stored in the file and checked.

`RequestGate` lets a snapshot wait until no request is in flight, so that it never
captures half of a request's changes.
"""

from __future__ import annotations

import collections
import copyreg
import os
import pickle
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.wsgi import ClosingIterator

__all__ = [
    "PERSISTED_SERVICES",
    "RequestGate",
    "SnapshotError",
    "SnapshotVersionError",
    "load_snapshot",
    "save_snapshot",
]

#: moto backend names whose state is saved and restored.
PERSISTED_SERVICES: tuple[str, ...] = ("dynamodb", "s3", "cognito-idp", "sqs", "sns")

_FORMAT = "silastri-moto-snapshot/1"


class SnapshotError(RuntimeError):
    """A snapshot file cannot be used."""


class SnapshotVersionError(SnapshotError):
    """The snapshot was written by another moto version: its pickles do not fit this one."""


def _moto_version() -> str:
    import moto

    return str(moto.__version__)


# --------------------------------------------------------------------------- pickling

_LOCK_TYPE = type(threading.Lock())
_RLOCK_TYPE = type(threading.RLock())


def _new_event(is_set: bool) -> threading.Event:
    event = threading.Event()
    if is_set:
        event.set()
    return event


def _reduce_joserfc_key(key: Any) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    return type(key).import_key, (key.as_dict(private=key.is_private),)


def _dispatch_table() -> Mapping[type, Callable[[Any], Any]]:
    """Reducers for what moto's models hold but pickle cannot copy.

    Locks and conditions are recreated unlocked and without waiters (a snapshot is
    taken while no request is in flight); Cognito pools hold a joserfc RSA key.
    """
    from joserfc import jwk

    table: dict[type, Callable[[Any], Any]] = {
        _LOCK_TYPE: lambda _lock: (threading.Lock, ()),
        _RLOCK_TYPE: lambda _lock: (threading.RLock, ()),
        threading.Condition: lambda _cond: (threading.Condition, ()),
        threading.Event: lambda event: (_new_event, (event.is_set(),)),
    }
    for key_type in (jwk.RSAKey, jwk.ECKey, jwk.OctKey, jwk.OKPKey):
        table[key_type] = _reduce_joserfc_key
    # Private reducers take precedence; copyreg's global registrations still apply.
    return collections.ChainMap(table, copyreg.dispatch_table)  # type: ignore[arg-type]


class _SnapshotPickler(pickle.Pickler):
    def __init__(self, file: Any) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.dispatch_table = _dispatch_table()


def _backend_dict(service: str) -> Any:
    from moto.backends import get_backend

    return get_backend(service)  # type: ignore[call-overload]


def save_snapshot(path: Path, services: Iterable[str] = PERSISTED_SERVICES) -> None:
    """Pickle the given moto backends into ``path``, atomically (temp file, fsync, rename).

    The caller makes sure no request is in flight (see `RequestGate.quiesced`).
    """
    path = Path(path)
    state: dict[str, list[tuple[str, str, Any]]] = {
        service: list(_backend_dict(service).iter_backends()) for service in services
    }
    payload = {"format": _FORMAT, "moto_version": _moto_version(), "services": state}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            _SnapshotPickler(tmp).dump(payload)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    # Make the rename itself durable.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_snapshot(path: Path) -> bool:
    """Replace the persisted services' state in this process with the snapshot at ``path``.

    Returns False when there is no snapshot. Raises `SnapshotVersionError` when it was
    written by another moto version, `SnapshotError` when it is not a snapshot.
    Only load files this runtime wrote: unpickling runs code named in the file.
    """
    path = Path(path)
    if not path.exists():
        return False
    with path.open("rb") as f:
        payload = pickle.load(f)  # noqa: S301 - our own file, written by save_snapshot
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise SnapshotError(f"{path} is not a SILASTRI moto snapshot")
    if payload["moto_version"] != _moto_version():
        raise SnapshotVersionError(
            f"{path} was written by moto {payload['moto_version']}, this is moto {_moto_version()}: "
            "pickled backends are tied to one moto version (delete the file to start empty)"
        )
    for service, backends in payload["services"].items():
        backend_dict = _backend_dict(service)
        for account_backends in backend_dict.values():
            dict.clear(account_backends)
        for account_id, region, backend in backends:
            # AccountSpecificBackend.__setitem__ is the plain dict one: no lazy creation.
            backend_dict[account_id][region] = backend
    return True


# --------------------------------------------------------------------------- request gate

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RequestGate:
    """WSGI middleware counting in-flight requests, with a `quiesced` section for snapshots.

    A request may cause nested requests from other threads (a Lambda invocation whose
    handler calls DynamoDB, a Step Functions task), so new requests are never held
    back while a snapshot is *waiting* (reader preference): holding them could
    deadlock the outer request. They only wait while the snapshot is actually running,
    which is when nothing else is in flight.
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self._cond = threading.Condition()
        self._in_flight = 0
        self._quiesced = False

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def _enter(self) -> None:
        with self._cond:
            while self._quiesced:
                self._cond.wait()
            self._in_flight += 1

    def _leave(self) -> None:
        with self._cond:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._cond.notify_all()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self._enter()
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self._leave()
            raise
        # The request ends when the server closes the response body, not when app() returns.
        return ClosingIterator(result, [self._leave])

    @contextmanager
    def quiesced(self, timeout: float = 30.0) -> Iterator[None]:
        """Wait (up to ``timeout`` seconds) until no request is in flight, then hold new ones off.

        Raises TimeoutError if requests keep coming. Not re-entrant, and must not be
        used from inside a request (it would wait for itself).
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._quiesced or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{self._in_flight} request(s) still in flight after {timeout} s")
                self._cond.wait(remaining)
            self._quiesced = True
        try:
            yield
        finally:
            with self._cond:
                self._quiesced = False
                self._cond.notify_all()
