"""Snapshots of moto's state, so that local data survives a restart of the local stack.

moto keeps everything in process memory. `dump_state` pickles the backends of the
services whose data the application owns (`PERSISTED_SERVICES`) into bytes,
`write_snapshot` puts those bytes on disk atomically, and `load_snapshot` puts the
backends back into a (new) process's backend dicts. Step Functions is not persisted:
executions are live threads, and the runtime starts new runs for applications that
were waiting.

A snapshot alone is not what makes a write durable: `durability.DurableStore` journals
every acknowledged write and uses snapshots as compaction. Each snapshot records the
sequence number of the last journal record it contains (``journal_seq``), so that a
replay never applies a record twice.

What is never saved (neither here nor in the journal, which uses the same pickler):
Cognito's issued access, ID and refresh tokens (after a restart, users log in again; ID
tokens already issued stay verifiable against the pool's keys until they expire), and
plaintext passwords (`cognito_passwords` keeps only salted hashes in moto's user objects).

Pickles are tied to the exact moto version, which is stored in the file and checked.
"""

from __future__ import annotations

import collections
import copyreg
import io
import os
import pickle
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "PERSISTED_SERVICES",
    "SnapshotError",
    "SnapshotVersionError",
    "dump_state",
    "load_snapshot",
    "load_state",
    "save_snapshot",
    "write_snapshot",
]

#: moto backend names whose state is saved and restored.
PERSISTED_SERVICES: tuple[str, ...] = ("dynamodb", "s3", "cognito-idp", "sqs", "sns")

_FORMAT = "silastri-moto-snapshot/2"
_OLD_FORMATS = ("silastri-moto-snapshot/1",)  # no journal_seq: everything in it is older than any journal


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

#: Attributes of moto's Cognito user pool that hold issued tokens: never saved.
COGNITO_TOKEN_ATTRIBUTES: tuple[str, ...] = ("access_tokens", "id_tokens", "refresh_tokens")


def _new_event(is_set: bool) -> threading.Event:
    event = threading.Event()
    if is_set:
        event.set()
    return event


def _reduce_joserfc_key(key: Any) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    return type(key).import_key, (key.as_dict(private=key.is_private),)


def _reduce_user_pool_without_tokens(pool: Any) -> tuple[Any, ...]:
    """A Cognito user pool as pickle would copy it, with its issued tokens left out."""
    state = dict(pool.__dict__)
    for name in COGNITO_TOKEN_ATTRIBUTES:
        if name in state:
            state[name] = {}
    return copyreg.__newobj__, (type(pool),), state  # type: ignore[attr-defined]


def _dispatch_table() -> Mapping[type, Callable[[Any], Any]]:
    """Reducers for what moto's models hold but pickle cannot copy (or must not).

    Locks and conditions are recreated unlocked and without waiters (state is pickled
    while no write to it is in progress); Cognito pools hold a joserfc RSA key and the
    tokens they issued (left out).
    """
    from joserfc import jwk
    from moto.cognitoidp.models import CognitoIdpUserPool

    table: dict[type, Callable[[Any], Any]] = {
        _LOCK_TYPE: lambda _lock: (threading.Lock, ()),
        _RLOCK_TYPE: lambda _lock: (threading.RLock, ()),
        threading.Condition: lambda _cond: (threading.Condition, ()),
        threading.Event: lambda event: (_new_event, (event.is_set(),)),
        CognitoIdpUserPool: _reduce_user_pool_without_tokens,
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


def dump_state(services: Iterable[str] = PERSISTED_SERVICES, journal_seq: int = 0) -> bytes:
    """Pickle the given moto backends (and ``journal_seq``) into bytes.

    The caller holds the locks that keep writes to these services out meanwhile.
    Raises `pickle.PicklingError` (or another exception) when a backend cannot be pickled.
    """
    state: dict[str, list[tuple[str, str, Any]]] = {
        service: list(_backend_dict(service).iter_backends()) for service in services
    }
    payload = {"format": _FORMAT, "moto_version": _moto_version(), "journal_seq": int(journal_seq),
               "services": state}
    buffer = io.BytesIO()
    _SnapshotPickler(buffer).dump(payload)
    return buffer.getvalue()


def load_state(data: bytes, origin: str = "state") -> int:
    """Replace the services found in ``data`` (from `dump_state`) in this process; returns its journal_seq.

    Raises `SnapshotVersionError` when written by another moto version, `SnapshotError`
    when ``data`` is not a SILASTRI snapshot. Only load what this runtime wrote:
    unpickling runs code named in the data.
    """
    payload = pickle.loads(data)  # noqa: S301 - our own file, written by dump_state
    if not isinstance(payload, dict) or payload.get("format") not in (_FORMAT, *_OLD_FORMATS):
        raise SnapshotError(f"{origin} is not a SILASTRI moto snapshot")
    if payload["moto_version"] != _moto_version():
        raise SnapshotVersionError(
            f"{origin} was written by moto {payload['moto_version']}, this is moto {_moto_version()}: "
            "pickled backends are tied to one moto version (delete the file to start empty)"
        )
    for service, backends in payload["services"].items():
        backend_dict = _backend_dict(service)
        for account_backends in backend_dict.values():
            dict.clear(account_backends)
        for account_id, region, backend in backends:
            # AccountSpecificBackend.__setitem__ is the plain dict one: no lazy creation.
            backend_dict[account_id][region] = backend
    return int(payload.get("journal_seq", 0))


def _fsync_directory(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_snapshot(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably (temp file, fsync, rename, fsync of the directory).

    Raises OSError when the disk refuses; ``path`` then still holds the previous snapshot.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def save_snapshot(path: Path, services: Iterable[str] = PERSISTED_SERVICES, journal_seq: int = 0) -> None:
    """Pickle the given moto backends into ``path``, atomically (temp file, fsync, rename).

    The caller makes sure no write to these services is in progress (see
    `durability.all_write_locks`).
    """
    write_snapshot(path, dump_state(services, journal_seq))


def load_snapshot(path: Path) -> int | None:
    """Replace the persisted services' state in this process with the snapshot at ``path``.

    Returns the journal sequence number the snapshot contains, or None when there is no
    snapshot. Raises `SnapshotVersionError` when it was written by another moto version,
    `SnapshotError` when it is not a snapshot.
    """
    path = Path(path)
    if not path.exists():
        return None
    return load_state(path.read_bytes(), origin=str(path))
