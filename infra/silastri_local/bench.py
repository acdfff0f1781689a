"""`silastri bench`: N applications through the local runtime; figures per application, billed as AWS bills them.

Counts come from what actually ran, each counted once the application's run has reached its final state (the
closing step may still be running when the applicant has the permit):

- Step Functions: the execution history (state transitions, Lambda tasks).
- Lambda: the runtime's dispatch (invocations and their durations) + the API's requests; GB-seconds at each
  function's `MemorySize` from template.yaml; INIT billed too (AWS bills the init phase since 2025-08-01): one cold
  start per handler per bench, its init measured as the handler's import in a fresh interpreter (a lower bound: on
  AWS every new execution environment pays it again).
- DynamoDB: `ddb_billing` — request units estimated from the tables' contents before and after each request
  (larger of before/after per 1 KB, every index write at its projected size, reads per 4 KB), AWS's rule.
- S3 (DELETE free), SNS, SQS: the emulator's request log. API Gateway: REST or HTTP API per million requests
  (template.yaml declares `Type: Api`, a REST API: the default).
- Messages: the message log, per audience and channel, priced per message (parameters).

Prices are us-east-1 on-demand list prices × `region_factor` (the stack deploys to ap-southeast-3, Jakarta; its
prices were not confirmed here — pass the factor). `bench_table` prints each figure beside the issue-12 goal."""

from __future__ import annotations

import importlib
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from silastri.domain.numbering import first_run_name
from silastri.settings import get_settings

from . import ddb_billing
from .client import ApiClient
from .journey import TYPES, Journey, officer_clients

bench_speed: ModuleType | None
try:  # helper module of the speed figures (issue 12 items 4-5); its rows say "not measured" without it
    bench_speed = importlib.import_module(f"{__package__}.bench_speed")
except ImportError:  # pragma: no cover - depends on the branch
    bench_speed = None

# AWS list prices in USD (on-demand, us-east-1 as published); multiplied by `region_factor`.
PRICES = {
    "sfn_transition": 0.025 / 1000,          # Step Functions Standard, per state transition
    "lambda_request": 0.20 / 1_000_000,      # per request
    "lambda_gb_second_arm64": 0.0000133334,  # per GB-second, arm64 (duration and, since 2025-08-01, INIT)
    "ddb_write_unit": 0.625 / 1_000_000,     # on-demand write request unit
    "ddb_read_unit": 0.125 / 1_000_000,      # on-demand read request unit
    "s3_write": 0.005 / 1000,                # PUT, COPY, POST, LIST
    "s3_read": 0.0004 / 1000,                # GET and others; DELETE is free
    "sns_publish": 0.50 / 1_000_000,
    "sqs_request": 0.40 / 1_000_000,
    "api_gateway_rest": 3.50 / 1_000_000,    # REST API, first 333 million a month
    "api_gateway_http": 1.00 / 1_000_000,    # HTTP API, first 300 million a month
}
#: the API Gateway flavour template.yaml declares (ApiFunction events `Type: Api` = REST API)
DEFAULT_API_GATEWAY = "rest"
DEFAULT_MEMORY_MB = 512

# Message prices in USD (parameters of `silastri bench`; see README "Pesan (notifikasi)" for the sources).
MESSAGE_PRICES = {
    # AWS End User Messaging Social, per WhatsApp message (charged per message since 2025-07-01, the
    # "MessageFee" besides Meta's "MetaTemplateMessageFee"). The amount is the commonly quoted list price and
    # was NOT confirmed for this note: check https://aws.amazon.com/end-user-messaging/pricing/ before relying on it.
    "eum_social_message": 0.005,
    # Meta's template fee for Indonesia by category: 2024 Meta rate card as published by haptik.ai
    # ("WhatsApp Pricing 2024"); Meta's current per-message rate card may differ (developers.facebook.com/docs/
    # whatsapp/pricing). Counted for every template message (an upper bound: utility templates inside an
    # open 24-hour customer service window are free).
    "meta_utility": 0.02,
    "meta_authentication": 0.03,
    "meta_marketing": 0.0411,
    # Amazon SES outbound e-mail, per 1,000 messages (https://aws.amazon.com/ses/pricing/).
    "ses_per_1000": 0.10,
}
APPLICANT_WHATSAPP_GOAL = 5  # issue 9: at most five WhatsApp messages per permit to the applicant
OFFICER_WHATSAPP_GOAL = 0    # and none to officers in the default plan

