"""The embedded local runtime: `silastri up`.

moto's AWS emulator in this process (Step Functions executing the real ASL, Lambda invocations
dispatched to the real handlers), every resource created from template.yaml, the SQS event source
mapping and the schedules played here, the Chalice app served on 127.0.0.1, data kept across restarts:
every acknowledged write is journaled before its answer (see `durability`), snapshots compact the journal.
The functions' metrics (EMF documents on stdout) are kept in the data directory (see `metrics_capture`)."""

from __future__ import annotations

import fcntl
import functools
import importlib.util
import json
import os
import re
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from . import metrics_capture
from . import template as tpl
from .durability import PersistenceFailure
from .moto_server import LambdaContext, LocalAws, running
from .resources import PREFIX, LocalResources

REGION = "ap-southeast-3"
OFFICERS_FILE = "officers.json"
STACK_FILE = "stack.json"  # written while a stack runs: where its API and emulator listen
LOCK_FILE = "stack.lock"  # held (flock) by the one stack that owns the data directory
#: a snapshot waits at least this many times the last snapshot's duration after it (writes held ≤ ~5% of the time)
SNAPSHOT_SPACING = 20.0
#: at most this long, at start, for the runs resumed after a restart to wait for a person before the API serves
RESUME_WAIT_SECONDS = 30.0


def snapshot_due(pending: int, rounds: int, since_last: float, last_cost: float) -> bool:
    """Whether the snapshot loop compacts in this round: journal records are pending (or 6 rounds passed: SQS and
    SNS consumption only snapshots save), and at least SNAPSHOT_SPACING × the last snapshot's duration (seconds)
    passed since it ended (`since_last`, seconds)."""
    return (pending > 0 or rounds >= 6) and since_last >= SNAPSHOT_SPACING * last_cost


class DataDirInUse(RuntimeError):
    """Another stack owns this data directory (it holds `stack.lock`): attach to it instead of starting one."""

    def __init__(self, data_dir: Path) -> None:
        owner = ""
        try:
            info = json.loads((data_dir / STACK_FILE).read_text())
            owner = f" (API {info.get('api_url')}, pid {info.get('pid')})"
        except (OSError, ValueError):
            pass
        super().__init__(f"folder data {data_dir} sedang dipakai stack lain{owner}; hentikan stack itu atau pakai "
                         f"--data-dir lain")
DEFAULT_DATA_DIR = tpl.ROOT / ".silastri"

OFFICERS = [  # (login key, Cognito group, e-mail handle, name, acting head)
    ("back_office", "back_office", "backoffice", "Rina Marlina (Back Office)", False),
    ("technical_team", "technical_team", "timteknis", "Dedi Saputra (Tim Teknis Dinas Sosial)", False),
    ("verifier", "verifier", "ahlimuda", "Yusuf Hamdani (Penata Perizinan Ahli Muda)", False),
    ("approver", "approver", "ahlimadya", "Sri Wahyuni (Penata Perizinan Ahli Madya)", False),
    ("head", "head", "kadis", "H. Ahmad Fauzi, S.Sos., M.Si.", False),
    ("head_acting", "head", "pltkadis", "Drs. Zulkifli Hasan", True),
]

ACTING_KEYS = {o[0] for o in OFFICERS if o[4]}

_LOAD_LOCK = threading.Lock()


def _load_handler(spec: tpl.FunctionSpec) -> Callable[..., Any]:
    """Import a function's module from its CodeUri the way Lambda does, under a unique module name.

    Serialised: runs resumed together after a restart invoke the same function at once, and a module
    half-executed by one thread must never be used by another."""
    with _LOAD_LOCK:
        return _load_handler_locked(spec)


