"""moto's server, run in-process, with the patches the local runtime relies on.

`LocalAws` serves moto's WSGI app on a loopback port, behind two middlewares
(`PresignedPostPolicy` for S3 POST policies, then `durability.DurableWrites`, which
journals every acknowledged write before answering), switches Step Functions
execution on, dispatches Lambda invocations to in-process Python handlers and keeps
Cognito passwords as salted hashes (`cognito_passwords`).

The patches touch moto internals (moto is pinned exactly); every behaviour they
rely on is pinned by ``tests/contract/test_moto_contract.py``.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import decimal
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import default_user_config
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.stepfunctions.parser.asl.utils import boto_client as _sfn_boto_client
from werkzeug.serving import BaseWSGIServer, make_server

from . import cognito_guard, cognito_passwords, moto_speed, sfn_gaps
from .durability import DYNAMODB_LOCK, DurableStore, DurableWrites, RecoveryReport, all_write_locks
from .persistence import load_snapshot, save_snapshot
from .response_headers import ObjectResponseHeaders
from .upload_policy import DEFAULT_CREDENTIALS, PresignedPostPolicy

__all__ = [
    "DYNAMODB_LOCK",
    "Handler",
    "HandlerResolver",
    "LambdaContext",
    "LocalAws",
    "install_patches",
    "uninstall_patches",
]

log = logging.getLogger(__name__)


class _ExpectedAslMiss(logging.Filter):
    """moto's ASL interpreter logs an ERROR for every JSONPath it cannot resolve, even where the ASL asks whether
    the path exists (`IsPresent`, e.g. `$.resume_at` at every submission): noise in the stack's log. A path that
    is really missing fails the execution (States.Runtime), which the workflow's own failure handling records."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("%s at '%s'") or not str(
            record.args[0] if isinstance(record.args, tuple) and record.args else "").startswith(
            "Exception=NoSuchJsonPathError")


logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component").addFilter(_ExpectedAslMiss())

Handler = Callable[[Any, Any], Any]
HandlerResolver = Callable[[str], Handler | None]

DEFAULT_TIMEOUT_SECONDS = 900
DEFAULT_MEMORY_MB = 128

_PATCH_LOCK = threading.Lock()
_ORIGINALS: dict[str, Any] = {}
_active: LocalAws | None = None


# --------------------------------------------------------------------------- Lambda


_running = threading.local()


def running_function() -> str | None:
    """The function (its name, e.g. ``silastri-ApiFunction``) whose handler this thread is running on the local
    runtime, None outside a handler: tells which function made an AWS call (the permission check's test)."""
    return getattr(_running, "name", None)


@contextlib.contextmanager
def running(name: str) -> Iterator[None]:
    """Mark this thread as running function `name`'s handler for the duration (nested calls restore the outer)."""
    previous = getattr(_running, "name", None)
    _running.name = name
    try:
        yield
    finally:
        _running.name = previous


class LambdaContext:
    """The attributes and method of the AWS Python runtime's context object.

    ``memory_limit_in_mb`` is a string, as in the real runtime.
    """

    def __init__(
        self,
        *,
        function_name: str,
        function_version: str,
        invoked_function_arn: str,
        memory_limit_in_mb: int,
        timeout_seconds: float,
    ) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = str(memory_limit_in_mb)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = (
            f"{datetime.datetime.now(datetime.UTC):%Y/%m/%d}/[{function_version}]{uuid.uuid4().hex}"
        )
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _split_function_name(function_name: str, qualifier: str | None) -> tuple[str, str | None]:
    """Name and qualifier from a name, a partial ARN (``123:function:name``) or a full ARN."""
    parts = function_name.split(":")
    if parts[0] == "arn":
        name, rest = parts[6], parts[7:]
    elif len(parts) >= 3 and parts[1] == "function":
        name, rest = parts[2], parts[3:]
    else:
        name, rest = parts[0], parts[1:]
    return name, qualifier or (rest[0] if rest else None)