#: issue 12's goals, row by row (the table `bench_table` prints)
GOALS = {
    "transitions": 13, "cost_usd": 0.00035, "write_units": 200, "cold_import_ratio": 1.3, "machine_seconds": 1.5,
    "apps_per_second_4": 4.0, "render_sign_ms": 60.0, "numbering_per_second": 50.0, "numbering_409": 0,
    "applicant_list_p95_ms": 100.0,
}


class Meter:
    """Counts the emulator's S3/SNS/SQS requests and the Lambda handlers' invocations (DynamoDB: `ddb_billing`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.lambda_calls: Counter[str] = Counter()
        self.lambda_seconds: dict[str, float] = defaultdict(float)
        self.per_application_seconds: dict[str, float] = defaultdict(float)

    def record_request(self, environ: dict[str, Any]) -> None:
        auth = environ.get("HTTP_AUTHORIZATION", "") + environ.get("QUERY_STRING", "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        method = environ.get("REQUEST_METHOD", "")
        with self.lock:
            if target.startswith("DynamoDB_"):
                self.requests[f"dynamodb:{target.split('.', 1)[1]}"] += 1
            elif "/s3/" in auth or "%2Fs3%2F" in auth or method == "POST" and "multipart" in environ.get("CONTENT_TYPE", ""):
                self.requests[f"s3:{_s3_kind(environ)}"] += 1
            elif "/sns/" in auth:
                self.requests["sns:request"] += 1
            elif "/sqs/" in auth or target.startswith("AmazonSQS"):
                self.requests["sqs:request"] += 1

    def wrap_handler(self, name: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def timed(event: Any, context: Any) -> Any:
            started = time.perf_counter()
            try:
                return handler(event, context)
            finally:
                elapsed = time.perf_counter() - started
                with self.lock:
                    self.lambda_calls[name] += 1
                    self.lambda_seconds[name] += elapsed
                    if isinstance(event, dict) and "application_id" in event:
                        self.per_application_seconds[event["application_id"]] += elapsed

        return timed


def _s3_kind(environ: dict[str, Any]) -> str:
    """delete (free: DELETE and DeleteObjects), list (billed as a write), read (GET/HEAD), write (PUT/POST/COPY)."""
    method = environ.get("REQUEST_METHOD", "")
    query = environ.get("QUERY_STRING", "")
    path = environ.get("PATH_INFO", "").strip("/")
    if method == "DELETE" or method == "POST" and (query == "delete" or query.startswith("delete&") or "&delete" in query):
        return "delete"
    if method == "GET" and ("list-type" in query or "/" not in path and "X-Amz-Signature" not in query):
        return "list"
    return "read" if method in ("GET", "HEAD") else "write"


@contextmanager
def metering(stack: Any) -> Iterator[Meter]:
    """Attach a Meter to a running LocalStack (emulator requests and handler dispatch)."""
    from moto.server import DomainDispatcherApplication

    meter = Meter()
    # Every emulator request is routed once through get_application (by the durability middleware, which
    # answers persisted services itself, or by the dispatcher): counting there sees each request once.
    original_route = DomainDispatcherApplication.get_application

    def counting_route(self: Any, environ: dict[str, Any]) -> Any:
        meter.record_request(environ)
        return original_route(self, environ)

    original_resolve = stack._resolve

    def resolve(function_name: str) -> Any:
        handler = original_resolve(function_name)
        return meter.wrap_handler(_logical_name(function_name), handler) if handler else None

    DomainDispatcherApplication.get_application = counting_route  # type: ignore[method-assign]
    stack._resolve = resolve
    if stack.aws is not None:
        stack.aws.handler_resolver = resolve
    try:
        yield meter
    finally:
        DomainDispatcherApplication.get_application = original_route  # type: ignore[method-assign]
        stack._resolve = original_resolve
        if stack.aws is not None:
            stack.aws.handler_resolver = original_resolve


def _logical_name(function_name: str) -> str:
    from .resources import PREFIX

    name = function_name.rsplit(":", 1)[-1]
    return name[len(PREFIX) + 1:] if name.startswith(f"{PREFIX}-") else name


class TimedClient(ApiClient):
    """Counts API requests and their server time, per application (the driver never waits inside one)."""

    def __init__(self, base: ApiClient, ledger: dict[str, list[float]]) -> None:
        super().__init__(base.base_url, base.token, base.timeout)
        self.ledger = ledger

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             raw: bytes | None = None) -> Any:
        started = time.perf_counter()
        try:
            return super().call(method, path, body, headers, raw)
        finally:
            self.ledger["requests"].append(time.perf_counter() - started)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def _drained(stack: Any, timeout: float = 60) -> bool:
    """Wait until the notifications and delivery-status queues are empty (messages sent, statuses applied)."""
    import boto3

    sqs = boto3.client("sqs")
    urls = [stack.resources.refs[q] for q in ("NotificationsQueue", "DeliveryStatusQueue") if q in stack.resources.refs]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(sum(int(v) for v in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"].values()) == 0
               for url in urls):
            return True
        time.sleep(0.2)
    return False


def count_messages(application_ids: list[str]) -> dict[str, Any]:
    """Messages the message log holds for these applications, plus the account messages (one-time codes) of
    this run, by audience (applicant / officers / account) and channel; WhatsApp also by template category.
    Only messages that went out (sent, delivered, read) are counted; the others are listed under not_sent."""
    from silastri.adapters import message_log
    from silastri.domain import notifications

    catalog = notifications.default_messages()
    out = (message_log.SENT, message_log.DELIVERED, message_log.READ)
    counts: dict[str, Counter[str]] = {"applicant": Counter(), "officers": Counter(), "account": Counter()}
    categories: Counter[str] = Counter()
    not_sent: Counter[str] = Counter()

    def add(audience: str, item: Any) -> None:
        if item.status not in out:
            not_sent[f"{item.channel}:{item.status}"] += 1
            return
        counts[audience][item.channel] += 1
        if item.channel == "whatsapp":
            template = catalog.whatsapp.get(item.template)
            categories[(template.category if template else "UTILITY").lower()] += 1

    for application_id in application_ids:
        for item in message_log.for_application(application_id):
            add("applicant" if item.recipient_role == "applicant" else "officers", item)
    for event in notifications.ACCOUNT_EVENTS:
        for item in message_log.scan_status(tuple(message_log.STATUS_LABELS), event):
            add("account", item)
    return {"by_audience": {k: dict(v) for k, v in counts.items()}, "whatsapp_by_category": dict(categories),
            "not_sent": dict(not_sent)}


def price_messages(per_permit: dict[str, dict[str, float]], whatsapp_by_category: dict[str, float],
                   prices: dict[str, float]) -> dict[str, float]:
    """USD per permit by channel: WhatsApp = AWS per-message fee + Meta's template fee of its category per
    message; e-mail = SES per 1,000; inbox = nothing beyond the compute already counted."""
    whatsapp = sum(whatsapp_by_category.values()) * prices["eum_social_message"] + sum(
        n * prices.get(f"meta_{category}", prices["meta_utility"]) for category, n in whatsapp_by_category.items())
    emails = sum(channels.get("email", 0.0) for channels in per_permit.values())
    return {"whatsapp": round(whatsapp, 6), "email": round(emails * prices["ses_per_1000"] / 1000, 7), "inbox": 0.0}


def message_table(result: dict[str, Any]) -> str:
    """The messages per permit as a small table, with the WhatsApp goals (printed by `silastri bench`)."""
    messages = result["per_application"]["messages"]
    rows: list[tuple[str, ...]] = [("", "whatsapp", "email", "inbox")]
    labels = {"applicant": "applicant", "officers": "officers", "account": "account codes"}
    for audience, label in labels.items():
        channels = messages["per_permit"].get(audience, {})
        rows.append((label, *("-" if c == "inbox" and audience != "officers" else f"{channels.get(c, 0.0):g}"
                              for c in ("whatsapp", "email", "inbox"))))  # applicants have no inbox
    cost = messages["cost_usd"]
    rows.append(("USD/permit", f"{cost['whatsapp']:.4f}", f"{cost['email']:.5f}", f"{cost['inbox']:g}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"Messages per permit ({result['applications']} × {result['permit_type']}):"]
    lines += ["  " + "  ".join(f"{cell:>{widths[i]}}" if i else f"{cell:<{widths[i]}}" for i, cell in enumerate(row))
              for row in rows]
    applicant = messages["per_permit"].get("applicant", {}).get("whatsapp", 0.0)
    officers = messages["per_permit"].get("officers", {}).get("whatsapp", 0.0)
    lines.append(f"WhatsApp messages to the applicant per permit: {applicant:g} (goal ≤ {APPLICANT_WHATSAPP_GOAL})")
    lines.append(f"WhatsApp messages to officers per permit: {officers:g} (goal {OFFICER_WHATSAPP_GOAL})")
    lines.append(f"Messages cost per permit: {messages['cost_usd_total']:.4f} USD "
                 f"(compute: {result['per_application']['cost_usd_total']:.6f} USD)")
    return "\n".join(lines)



def _await_final(sfn: Any, execution_arn: str, timeout: float = 60) -> str:
    """Wait until the run is no longer RUNNING (its closing step done); its final status, or RUNNING at timeout."""
    deadline = time.monotonic() + timeout
    while True:
        status = str(sfn.describe_execution(executionArn=execution_arn)["status"])
        if status != "RUNNING" or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def function_memory_mb(template: dict[str, Any] | None = None) -> dict[str, int]:
    """Each function's MemorySize (MB) from template.yaml (the Globals value where it declares none)."""
    from . import template as tpl

    template = template or tpl.load_template()
    default = int(template.get("Globals", {}).get("Function", {}).get("MemorySize", DEFAULT_MEMORY_MB))
    return {spec.logical_id: int(spec.properties.get("MemorySize", default)) for spec in tpl.functions(template)}


