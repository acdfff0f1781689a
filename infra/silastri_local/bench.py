"""`silastri bench`: N applications through the local runtime; figures per application as JSON.

Counts come from what actually ran: Step Functions execution history (state transitions), the
runtime's Lambda dispatch (invocations and their durations), the emulator's request log
(DynamoDB, S3, SNS, SQS requests) and the message log (messages per permit by audience and channel).
Cost is list price × those counts (tables below; message prices are parameters)."""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from silastri.domain.numbering import first_run_name
from silastri.settings import get_settings

from .client import ApiClient
from .journey import TYPES, Journey, officer_clients

# AWS list prices in USD (on-demand, us-east-1 as published; ap-southeast-3 Jakarta is ~10–25% higher).
PRICES = {
    "sfn_transition": 0.025 / 1000,         # Step Functions Standard, per state transition
    "lambda_request": 0.20 / 1_000_000,     # per request
    "lambda_gb_second_arm64": 0.0000133334,  # per GB-second, arm64
    "ddb_write_unit": 0.625 / 1_000_000,    # on-demand write request unit
    "ddb_read_unit": 0.125 / 1_000_000,     # on-demand read request unit
    "s3_write": 0.005 / 1000,               # PUT, COPY, POST, LIST
    "s3_read": 0.0004 / 1000,               # GET and others
    "sns_publish": 0.50 / 1_000_000,
    "sqs_request": 0.40 / 1_000_000,
    "api_gateway_request": 3.50 / 1_000_000,  # REST API
}
_DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}

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


class Meter:
    """Counts the emulator's requests by service/operation and the Lambda handlers' invocations."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.ddb_write_units = 0
        self.ddb_read_units = 0
        self.lambda_calls: Counter[str] = Counter()
        self.lambda_seconds: dict[str, float] = defaultdict(float)
        self.per_application_seconds: dict[str, float] = defaultdict(float)

    def record_request(self, environ: dict[str, Any]) -> None:
        auth = environ.get("HTTP_AUTHORIZATION", "") + environ.get("QUERY_STRING", "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        size = int(environ.get("CONTENT_LENGTH") or 0)
        with self.lock:
            if target.startswith("DynamoDB_"):
                operation = target.split(".", 1)[1]
                self.requests[f"dynamodb:{operation}"] += 1
                if operation in _DDB_WRITES:
                    self.ddb_write_units += max(1, math.ceil(size / 1024))
                else:
                    self.ddb_read_units += 1
            elif "/s3/" in auth or "%2Fs3%2F" in auth or environ.get("REQUEST_METHOD") == "POST" and "multipart" in environ.get("CONTENT_TYPE", ""):
                kind = "read" if environ.get("REQUEST_METHOD") in ("GET", "HEAD") else "write"
                self.requests[f"s3:{kind}"] += 1
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
        return meter.wrap_handler(function_name.rsplit(":", 1)[-1], handler) if handler else None

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


def run_bench(stack: Any, count: int, kind: str = "orsos",
              message_prices: dict[str, float] | None = None) -> dict[str, Any]:
    """Run `count` applications one after another and return the figures per application, including the
    messages sent per permit and their price (`MESSAGE_PRICES`, overridden by `message_prices`)."""
    import boto3

    sfn = boto3.client("stepfunctions")
    machine = stack.resources.refs["LicensingStateMachine"]
    base = ApiClient(stack.api_url)
    staff = officer_clients(base, stack.officers)
    transitions: list[int] = []
    workflow_lambdas: list[int] = []
    machine_seconds: list[float] = []
    api_requests: list[int] = []
    application_ids: list[str] = []
    prices = MESSAGE_PRICES | (message_prices or {})
    with metering(stack) as meter:
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
    lambda_invocations = sum(meter.lambda_calls.values()) / count + statistics.mean(api_requests)
    memory = {"api": 1.0, "other": 0.5}
    api_seconds = statistics.mean(machine_seconds) - sum(meter.per_application_seconds.values()) / count
    gb_seconds = sum(meter.lambda_seconds.values()) / count * memory["other"] + api_seconds * memory["api"]
    s3_writes = per_app.get("s3:write", 0.0)
    s3_reads = per_app.get("s3:read", 0.0)
    cost = {
        "step_functions": statistics.mean(transitions) * PRICES["sfn_transition"],
        "lambda": lambda_invocations * PRICES["lambda_request"] + gb_seconds * PRICES["lambda_gb_second_arm64"],
        "api_gateway": statistics.mean(api_requests) * PRICES["api_gateway_request"],
        "dynamodb": meter.ddb_write_units / count * PRICES["ddb_write_unit"]
        + meter.ddb_read_units / count * PRICES["ddb_read_unit"],
        "s3": s3_writes * PRICES["s3_write"] + s3_reads * PRICES["s3_read"],
        "sns_sqs": per_app.get("sns:request", 0.0) * PRICES["sns_publish"]
        + per_app.get("sqs:request", 0.0) * PRICES["sqs_request"],
    }
    return {
        "applications": count,
        "permit_type": TYPES[kind],
        "wall_seconds": round(wall, 2),
        "per_application": {
            "state_transitions": statistics.mean(transitions),
            "workflow_lambda_invocations": statistics.mean(workflow_lambdas),
            "lambda_invocations_total": round(lambda_invocations, 1),
            "api_requests": statistics.mean(api_requests),
            "lambda_gb_seconds": round(gb_seconds, 3),
            "dynamodb_write_units": round(meter.ddb_write_units / count, 1),
            "dynamodb_read_units": round(meter.ddb_read_units / count, 1),
            "s3_requests": {"write": s3_writes, "read": s3_reads},
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
        "prices_usd": PRICES,
        "message_prices_usd": prices,
        "notes": [
            "machine time = API request time + workflow Lambda time for the application; human waiting excluded",
            "DynamoDB units estimated: writes ceil(request KB), reads 1 unit per request",
            "SQS requests include the local poller's empty receives (long polling on AWS makes fewer)",
            "messages: from the message log (sent/delivered/read); 'account' = one-time codes, one new applicant "
            "per permit here; WhatsApp priced as AWS per-message fee + Meta template fee by category (parameters; "
            "check both on the current AWS and Meta price pages)",
        ],
    }