def _json_default(value: Any) -> Any:
    # The AWS Python runtime serialises Decimal (e.g. from DynamoDB) as a number.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _error_payload(exc: BaseException) -> bytes:
    return json.dumps(
        {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            # Frames of this module are the runtime's, not the function's: AWS shows neither.
            "stackTrace": traceback.format_list(
                [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
            ),
        }
    ).encode()


def _patched_lambda_invoke(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> str | bytes | None:
    runtime = _active
    if runtime is None:
        return _ORIGINALS["lambda_invoke"](self, function_name, qualifier, body, headers, response_headers)  # type: ignore[no-any-return]
    return runtime._invoke_lambda(self, function_name, qualifier, body, headers, response_headers)


# --------------------------------------------------------------------------- DynamoDB


def _locked_call_action(self: DynamoHandler) -> Any:
    with DYNAMODB_LOCK:
        return _ORIGINALS["dynamodb_call_action"](self)


def _plain(value: Any) -> Any:
    """A key attribute's value as moto compares it (`DynamoType.__lt__` compares `cast_value`), computed once."""
    return value.cast_value if value is not None else None


def _sorted_items_by_plain_keys(self: Any, hash_key_attrs: list[str], range_key_attrs: list[str | None],
                                items: list[Any]) -> list[Any]:
    """moto's `Table.sorted_items` with each item's sort key computed once: the original sorts on tuples of
    `DynamoType`, whose every comparison recomputes `cast_value` (~80 ms for a GSI query over 1,000 items, all of
    it under the DynamoDB lock). Same attributes, same order (key attributes have one type each)."""
    attrs = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
    items.sort(key=lambda x: tuple(_plain(x.attrs[key]) for key in attrs))
    return items


def _all_items_by_plain_keys(self: Any) -> list[Any]:
    """moto's `Table.all_items` (every item, by hash then range key) with plain sort keys (see above)."""
    items: list[Any] = []
    for hash_set in self.items.values():
        if self.range_key_attr:
            items.extend(hash_set.values())
        else:
            items.append(hash_set)
    return sorted(items, key=lambda x: (_plain(x.hash_key), _plain(x.range_key)) if x.range_key
                  else _plain(x.hash_key))


# --------------------------------------------------------------------------- request dispatch


def _moto_modules() -> tuple[str, ...]:
    """moto's `backends.list_of_moto_modules` once: the original lists moto's package folder (a listdir and ~150
    stat calls) on every request, inside the dispatcher's global lock."""
    cached = _ORIGINALS.get("moto_modules_list")
    if cached is None:
        cached = _ORIGINALS["moto_modules_list"] = tuple(_ORIGINALS["list_of_moto_modules"]())
    return cached  # type: ignore[no-any-return]


def _backend_for_host(self: DomainDispatcherApplication, host: str | None) -> Any:
    """moto's `get_backend_for_host`, remembered per host (a host always maps to the same backend; the original
    tries every backend's URL patterns in turn for each request)."""
    memo: dict[str | None, Any] | None = getattr(self, "_silastri_backend_memo", None)
    if memo is None:
        memo = {}
        self._silastri_backend_memo = memo  # type: ignore[attr-defined]
    if host not in memo:
        memo[host] = _ORIGINALS["get_backend_for_host"](self, host)
    return memo[host]


# --------------------------------------------------------------------------- Cognito

#: User pool settings that UpdateUserPool cannot change on AWS (they are kept); moto resets them.
IMMUTABLE_POOL_SETTINGS = ("UsernameAttributes", "AliasAttributes", "UsernameConfiguration", "Schema")


def _update_extended_config_keeping_immutables(self: Any, extended_config: dict[str, Any]) -> None:
    current = getattr(self, "extended_config", None) or {}  # (none yet when the pool is being created)
    kept = {k: current[k] for k in IMMUTABLE_POOL_SETTINGS if k in current}
    _ORIGINALS["cognito_update_extended_config"](self, extended_config)
    self.extended_config.update(kept)


# --------------------------------------------------------------------------- Step Functions clients

_client_cache: dict[tuple[str, str, str], BaseClient] = {}
_client_cache_lock = threading.Lock()


def _cached_boto_client_for(region: str, service: str, state_credentials: Any = None) -> BaseClient:
    """moto's ``boto_client_for`` with one client per (port, region, service).

    botocore clients are thread-safe once created; only their creation (through
    boto3's shared default session) is not, hence the lock.
    """
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port

    if botocore_stubber.enabled:  # in-process mock_aws: keep moto's own behaviour
        return _ORIGINALS["boto_client_for"](region, service, state_credentials)  # type: ignore[no-any-return]
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    key = (moto_server_port(), region, service)
    with _client_cache_lock:
        client = _client_cache.get(key)
        if client is None:
            # the server's own address rather than "localhost": no resolver call (and no try on ::1 first) per task
            host = _active.host if _active is not None and _active.host in ("127.0.0.1", "::1") else "localhost"
            client = boto3.session.Session().client(
                service_name=service,
                region_name=region,
                endpoint_url=f"http://{'[::1]' if host == '::1' else host}:{key[0]}",
                aws_access_key_id="ak",
                aws_secret_access_key="sk",  # noqa: S106 - moto's fixed local credentials
                config=Config(
                    parameter_validation=False,
                    retries={"max_attempts": 0, "total_max_attempts": 1},
                    connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    max_pool_connections=64,
                ),
            )
            _client_cache[key] = client
    return client


def _sfn_modules_importing_boto_client_for() -> Iterator[Any]:
    # The interpreter's modules did `from ... import boto_client_for`: each holds its own reference.
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and hasattr(module, "boto_client_for"):
            yield module


# --------------------------------------------------------------------------- install / uninstall


def install_patches() -> None:
    """Install the Lambda, DynamoDB, Step Functions client and Cognito password patches (idempotent, process-wide).

    The Cognito password hashes stay installed after `uninstall_patches` (users created
    meanwhile hold hashes, which plain moto could not read); so do the gap closers that make moto
    behave as AWS does: the Cognito attribute guard (`cognito_guard`) and a stopped run that stops
    waiting on its task token (`sfn_gaps`).
    """
    cognito_passwords.install()
    cognito_guard.install()
    sfn_gaps.install()
    with _PATCH_LOCK:
        if "cognito_update_extended_config" not in _ORIGINALS:
            from moto.cognitoidp.models import CognitoIdpUserPool

            # Without it, UpdateUserPool on a restored pool drops UsernameAttributes: sign-in by e-mail then fails.
            _ORIGINALS["cognito_update_extended_config"] = CognitoIdpUserPool.update_extended_config
            CognitoIdpUserPool.update_extended_config = _update_extended_config_keeping_immutables  # type: ignore[method-assign]
        if "lambda_invoke" not in _ORIGINALS:
            _ORIGINALS["lambda_invoke"] = LambdaSimpleBackend.invoke
            LambdaSimpleBackend.invoke = _patched_lambda_invoke  # type: ignore[method-assign]
        if "dynamodb_call_action" not in _ORIGINALS:
            _ORIGINALS["dynamodb_call_action"] = DynamoHandler.call_action
            DynamoHandler.call_action = _locked_call_action  # type: ignore[method-assign]
        moto_speed.install()
        if "get_backend_for_host" not in _ORIGINALS:
            from moto import backends as moto_backends

            _ORIGINALS["list_of_moto_modules"] = moto_backends.list_of_moto_modules
            _ORIGINALS["get_backend_for_host"] = DomainDispatcherApplication.get_backend_for_host
            moto_backends.list_of_moto_modules = _moto_modules  # type: ignore[assignment]
            DomainDispatcherApplication.get_backend_for_host = _backend_for_host  # type: ignore[method-assign]
        if "dynamodb_sorted_items" not in _ORIGINALS:
            from moto.dynamodb.models.table import Table

            _ORIGINALS["dynamodb_sorted_items"] = Table.sorted_items
            _ORIGINALS["dynamodb_all_items"] = Table.all_items
            Table.sorted_items = _sorted_items_by_plain_keys  # type: ignore[method-assign]
            Table.all_items = _all_items_by_plain_keys  # type: ignore[method-assign]
        if "boto_client_for" not in _ORIGINALS:
            # Importing the Lambda task module makes sure it binds the patched function too.
            import moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils  # noqa: F401

            original = _sfn_boto_client.boto_client_for
            _ORIGINALS["boto_client_for"] = original
            for module in _sfn_modules_importing_boto_client_for():
                if module.boto_client_for is original:
                    module.boto_client_for = _cached_boto_client_for


def uninstall_patches() -> None:
    """Restore moto's original methods (for tests that need plain moto afterwards)."""
    with _PATCH_LOCK:
        if "lambda_invoke" in _ORIGINALS:
            LambdaSimpleBackend.invoke = _ORIGINALS.pop("lambda_invoke")  # type: ignore[method-assign]
        if "dynamodb_call_action" in _ORIGINALS:
            DynamoHandler.call_action = _ORIGINALS.pop("dynamodb_call_action")  # type: ignore[method-assign]
        moto_speed.uninstall()
        if "get_backend_for_host" in _ORIGINALS:
            from moto import backends as moto_backends

            moto_backends.list_of_moto_modules = _ORIGINALS.pop("list_of_moto_modules")
            DomainDispatcherApplication.get_backend_for_host = _ORIGINALS.pop("get_backend_for_host")  # type: ignore[method-assign]
            _ORIGINALS.pop("moto_modules_list", None)
        if "dynamodb_sorted_items" in _ORIGINALS:
            from moto.dynamodb.models.table import Table

            Table.sorted_items = _ORIGINALS.pop("dynamodb_sorted_items")  # type: ignore[method-assign]
            Table.all_items = _ORIGINALS.pop("dynamodb_all_items")  # type: ignore[method-assign]
        if "cognito_update_extended_config" in _ORIGINALS:
            from moto.cognitoidp.models import CognitoIdpUserPool

            CognitoIdpUserPool.update_extended_config = _ORIGINALS.pop("cognito_update_extended_config")  # type: ignore[method-assign]
        if "boto_client_for" in _ORIGINALS:
            original = _ORIGINALS.pop("boto_client_for")
            for module in _sfn_modules_importing_boto_client_for():
                if module.boto_client_for is _cached_boto_client_for:
                    module.boto_client_for = original
        with _client_cache_lock:
            _client_cache.clear()


# --------------------------------------------------------------------------- the server


def _backend_app(service: Any) -> Any:
    """moto's Flask app for one service, out of Flask's debug mode: moto's server turns it on, and then every
    request whose body is not a form builds a new class for a debugging aid (`attach_enctype_error_multidict`),
    ~2% of a journey's CPU. An exception moto does not answer itself still propagates, as in debug mode."""
    app = create_backend_app(service)
    app.debug = False
    app.config["PROPAGATE_EXCEPTIONS"] = True
    return app


class _NoDelayRequestHandler(MotoRequestHandler):
    """moto's request handler with TCP_NODELAY (socketserver's switch): an answer is written in pieces (headers,
    body), and with Nagle's algorithm a piece could wait for the client's delayed ACK of the one before (~40 ms
    on loopback)."""

    disable_nagle_algorithm = True


class _QuietRequestHandler(_NoDelayRequestHandler):
    """moto's request handler without one access-log line per request (errors are still logged)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class LocalAws:
    """moto's server on a loopback port in this process, with Step Functions execution on.

    Only one instance may run per process at a time: moto's backends, its
    configuration and ``MOTO_PORT`` are process-wide.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        handler_resolver: HandlerResolver | None = None,
        *,
        upload_credentials: Mapping[str, str] | None = None,
        log_requests: bool = False,
        abort_executions_on_stop: bool = True,
        in_process: bool = True,
    ) -> None:
        self.host = host
        self.handler_resolver = handler_resolver
        self.dispatcher = DomainDispatcherApplication(_backend_app)
        self.writes = DurableWrites(self.dispatcher)
        self.app = ObjectResponseHeaders(  # served objects: nosniff, no shared caching
            PresignedPostPolicy(
                self.writes,
                credentials=upload_credentials if upload_credentials is not None else DEFAULT_CREDENTIALS,
            )
        )
        self.store: DurableStore | None = None
        self._requested_port = port
        self._log_requests = log_requests
        self._abort_executions_on_stop = abort_executions_on_stop
        # SDK calls from this process reach the emulator without a socket (`moto_speed.InProcessTransport`)
        self.in_process = in_process and os.environ.get("SILASTRI_EMULATOR_TRANSPORT", "") != "http"
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._saved_env_port: str | None = None
        self._saved_config: dict[str, Any] = {}
        self._http_requests = 0

    # -- lifecycle

    def _serve_over_http(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self._http_requests += 1  # (a statistic: not locked)
        return self.app(environ, start_response)

    def requests_served_over_http(self) -> int:
        """How many requests reached the emulator through its port (browsers, presigned URLs, other processes;
        SDK calls of this process are answered in process)."""
        return self._http_requests

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("LocalAws is not running")
        return int(self._server.server_port)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> LocalAws:
        global _active
        with _PATCH_LOCK:
            if _active is not None:
                raise RuntimeError(f"another LocalAws is already running at {_active.endpoint_url}")
            _active = self
        try:
            self._server = make_server(
                self.host,
                self._requested_port,
                self._serve_over_http,
                threaded=True,
                request_handler=_NoDelayRequestHandler if self._log_requests else _QuietRequestHandler,
            )
            # moto's Step Functions interpreter calls http://localhost:$MOTO_PORT for every task.
            self._saved_env_port = os.environ.get("MOTO_PORT")
            os.environ["MOTO_PORT"] = str(self.port)
            self._saved_config = {
                k: copy.deepcopy(default_user_config.get(k)) for k in ("stepfunctions", "lambda")
            }
            default_user_config["stepfunctions"] = {"execute_state_machine": True}
            default_user_config["lambda"] = {"use_docker": False}
            install_patches()
            if self.in_process:
                for name in {self.host, "localhost"} if self.host in ("127.0.0.1", "localhost") else {self.host}:
                    netloc = f"[{name}]:{self.port}" if ":" in name else f"{name}:{self.port}"
                    moto_speed.TRANSPORT.register(netloc, self.app, self.host, self.port)
            self._thread = threading.Thread(
                target=self._server.serve_forever, name=f"silastri-moto-{self.port}", daemon=True
            )
            self._thread.start()
        except BaseException:
            self._release()
            raise
        return self

    def stop(self) -> None:
        """Stop serving; abort running executions so that none calls a later server."""
        if self._server is None:
            return
        if self._abort_executions_on_stop:
            self.abort_running_executions()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._release()

    def _release(self) -> None:
        global _active
        moto_speed.TRANSPORT.unregister(self.app)
        self.writes.attach(None)
        if self.store is not None:
            self.store.close()
            self.store = None
        if self._server is not None:
            self._server.server_close()
        self._server = None
        self._thread = None
        with _client_cache_lock:  # the interpreter's clients point at this server's port
            _client_cache.clear()
        for key, value in self._saved_config.items():
            if value is not None:
                default_user_config[key] = value  # type: ignore[literal-required]
        self._saved_config = {}
        if self._saved_env_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = self._saved_env_port
        with _PATCH_LOCK:
            if _active is self:
                _active = None

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- state

    def reset(self) -> None:
        """Drop every resource in every moto backend of this process (moto's ``/moto-api/reset``)."""
        from moto.moto_api._internal.models import moto_api_backend

        with all_write_locks():
            moto_api_backend.reset()
        if self.store is not None:  # the empty state is what a restart must find
            self.store.compact()

    def snapshot(self, path: Path, timeout: float = 30.0) -> None:
        """Save the persisted backends to ``path`` while no write to them is half-done.

        Raises TimeoutError when a write holds its lock for more than ``timeout`` seconds.
        """
        with all_write_locks(timeout=timeout):
            save_snapshot(path)

    def restore(self, path: Path, timeout: float = 30.0) -> bool:
        """Load a snapshot saved by :meth:`snapshot`; False if ``path`` does not exist."""
        with all_write_locks(timeout=timeout):
            return load_snapshot(path) is not None

    def open_store(self, directory: Path) -> RecoveryReport:
        """Recover the state kept in ``directory`` (snapshot + journal) and journal every write there from now on.

        Raises `persistence.SnapshotError` for an unusable snapshot, OSError when the
        directory cannot be written.
        """
        store = DurableStore(directory)
        report = store.recover(self.dispatcher)
        self.store = store
        self.writes.attach(store)
        if report.restored:
            self.release_inflight_messages()
        return report

    def release_inflight_messages(self) -> int:
        """Make every SQS message that was being handled visible again (returns how many).

        After a restart no consumer of the previous process is alive; on AWS a message received by a crashed
        consumer comes back after its visibility timeout (3 minutes for notifications), here at once."""
        from moto.sqs.models import sqs_backends

        released = 0
        backend: Any
        for _account, _region, backend in list(sqs_backends.iter_backends()):
            for queue in list(backend.queues.values()):
                for message in list(queue._messages):
                    if not message.visible:
                        message.change_visibility(0)
                        released += 1
        return released

    def abort_running_executions(self) -> int:
        """Stop every RUNNING Step Functions execution (as StopExecution would); returns how many."""
        from moto.stepfunctions.parser.api import ExecutionStatus
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        stopped = 0
        now = datetime.datetime.now(datetime.UTC)
        backend: Any
        for _account, _region, backend in list(stepfunctions_parser_backends.iter_backends()):
            for execution in backend._get_executions(ExecutionStatus.RUNNING):
                execution.stop(stop_date=now, error="LocalAws.Stopped", cause="local runtime stopped")
                # A task-token wait does not watch the stop flag: wake it so that its thread ends now.
                worker = execution.exec_worker
                if worker is not None:
                    for endpoint in list(worker.env.callback_pool_manager._pool.values()):
                        endpoint.interrupt_all()
                stopped += 1
        return stopped

    # -- Lambda dispatch

    def _invoke_lambda(
        self,
        backend: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: dict[str, str],
    ) -> bytes:
        name, qualifier = _split_function_name(function_name, qualifier)
        arn = f"arn:{backend.partition}:lambda:{backend.region_name}:{backend.account_id}:function:{name}"
        if qualifier:
            arn = f"{arn}:{qualifier}"
        handler = self.handler_resolver(name) if self.handler_resolver is not None else None
        if handler is None:
            raise UnknownFunctionException(arn)

        if isinstance(body, bytes):
            body = body.decode()
        event = json.loads(body) if body else {}
        timeout, memory = DEFAULT_TIMEOUT_SECONDS, DEFAULT_MEMORY_MB
        try:  # honour Timeout / MemorySize when the function was also created in moto
            fn = backend.get_function(name, qualifier)
            timeout, memory = int(fn.timeout), int(fn.memory_size)
        except Exception:  # noqa: S110 - resolver-only functions are fine
            pass

        def make_context() -> LambdaContext:
            return LambdaContext(
                function_name=name,
                function_version=qualifier if qualifier and qualifier.isdigit() else "$LATEST",
                invoked_function_arn=arn,
                memory_limit_in_mb=memory,
                timeout_seconds=timeout,
            )

        invocation_type = headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":

            def run_async() -> None:
                try:
                    with running(name):
                        handler(event, make_context())
                except Exception:
                    log.exception("asynchronous invocation of %s failed", name)

            threading.Thread(target=run_async, name=f"lambda-event-{name}", daemon=True).start()
            return b""

        try:
            with running(name):
                result = handler(event, make_context())
        except Exception as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            return _error_payload(exc)
        try:
            return json.dumps(result, default=_json_default).encode()
        except (TypeError, ValueError) as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {"errorType": "Runtime.MarshalError", "errorMessage": f"Unable to marshal response: {exc}"}
            ).encode()