_TIMED_LOAD = ("import importlib.util, sys, time\n"
               "t = time.perf_counter()\n"
               "spec = importlib.util.spec_from_file_location('handler_module', sys.argv[1])\n"
               "module = importlib.util.module_from_spec(spec); sys.modules['handler_module'] = module\n"
               "spec.loader.exec_module(module)\n"
               "sys.stdout.write(repr(time.perf_counter() - t))\n")


def handler_init_seconds(logical_ids: list[str], runs: int = 1) -> dict[str, float]:
    """Seconds each function's handler module takes to import in a fresh interpreter (its Lambda INIT, without
    the runtime's own start): the median of `runs`, the process environment as the stack set it. Functions whose
    import fails are left out."""
    from . import template as tpl

    specs = {spec.logical_id: spec for spec in tpl.functions(tpl.load_template())}
    layer = tpl.ROOT / "layers" / "common" / "python"
    found: dict[str, float] = {}
    for logical_id in logical_ids:
        spec = specs.get(logical_id)
        if spec is None:
            continue
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(spec.code_uri), str(layer)])
        samples = []
        for _ in range(max(1, runs)):
            done = subprocess.run([sys.executable, "-c", _TIMED_LOAD, str(spec.module_path)], env=env,  # noqa: S603
                                  capture_output=True, text=True, timeout=120, check=False, cwd=str(spec.code_uri))
            if done.returncode == 0:
                samples.append(float(done.stdout))
        if samples:
            found[logical_id] = statistics.median(samples)
    return found