def _load_handler_locked(spec: tpl.FunctionSpec) -> Callable[..., Any]:
    module_name = f"silastri_fn_{spec.logical_id}"
    module: ModuleType | None = sys.modules.get(module_name)
    if module is None:
        if (spec.code_uri / "chalicelib").is_dir() and str(spec.code_uri) not in sys.path:
            sys.path.insert(0, str(spec.code_uri))  # Lambda puts the function's code root on the path
        loader = importlib.util.spec_from_file_location(module_name, spec.module_path)
        assert loader and loader.loader
        module = importlib.util.module_from_spec(loader)
        sys.modules[module_name] = module
        try:
            loader.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]  # a failed import is tried again, never used half-done
            raise
    return getattr(module, spec.attribute)


def apply_clock_offset() -> None:
    """Shift the service clock by env SILASTRI_CLOCK_OFFSET (seconds, may be negative; local runtime only),
    so that SLA reminders, escalations and deadlines can be tried without waiting days."""
    from datetime import timedelta

    from silastri.domain import clock

    raw = os.environ.get("SILASTRI_CLOCK_OFFSET", "").strip()
    try:
        seconds = float(raw) if raw else 0.0
    except ValueError:
        raise SystemExit(f"SILASTRI_CLOCK_OFFSET must be a number of seconds, not {raw!r}") from None
    clock.set_offset(timedelta(seconds=seconds))