def run_bench(stack: Any, count: int, kind: str = "orsos", message_prices: dict[str, float] | None = None, *,
              quick: bool = False, api_gateway: str = DEFAULT_API_GATEWAY, region_factor: float = 1.0) -> dict[str, Any]:
    """Run `count` applications one after another and return the figures per application (JSON-able dict).

    `quick` skips the slow extras (handler INIT measurement, the speed rows of `bench_speed`); `api_gateway` is
    "rest" or "http"; `region_factor` multiplies every AWS price (not the message prices, which are given)."""
    import boto3

    if api_gateway not in ("rest", "http"):
        raise ValueError("api_gateway: rest or http")
    sfn = boto3.client("stepfunctions")
    machine = stack.resources.refs["LicensingStateMachine"]
    base = ApiClient(stack.api_url)
    staff = officer_clients(base, stack.officers)
    transitions: list[int] = []
    workflow_lambdas: list[int] = []
    machine_seconds: list[float] = []
    api_requests: list[int] = []
    application_ids: list[str] = []
    final_states: Counter[str] = Counter()
    prices = MESSAGE_PRICES | (message_prices or {})
    aws = {k: v * region_factor for k, v in PRICES.items()}
    with metering(stack) as meter, ddb_billing.billing() as bill:
        started = time.perf_counter()
        for _ in range(count):
            ledger: dict[str, list[float]] = {"requests": []}
            journey = Journey(TimedClient(base, ledger), {r: TimedClient(c, ledger) for r, c in staff.items()},
                              TYPES[kind])
            journey.register()
            journey.applicant = TimedClient(journey.applicant, ledger)  # type: ignore[arg-type]
            journey.run_to_pickup()
            run_name = first_run_name(journey.office_id or get_settings().default_office_id, journey.registration_number)
            execution = f"{machine.replace(':stateMachine:', ':execution:')}:{run_name}"
            final_states[_await_final(sfn, execution)] += 1  # count only what the whole run did
            events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
            transitions.append(sum(1 for e in events if e["type"].endswith("StateEntered")))
            workflow_lambdas.append(sum(1 for e in events if e["type"] in ("LambdaFunctionScheduled", "TaskScheduled")))
            machine_seconds.append(sum(ledger["requests"]) + meter.per_application_seconds[journey.application_id])
            api_requests.append(len(ledger["requests"]))
            application_ids.append(journey.application_id)
        wall = time.perf_counter() - started
        drained = _drained(stack)  # the last notifications are still on their way when the run ends
    counted = count_messages(application_ids)
    per_permit = {audience: {channel: n / count for channel, n in channels.items()}
                  for audience, channels in counted["by_audience"].items()}
    whatsapp_by_category = {category: n / count for category, n in counted["whatsapp_by_category"].items()}
    message_cost = price_messages(per_permit, whatsapp_by_category, prices)
    per_app = {key: value / count for key, value in meter.requests.items()}

    # Lambda: requests, duration at each function's memory, INIT once per handler per bench
    memory = function_memory_mb()
    api_memory_gb = memory.get("ApiFunction", DEFAULT_MEMORY_MB) / 1024
    lambda_invocations = sum(meter.lambda_calls.values()) / count + statistics.mean(api_requests)
    api_seconds = statistics.mean(machine_seconds) - sum(meter.per_application_seconds.values()) / count
    duration_gb_seconds = sum(seconds * memory.get(name, DEFAULT_MEMORY_MB) / 1024
                              for name, seconds in meter.lambda_seconds.items()) / count + api_seconds * api_memory_gb
    cold = sorted(set(meter.lambda_calls) | {"ApiFunction"})
    init_seconds = {} if quick else handler_init_seconds(cold)
    init_gb_seconds = sum(s * memory.get(name, DEFAULT_MEMORY_MB) / 1024 for name, s in init_seconds.items()) / count

    ddb_write = bill.total_write_units / count
    ddb_read = bill.total_read_units / count
    s3_writes = per_app.get("s3:write", 0.0) + per_app.get("s3:list", 0.0)
    s3_reads = per_app.get("s3:read", 0.0)
    cost = {
        "step_functions": statistics.mean(transitions) * aws["sfn_transition"],
        "lambda_requests": lambda_invocations * aws["lambda_request"],
        "lambda_duration": duration_gb_seconds * aws["lambda_gb_second_arm64"],
        "lambda_init": init_gb_seconds * aws["lambda_gb_second_arm64"],
        "api_gateway": statistics.mean(api_requests) * aws[f"api_gateway_{api_gateway}"],
        "dynamodb": ddb_write * aws["ddb_write_unit"] + ddb_read * aws["ddb_read_unit"],
        "s3": s3_writes * aws["s3_write"] + s3_reads * aws["s3_read"],
        "sns_sqs": per_app.get("sns:request", 0.0) * aws["sns_publish"] + per_app.get("sqs:request", 0.0) * aws["sqs_request"],
    }
    result: dict[str, Any] = {
        "applications": count,
        "permit_type": TYPES[kind],
        "wall_seconds": round(wall, 2),
        "final_states": dict(final_states),
        "per_application": {
            "state_transitions": statistics.mean(transitions),
            "workflow_lambda_invocations": statistics.mean(workflow_lambdas),
            "lambda_invocations_total": round(lambda_invocations, 1),
            "api_requests": statistics.mean(api_requests),
            "lambda_gb_seconds": round(duration_gb_seconds, 3),
            "lambda_init_gb_seconds": round(init_gb_seconds, 4) if init_seconds else None,
            "dynamodb_write_units": round(ddb_write, 1),
            "dynamodb_read_units": round(ddb_read, 1),
            "dynamodb_write_units_by_table": {k: round(v / count, 1) for k, v in sorted(bill.write_units.items())},
            "dynamodb_write_units_by_operation": {k: round(v / count, 1)
                                                  for k, v in sorted(bill.write_units_by_operation.items())},
            "dynamodb_read_units_by_table": {k: round(v / count, 1) for k, v in sorted(bill.read_units.items())},
            "dynamodb_requests": {k: round(v / count, 1) for k, v in sorted(bill.requests.items())},
            "s3_requests": {"write": per_app.get("s3:write", 0.0), "list": per_app.get("s3:list", 0.0),
                            "read": s3_reads, "delete_free": per_app.get("s3:delete", 0.0)},
            "sns_requests": per_app.get("sns:request", 0.0),
            "sqs_requests_incl_polling": per_app.get("sqs:request", 0.0),
            "machine_seconds_median": round(statistics.median(machine_seconds), 3),
            "machine_seconds_p95": round(_percentile(machine_seconds, 0.95), 3),
            "cost_usd": {k: round(v, 7) for k, v in cost.items()},
            "cost_usd_total": round(sum(cost.values()), 6),
            "messages": {
                "per_permit": per_permit,
                "whatsapp_by_category": whatsapp_by_category,
                "not_sent_total": counted["not_sent"],
                "queues_drained": drained,
                "applicant_whatsapp": per_permit.get("applicant", {}).get("whatsapp", 0.0),
                "applicant_whatsapp_goal_max": APPLICANT_WHATSAPP_GOAL,
                "officer_whatsapp": per_permit.get("officers", {}).get("whatsapp", 0.0),
                "officer_whatsapp_goal_max": OFFICER_WHATSAPP_GOAL,
                "cost_usd": message_cost,
                "cost_usd_total": round(sum(message_cost.values()), 6),
            },
        },
        "lambda_init_seconds": {k: round(v, 3) for k, v in init_seconds.items()},
        "api_gateway": api_gateway,
        "region_factor": region_factor,
        "prices_usd": aws,
        "message_prices_usd": prices,
        "speed": {} if quick else speed_figures(stack),
        "notes": [
            "each application is counted once its run reached a final state (final_states)",
            "machine time = API request time + workflow Lambda time for the application; human waiting excluded",
            "DynamoDB: ddb_billing's estimate of AWS's rule from the items before/after each request "
            "(larger of the two per 1 KB, every index write at its projected size, reads per 4 KB; "
            "AWS DynamoDB Developer Guide, 'Read/write capacity unit consumption' and 'GSI write considerations')",
            "Lambda INIT: one cold start per handler per bench (import in a fresh interpreter; a lower bound, "
            "each new execution environment on AWS pays it again); not measured with --quick",
            f"API Gateway priced as the {api_gateway.upper()} API (template.yaml: REST)",
            "S3 DELETE requests are free; LIST is billed as a write",
            "prices: us-east-1 list × region_factor (ap-southeast-3 prices not confirmed here)",
            "SQS requests include the local poller's empty receives (long polling on AWS makes fewer)",
            "messages: from the message log (sent/delivered/read); 'account' = one-time codes, one new applicant "
            "per permit here; WhatsApp priced as AWS per-message fee + Meta template fee by category (parameters; "
            "check both on the current AWS and Meta price pages)",
        ],
    }
    return result


def speed_figures(stack: Any) -> dict[str, Any]:
    """The speed rows from `bench_speed` (helper module; whatever of it exists), each {} when not measured."""
    found: dict[str, Any] = {}
    if bench_speed is None:
        return found
    calls: dict[str, Callable[[], Any]] = {
        "cold_import_ratios": lambda: bench_speed.cold_import_ratios(),
        "cold_import_floors": lambda: bench_speed.cold_import_floors(),
        "throughput": lambda: bench_speed.throughput(drivers=(1, 2, 4), stack=stack),  # on the bench stack
        "render_sign_ms": lambda: bench_speed.render_sign_ms(),
        "applicant_list": lambda: bench_speed.applicant_list_latency(stack, n=1000),
        "numbering": lambda: bench_speed.numbering_assignments(200, stack=stack),
    }
    functions = {"applicant_list": "applicant_list_latency", "numbering": "numbering_assignments"}
    for name, call in calls.items():
        if not hasattr(bench_speed, functions.get(name, name)):
            continue
        try:
            found[name] = call()
        except Exception as exc:  # noqa: BLE001 - one row failing must not hide the others
            found[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return found


NOT_MEASURED = "not measured"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _by_drivers(figures: Any, key_words: tuple[str, ...]) -> dict[int, float]:
    """{drivers: value} from a throughput dict, whichever of the plain shapes it has."""
    found: dict[int, float] = {}
    if not isinstance(figures, dict):
        return found
    for key, value in figures.items():
        if str(key).isdigit():
            if _number(value) is not None:
                found[int(key)] = float(value)
            elif isinstance(value, dict):
                hit = next((_number(v) for k, v in value.items() if any(w in str(k) for w in key_words)
                            and _number(v) is not None), None)
                if hit is not None:
                    found[int(key)] = hit
        elif any(w in str(key) for w in key_words) and isinstance(value, dict):
            found.update({int(k): float(v) for k, v in value.items() if str(k).isdigit() and _number(v) is not None})
    return found


def bench_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue-12 table: one row per measure with its value (text), goal (text) and `met` (True/False/None)."""
    per = result["per_application"]
    speed = result.get("speed") or {}
    rows: list[dict[str, Any]] = []

    def row(measure: str, value: str, goal: str, met: bool | None) -> None:
        rows.append({"measure": measure, "value": value, "goal": goal, "met": met})

    kind = result["permit_type"]
    row(f"state transitions, happy path ({kind})", f"{per['state_transitions']:g}", f"≤ {GOALS['transitions']}",
        per["state_transitions"] <= GOALS["transitions"])
    init_note = "" if per.get("lambda_init_gb_seconds") is not None else " (INIT not measured)"
    row("AWS cost per permit, billed as AWS bills it (USD)", f"{per['cost_usd_total']:.6f}{init_note}",
        f"≤ {GOALS['cost_usd']}", per["cost_usd_total"] <= GOALS["cost_usd"])
    row("DynamoDB write units per permit", f"{per['dynamodb_write_units']:g}", f"≤ {GOALS['write_units']}",
        per["dynamodb_write_units"] <= GOALS["write_units"])
    row("DynamoDB read units per permit", f"{per['dynamodb_read_units']:g}", "-", None)
    ratios = speed.get("cold_import_ratios")
    if isinstance(ratios, dict) and ratios and all(_number(v) is not None for v in ratios.values()):
        worst = max(ratios, key=lambda name: float(ratios[name]))
        row("cold import of a workflow handler ÷ import boto3 (worst)", f"{float(ratios[worst]):.2f}× ({worst})",
            f"≤ {GOALS['cold_import_ratio']}×", float(ratios[worst]) <= GOALS["cold_import_ratio"])
    else:
        row("cold import of a workflow handler ÷ import boto3 (worst)", NOT_MEASURED, f"≤ {GOALS['cold_import_ratio']}×", None)
    row("machine time per application, local (median s)", f"{per['machine_seconds_median']:.2f}",
        f"≤ {GOALS['machine_seconds']}", per["machine_seconds_median"] <= GOALS["machine_seconds"])
    rates = _by_drivers(speed.get("throughput"), ("per_s", "per_second", "apps", "rate"))
    if rates:
        text = " / ".join(f"{rates[d]:.2f}" if d in rates else "-" for d in (1, 2, 4))
        row("whole applications per second, 1 / 2 / 4 drivers", text, f"≥ {GOALS['apps_per_second_4']:g} at 4",
            rates[4] >= GOALS["apps_per_second_4"] if 4 in rates else None)
    else:
        row("whole applications per second, 1 / 2 / 4 drivers", NOT_MEASURED, f"≥ {GOALS['apps_per_second_4']:g} at 4", None)
    render = speed.get("render_sign_ms")
    parts = {k: _number(v) for k, v in render.items()} if isinstance(render, dict) else {}
    total = parts.get("total_ms") or parts.get("total") or (
        sum(v for v in parts.values() if v is not None) if parts and all(v is not None for v in parts.values()) else None)
    if total is not None:
        detail = " + ".join(f"{v:.0f}" for k, v in parts.items() if v is not None and "total" not in k)
        row("render + PAdES-sign a permit, warm (ms)", f"{detail} = {total:.0f}" if detail else f"{total:.0f}",
            f"≤ {GOALS['render_sign_ms']:g}", total <= GOALS["render_sign_ms"])
    else:
        row("render + PAdES-sign a permit, warm (ms)", NOT_MEASURED, f"≤ {GOALS['render_sign_ms']:g}", None)
    numbering = speed.get("numbering")
    rate = _number(numbering.get("per_second")) if isinstance(numbering, dict) else None
    if isinstance(numbering, dict) and rate is not None:
        gap_free = bool(numbering.get("gap_free"))
        row("200 concurrent number assignments", f"{'gap-free' if gap_free else 'GAPS'}, {rate:.1f}/s",
            f"gap-free, ≥ {GOALS['numbering_per_second']:g}/s", gap_free and rate >= GOALS["numbering_per_second"])
    else:
        row("200 concurrent number assignments", NOT_MEASURED, f"gap-free, ≥ {GOALS['numbering_per_second']:g}/s", None)
    refused = _by_drivers(speed.get("throughput"), ("409", "conflict", "refused"))
    if refused:
        text = " / ".join(f"{refused[d]:g}" if d in refused else "-" for d in (2, 4))
        row("journeys refused 409 at numbering, 2 / 4 drivers", text, "0",
            all(v == 0 for d, v in refused.items() if d in (2, 4)))
    else:
        row("journeys refused 409 at numbering, 2 / 4 drivers", NOT_MEASURED, "0", None)
    latency = speed.get("applicant_list")
    p95 = _number(latency.get("p95_ms")) if isinstance(latency, dict) else None
    if p95 is not None:
        row("applicant list API p95 (ms, 1,000 stored)", f"{p95:.0f}", f"≤ {GOALS['applicant_list_p95_ms']:g}",
            p95 <= GOALS["applicant_list_p95_ms"])
    else:
        row("applicant list API p95 (ms, 1,000 stored)", NOT_MEASURED, f"≤ {GOALS['applicant_list_p95_ms']:g}", None)
    return rows


def bench_table(result: dict[str, Any]) -> str:
    """The issue-12 table as text: measure, value, goal, and whether it is met (yes / NO / -)."""
    rows = bench_rows(result)
    cells = [("measure", "value", "goal", "met")] + [
        (r["measure"], r["value"], r["goal"], "-" if r["met"] is None else ("yes" if r["met"] else "NO")) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = [f"Figures per permit ({result['applications']} × {result['permit_type']}, "
             f"API Gateway {result['api_gateway'].upper()}, price factor {result['region_factor']:g}):"]
    for i, c in enumerate(cells):
        lines.append("  " + "  ".join(cell.ljust(widths[j]) for j, cell in enumerate(c)))
        if i == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    missed = [r["measure"] for r in rows if r["met"] is False]
    unmeasured = [r["measure"] for r in rows if r["value"] == NOT_MEASURED]
    lines.append(f"goals not met: {len(missed)}" + (f" ({'; '.join(missed)})" if missed else ""))
    reasons = unmet_reasons(result, rows)
    if reasons:
        lines.append("why (from this run's figures):")
        lines.extend(f"  - {reason}" for reason in reasons)
    if unmeasured:
        lines.append(f"not measured: {len(unmeasured)}")
    return "\n".join(lines)


def unmet_reasons(result: dict[str, Any], rows: list[dict[str, Any]] | None = None) -> list[str]:
    """For each goal this run did not meet, what its own figures say stands in the way (one line each)."""
    rows = rows if rows is not None else bench_rows(result)
    missed = {r["measure"].split(" (")[0].split(",")[0] for r in rows if r["met"] is False}
    per = result["per_application"]
    speed = result.get("speed") or {}
    costs = per.get("cost_usd") or {}
    reasons: list[str] = []
    if "AWS cost per permit" in missed and costs.get("step_functions") is not None:
        sfn = float(costs["step_functions"])
        reasons.append(
            f"cost: Step Functions Standard alone is {per['state_transitions']:g} transitions = ${sfn:.6f}, "
            f"{sfn / GOALS['cost_usd']:.0%} of the goal (Express workflows cannot wait for a task token); "
            f"API Gateway {result['api_gateway'].upper()} ${float(costs.get('api_gateway') or 0):.6f} for "
            f"{per['api_requests']:.0f} requests; DynamoDB ${float(costs.get('dynamodb') or 0):.6f}")
        prices = result.get("prices_usd") or {}
        if prices.get("sfn_transition") and prices.get("ddb_write_unit"):
            floor = (GOALS["transitions"] * float(prices["sfn_transition"])
                     + GOALS["write_units"] * float(prices["ddb_write_unit"]))
            if floor > GOALS["cost_usd"]:
                reasons.append(
                    f"cost: the transition and write-unit goals met exactly already cost ${floor:.6f} "
                    f"({GOALS['transitions']} transitions + {GOALS['write_units']} write units), above the cost goal "
                    f"${GOALS['cost_usd']:g}: with Standard workflows the three goals cannot all be met")
    if "DynamoDB write units per permit" in missed:
        tables: dict[str, list[float]] = {}
        for name, units in (per.get("dynamodb_write_units_by_table") or {}).items():
            table, _, index = name.partition("/")
            short = table.removeprefix("silastri-").removesuffix("Table")
            tables.setdefault(short, [0.0, 0.0])[1 if index else 0] += float(units)
        largest = sorted(tables.items(), key=lambda kv: -sum(kv[1]))[:4]
        reasons.append("write units: " + ", ".join(
            f"{name} {own:.0f}" + (f" + indexes {indexes:.0f}" if indexes else "") for name, (own, indexes) in largest)
            + " (every task, message and audit entry is its own item; fewer needs fewer kept records or indexes)")
    floors = speed.get("cold_import_floors")
    if "cold import of a workflow handler ÷ import boto3" in missed and isinstance(floors, dict) and floors:
        reasons.append("cold import: what every handler imports already costs " + ", ".join(
            f"{label} {float(value):.2f}×" for label, value in floors.items()))
    through = speed.get("throughput") or {}
    one = through.get("1") if isinstance(through, dict) else None
    cpu = _number(one.get("cpu_seconds_per_application")) if isinstance(one, dict) else None
    calls = sum(float(v) for v in (per.get("dynamodb_requests") or {}).values()) + sum(
        float(per.get(key) or 0) for key in ("sns_requests", "sqs_requests_incl_polling", "lambda_invocations_total"))
    if cpu and ("machine time per application" in missed or "whole applications per second" in missed):
        reasons.append(
            f"speed: the local stack is one Python process (one interpreter lock) running the API, the workflow's "
            f"Lambdas, the emulator and the pollers; {cpu:.2f} CPU s per application ({calls:.0f} emulated AWS "
            f"requests) allow at most {1 / cpu:.2f} applications/s however many drivers")
    return reasons