class LocalStack:
    """Everything `silastri up` runs, startable and stoppable from tests."""

    def __init__(self, data_dir: Path = DEFAULT_DATA_DIR, api_port: int = 8000, aws_port: int = 0,
                 host: str = "127.0.0.1", persist: bool = True, snapshot_seconds: float = 5.0,
                 poll_seconds: float = 0.2, run_schedules: bool = True, run_event_sources: bool = True) -> None:
        self.data_dir = Path(data_dir)
        self.api_port = api_port
        self.aws_port = aws_port
        self.host = host
        self.persist = persist
        self.snapshot_seconds = snapshot_seconds
        self.poll_seconds = poll_seconds
        self.run_schedules = run_schedules
        self.run_event_sources = run_event_sources  # tests may play the queue themselves
        self.template = tpl.load_template()
        self.specs = {s.logical_id: s for s in tpl.functions(self.template)}
        self.aws: LocalAws | None = None
        self.resources: LocalResources | None = None
        self.officers: dict[str, dict[str, str]] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._api_server: Any = None
        self._api_port_hold: Any = None  # the API's port, held while the stack starts (`_hold_port`)
        self._handlers: dict[str, Callable[..., Any]] = {}
        self.restored = False
        self.resumed: list[str] = []
        self._emf_filter: metrics_capture.EmfFilter | None = None
        self._lock_handle: IO[str] | None = None
        self._pdf_workers: Any = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    def start(self) -> LocalStack:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_data_dir()
        try:
            return self._start()
        except BaseException:
            self._unlock_data_dir()
            raise

    def _lock_data_dir(self) -> None:
        """Own the data directory: one stack at a time (an exclusive lock on `stack.lock`, released at stop or
        when the process dies, even by kill -9). Raises DataDirInUse naming the stack that owns it."""
        handle = open(self.data_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held open for the stack's lifetime
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise DataDirInUse(self.data_dir) from None
        self._lock_handle = handle

    def _unlock_data_dir(self) -> None:
        if self._lock_handle is not None:
            fcntl.flock(self._lock_handle.fileno(), fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None

    def _start(self) -> LocalStack:
        # the API's port is held from here on: it is served only after the resumed runs wait again, and a port left
        # free that long was taken by another process's connection now and then (EADDRINUSE at `_start_api`)
        self._api_port_hold = _hold_port(self.host, self.api_port)
        self.api_port = int(self._api_port_hold.getsockname()[1])
        self._emf_filter = metrics_capture.install(self.data_dir)  # `silastri metrics` reads what it keeps
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}.items():
            os.environ[key] = value
        os.environ.pop("AWS_PROFILE", None)
        apply_clock_offset()
        self.aws = LocalAws(host=self.host, port=self.aws_port, handler_resolver=self._resolve).start()
        # moto's backends are process-wide: a stack holds what its data directory holds, never what an earlier
        # stack of this process left (its queued notifications, its runs)
        self.aws.reset()
        os.environ["AWS_ENDPOINT_URL"] = self.aws.endpoint_url
        if self.persist:
            recovery = self.aws.open_store(self.data_dir)
            self.restored = recovery.restored
        self.resources = LocalResources(self.template, REGION, {"PublicBaseUrl": self.api_url,
                                                                "MessagingMode": "local-outbox"})
        self.resources.create_all()
        self._configure_environment()
        self._start_pdf_workers()
        self._seed_officers()
        self.resources.finish_local_setup(self.data_dir, self.officers,
                                          {k for k, o in self.officers.items() if k.split(":")[-1] in ACTING_KEYS})
        if self.persist:
            self.save()  # fold what was replayed into a snapshot before serving
        if self.run_event_sources:
            self._start_event_sources()
        # runs first, the API after: a decision posted while a resumed run's task still holds the dead run's
        # token would be refused although the resumed run is about to wait for it (red team F3)
        runs = self._resume_runs()
        self.resumed = list(runs)
        self._await_resumed_runs(runs)
        self._start_api()
        stack_file = self.data_dir / STACK_FILE
        stack_file.touch(mode=0o600)
        stack_file.write_text(json.dumps({
            "api_url": self.api_url, "aws_url": self.aws.endpoint_url, "pid": os.getpid(),
            "environment": {k: os.environ[k] for k in self.resources.function_environment()}}))
        if self.persist:
            self._spawn(self._snapshot_loop, "snapshots")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._api_port_hold is not None:
            self._api_port_hold.close()
            self._api_port_hold = None
        if self._api_server is not None:
            self._api_server.shutdown()
            self._api_server.server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self._stop_pdf_workers()
        if self.aws is not None:
            if self.persist and self.aws.store is not None and self.aws.store.failure is None:
                try:
                    self.save()
                except (TimeoutError, PersistenceFailure) as exc:  # the journal still holds every write
                    print(f"final snapshot failed: {exc.__class__.__name__}: {exc}", file=sys.stderr)
            if self.aws.store is not None:
                stats = self.aws.store.stats()
                print(f"journal: {stats['appends']} writes journaled since start, {stats['mean_append_ms']} ms "
                      f"each on average (append + fdatasync), {stats['compactions']} compactions", flush=True)
            self.aws.stop()
        os.environ.pop("AWS_ENDPOINT_URL", None)
        (self.data_dir / STACK_FILE).unlink(missing_ok=True)
        if self._emf_filter is not None:
            metrics_capture.uninstall(self._emf_filter)
            self._emf_filter = None
        self._unlock_data_dir()

    def save(self) -> None:
        """Compact: snapshot the emulator's state into the data directory and drop the journal it contains.

        Raises TimeoutError (a write holds its lock too long; try later) or `PersistenceFailure`.
        """
        assert self.aws and self.aws.store
        self.aws.store.compact()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ configuration

    def _configure_environment(self) -> None:
        assert self.resources and self.aws
        env = self.resources.function_environment()
        pool_id = env["USER_POOL_ID"]
        env.update({
            # moto serves the pool's keys itself; tokens still name the AWS host as issuer
            "COGNITO_JWKS_URL": f"{self.aws.endpoint_url}/{pool_id}/.well-known/jwks.json",
            "PUBLIC_BASE_URL": self.api_url,
            "MESSAGING_MODE": "local-outbox",
            # retries after a channel failure come back sooner than on AWS (whole seconds: 1, 1, 1, 1, 2, 4, 7)
            "NOTIFICATION_RETRY_BASE_SECONDS": os.environ.get("NOTIFICATION_RETRY_BASE_SECONDS", "0.1"),
            "SIGNER_MODE": "dev-pki",
            "DATA_DIR": str(self.data_dir),
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        })
        os.environ.update(env)
        from silastri.adapters import aws, dynamo
        from silastri.settings import get_settings

        get_settings.cache_clear()
        aws.client.cache_clear()
        dynamo._BOUND_TO = None  # tables may have new names (and a new endpoint) after a fresh start
        from silastri.services import permits

        permits.signer.cache_clear()

    def _local_secret(self, name: str) -> str:
        """A random secret kept in the data directory (what a deployment keeps in its parameters)."""
        path = self.data_dir / name
        if not path.exists():
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def _seed_officers(self) -> None:
        """One officer account per role in every office of the catalog; logins kept in the data directory.

        The default office's logins are keyed by role (`back_office`, …), another office's by
        `<office_id>:<role>`; each entry names its `office_id`."""
        assert self.resources
        from silastri.domain.catalog import default_catalog

        path = self.data_dir / OFFICERS_FILE
        saved: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
        idp = self.resources.client("cognito-idp")
        pool_id = os.environ["USER_POOL_ID"]
        default_office = os.environ.get("DEFAULT_OFFICE_ID", "rokan-hilir")
        offices = [default_office, *sorted(o for o in default_catalog().offices if o != default_office)]
        accounts = [(office_id, key if office_id == default_office else f"{office_id}:{key}", group,
                     f"{handle}@{office_id.replace('-', '')}.local", name, acting)
                    for office_id in offices for key, group, handle, name, acting in OFFICERS]
        # office and acting head come from groups (resources.finish_local_setup), never from attributes
        for number, (office_id, key, group, email, name, _acting) in enumerate(accounts):
            entry = saved.get(key) or {"email": email, "office_id": office_id,
                                        "password": "Rohil-" + secrets.token_urlsafe(9) + "9a", "name": name}
            entry.setdefault("office_id", office_id)
            try:
                idp.admin_get_user(UserPoolId=pool_id, Username=entry["email"])
                if key not in saved:  # an account from another stack in this process: this login sheet is the truth
                    idp.admin_set_user_password(UserPoolId=pool_id, Username=entry["email"],
                                                Password=entry["password"], Permanent=True)
            except idp.exceptions.UserNotFoundException:
                idp.admin_create_user(
                    UserPoolId=pool_id, Username=entry["email"], MessageAction="SUPPRESS",
                    UserAttributes=[{"Name": "email", "Value": entry["email"]}, {"Name": "name", "Value": name},
                                    {"Name": "phone_number", "Value": f"+62811000{number:04d}"}],
                )
                idp.admin_set_user_password(UserPoolId=pool_id, Username=entry["email"], Password=entry["password"],
                                            Permanent=True)
                idp.admin_add_user_to_group(UserPoolId=pool_id, Username=entry["email"], GroupName=group)
            saved[key] = entry
        path.write_text(json.dumps(saved, indent=2))
        path.chmod(0o600)
        self.officers = saved

    def _start_pdf_workers(self) -> None:
        """Uploads are checked in two small pre-started worker processes (each parse still a forked child under
        the limits) rather than by forking this big process (~250 ms per upload). One pool per process: a second
        stack in the same process uses the first one's."""
        from silastri.adapters import pdf_worker

        if pdf_worker.installed() is None:
            self._pdf_workers = pdf_worker.PdfWorkerPool(size=2)
            pdf_worker.install(self._pdf_workers)

    def _stop_pdf_workers(self) -> None:
        from silastri.adapters import pdf_worker

        if self._pdf_workers is not None:
            if pdf_worker.installed() is self._pdf_workers:
                pdf_worker.install(None)
            self._pdf_workers.close()
            self._pdf_workers = None

    # ------------------------------------------------------------------ Lambda

    def _resolve(self, function_name: str) -> Callable[..., Any] | None:
        name = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
        logical = name[len(PREFIX) + 1:] if name.startswith(f"{PREFIX}-") else name
        spec = self.specs.get(logical)
        if spec is None:
            return None
        if logical not in self._handlers:
            self._handlers[logical] = _load_handler(spec)
        return self._handlers[logical]

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Call a function's handler directly (event sources, schedules)."""
        handler = self._resolve(logical_id)
        assert handler is not None, logical_id
        name = f"{PREFIX}-{logical_id}"
        context = LambdaContext(function_name=name, function_version="$LATEST",
                                invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:{name}",
                                memory_limit_in_mb=512, timeout_seconds=60)
        with running(name):
            return handler(event, context)

    # ------------------------------------------------------------------ event sources and schedules

    def _start_event_sources(self) -> None:
        assert self.resources
        for spec in self.specs.values():
            for event in spec.events.values():
                props = event.get("Properties", {})
                if event["Type"] == "SQS":
                    queue_arn = self.resources.resolve(props["Queue"])
                    queue_url = self.resources.refs[queue_arn.rsplit(":", 1)[-1].removeprefix(f"{PREFIX}-")]
                    self._spawn(functools.partial(self._poll_queue, spec.logical_id, queue_url, queue_arn,
                                                  int(props.get("BatchSize", 10))), f"sqs-{spec.logical_id}")
                elif event["Type"] == "EventBridgeRule" and _is_run_status_rule(props.get("Pattern", {})):
                    self._spawn(functools.partial(self._watch_ended_runs, spec.logical_id,
                                                  list(props["Pattern"]["detail"]["status"])),
                                f"runs-{spec.logical_id}")
                elif event["Type"] == "Schedule" and self.run_schedules:
                    seconds = parse_rate(props["Schedule"])
                    self._spawn(functools.partial(self._schedule, spec.logical_id, seconds),
                                f"schedule-{spec.logical_id}")

    def poll_queue_once(self, logical_id: str, queue_url: str, queue_arn: str, batch: int, wait: int = 0,
                        failed_visibility: int | None = None, sqs: Any = None) -> int:
        """One receive → invoke → delete round, as Lambda's event source mapping does.

        Records reported in batchItemFailures stay on the queue and come back after the visibility
        timeout; past maxReceiveCount SQS moves them to the dead-letter queue. `sqs`: the poller's own
        long-lived client (a new one when not given)."""
        assert self.resources
        sqs = sqs or self.resources.client("sqs")
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=batch, WaitTimeSeconds=wait,
                                       AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": queue_arn,
            "awsRegion": REGION} for m in messages]}
        try:
            response = self.invoke(logical_id, event) or {}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception:  # a crashed invocation fails the whole batch, as on AWS
            failed = {m["MessageId"] for m in messages}
        for message in messages:
            if message["MessageId"] in failed:
                if failed_visibility is not None:
                    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"],
                                                  VisibilityTimeout=failed_visibility)
            else:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _poll_queue(self, logical_id: str, queue_url: str, queue_arn: str, batch: int) -> None:
        assert self.resources
        sqs = self.resources.client("sqs")  # one client per poller: a new one every round cost ~8% of a core idle
        while not self._stop.is_set():
            try:
                if not self.poll_queue_once(logical_id, queue_url, queue_arn, batch, sqs=sqs):
                    self._stop.wait(self.poll_seconds)
            except Exception:  # the emulator is stopping or restarting; try again
                self._stop.wait(1)

    def reconcile_ended_runs_once(self, logical_id: str, statuses: list[str], seen: set[str],
                                  attempts: dict[str, int] | None = None, max_attempts: int = 5,
                                  sfn: Any = None) -> int:
        """Play the EventBridge rule on "Step Functions Execution Status Change" once: every run of the
        state machine that ended with one of `statuses` and was not delivered yet is handed to the rule's
        function with the event EventBridge sends. A failed delivery is tried again in the next round (as
        EventBridge retries), up to `max_attempts`. Returns how many events were delivered."""
        assert self.resources
        sfn = sfn or self.resources.client("stepfunctions")
        machine = os.environ["STATE_MACHINE_ARN"]
        attempts = attempts if attempts is not None else {}
        delivered = 0
        for status in statuses:
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine, statusFilter=status):
                for summary in page["executions"]:
                    arn = summary["executionArn"]
                    if arn in seen:
                        continue
                    described = sfn.describe_execution(executionArn=arn)
                    stop = described.get("stopDate")
                    event = {
                        "version": "0", "id": str(uuid.uuid4()),
                        "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
                        "account": arn.split(":")[4], "time": time.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": REGION,
                        "resources": [arn],
                        "detail": {
                            "executionArn": arn, "stateMachineArn": machine, "name": summary["name"],
                            "status": described["status"],
                            "startDate": int(described["startDate"].timestamp() * 1000),
                            "stopDate": int(stop.timestamp() * 1000) if stop else None,
                            "input": described.get("input"), "output": described.get("output"),
                            "error": described.get("error"), "cause": described.get("cause"),
                        },
                    }
                    try:
                        self.invoke(logical_id, event)
                    except Exception as exc:  # noqa: BLE001 - retried next round, as EventBridge retries
                        attempts[arn] = attempts.get(arn, 0) + 1
                        print(f"{logical_id} failed for {summary['name']} (attempt {attempts[arn]}): "
                              f"{exc.__class__.__name__}: {exc}", file=sys.stderr, flush=True)
                        if attempts[arn] < max_attempts:
                            continue
                    seen.add(arn)
                    delivered += 1
        return delivered

    def _watch_ended_runs(self, logical_id: str, statuses: list[str]) -> None:
        """moto has no EventBridge: poll ListExecutions for ended runs and deliver each once."""
        assert self.resources
        seen: set[str] = set()
        attempts: dict[str, int] = {}
        sfn = self.resources.client("stepfunctions")  # one long-lived client for the watcher
        while not self._stop.wait(max(self.poll_seconds, 0.5)):
            try:
                self.reconcile_ended_runs_once(logical_id, statuses, seen, attempts, sfn=sfn)
            except Exception:  # noqa: BLE001 - the emulator is stopping or restarting; try again
                self._stop.wait(1)

    def _schedule(self, logical_id: str, seconds: float) -> None:
        while not self._stop.wait(seconds):
            try:
                self.invoke(logical_id, {"source": "aws.events", "detail-type": "Scheduled Event",
                                         "id": str(uuid.uuid4()), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ")})
            except Exception as exc:  # keep the schedule alive, as EventBridge would
                print(f"scheduled {logical_id} failed: {exc.__class__.__name__}", file=sys.stderr)

    def _snapshot_loop(self) -> None:
        """Compact every `snapshot_seconds` when the journal grew (and every few rounds anyway, for SQS/SNS,
        which only snapshots save), but never sooner than SNAPSHOT_SPACING times the last snapshot's duration
        after it: a snapshot holds every write while the whole state is pickled, which grows with the data (~4 ms
        per permit on the emulator; 2 s with 500 permits stored), so writes are held at most ~5% of the time
        instead of seconds every 5 s. Writes are journaled meanwhile: nothing is lost. A failure is reported by
        the store and stops writes."""
        rounds, cost, done = 0, 0.0, time.monotonic()
        while not self._stop.wait(self.snapshot_seconds):
            store = self.aws.store if self.aws else None
            if store is None or store.failure is not None:
                continue
            rounds += 1
            if not snapshot_due(store.pending(), rounds, time.monotonic() - done, cost):
                continue
            started = time.monotonic()
            try:
                self.save()
                done = time.monotonic()
                rounds, cost = 0, done - started
            except TimeoutError as exc:  # nothing is lost: the journal keeps the writes meanwhile
                print(f"snapshot postponed: {exc}", file=sys.stderr, flush=True)
            except PersistenceFailure:
                pass  # already reported loudly by the store; writes are refused from now on
            except Exception as exc:
                store.fail(f"snapshot failed: {exc.__class__.__name__}: {exc}")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=f"silastri-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    # ------------------------------------------------------------------ API

    def _start_api(self) -> None:
        from chalice.config import Config

        from .api_server import create_api_server

        chalice_app: Any = self._resolve("ApiFunction")  # the Chalice app object is the API's handler
        config = Config.create(chalice_stage="local", app_name="silastri", lambda_timeout=30)
        if self._api_port_hold is not None:
            self._api_port_hold.close()
            self._api_port_hold = None
        self._api_server = create_api_server(chalice_app, config, self.host, self.api_port)
        self._spawn(self._api_server.serve_forever, "api")

    # ------------------------------------------------------------------ restart

    def _resume_runs(self) -> dict[str, str]:
        """Start a new run for every application that was mid-flow when the stack stopped; it enters
        the workflow at the step the application had reached (the ASL's resume entry). Returns {run name:
        application id}."""
        from silastri.adapters import dynamo, workflow
        from silastri.domain.models import Application, ApplicationStatus
        from silastri.services.runs import new_run_name, run_payload

        assert self.resources
        sfn = self.resources.client("stepfunctions")
        machine = os.environ["STATE_MACHINE_ARN"]
        running = {e["name"] for page in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=machine, statusFilter="RUNNING") for e in page["executions"]}
        resumed: dict[str, str] = {}
        for app in dynamo.all_applications():
            # a withdrawal the run had not closed yet (no `closed_at`) is resumed too: its run closes it
            closing = app.status == ApplicationStatus.WITHDRAWN and app.closed_at is None
            if (app.status not in (ApplicationStatus.IN_PROGRESS, ApplicationStatus.AWAITING_REVISION,
                                   ApplicationStatus.ISSUED) and not closing) or not app.registration_number:
                continue
            if app.execution_name in running:
                continue
            payload = run_payload(app)
            name = new_run_name(app.office_id, app.registration_number)

            def change(target: Application, run_name: str = name) -> None:
                target.execution_name = run_name

            dynamo.update_application(app.application_id, change)
            workflow.start_run(name, payload)
            resumed[name] = app.application_id
        return resumed

    def _await_resumed_runs(self, runs: dict[str, str], timeout: float = RESUME_WAIT_SECONDS) -> list[str]:
        """Wait until every resumed run waits for a person (a task of its application is open under the run's name)
        or has ended, at most `timeout` seconds in all; returns the names still on their way (logged)."""
        from silastri.adapters import dynamo
        from silastri.domain.models import TaskStatus

        assert self.resources
        sfn = self.resources.client("stepfunctions")
        arn = os.environ["STATE_MACHINE_ARN"].replace(":stateMachine:", ":execution:")
        waiting = dict(runs)
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            for name, application_id in list(waiting.items()):
                if sfn.describe_execution(executionArn=f"{arn}:{name}")["status"] != "RUNNING" \
                        or any(t.execution_name == name and t.status == TaskStatus.OPEN
                               for t in dynamo.tasks_of_application(application_id)):
                    del waiting[name]
            if waiting:
                time.sleep(0.05)
        if waiting:
            print(f"runs not waiting yet after {timeout:g} s: {', '.join(sorted(waiting))}", file=sys.stderr, flush=True)
        return sorted(waiting)


def _is_run_status_rule(pattern: dict[str, Any]) -> bool:
    """An EventBridge pattern on this stack's Step Functions runs changing status (the one rule played here)."""
    return (pattern.get("source") == ["aws.states"]
            and pattern.get("detail-type") == ["Step Functions Execution Status Change"]
            and bool(pattern.get("detail", {}).get("status")))


_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")


def parse_rate(expression: str) -> float:
    """`rate(15 minutes)` → 900 seconds (cron expressions are not used by this template)."""
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"unsupported schedule expression: {expression}")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
    return int(match.group(1)) * unit


def _hold_port(host: str, port: int) -> Any:
    """A socket bound to `host:port` (0: a free port), not listening: the port stays this stack's until closed.
    Raises OSError when the port is taken."""
    import socket

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
