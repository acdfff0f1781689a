"""`silastri` — the local stack and its tools.

  silastri up                      run the local stack (API and pages on http://127.0.0.1:8000)
  silastri demo [--type ID] [--office ID] [--count N]
                                   every SOP step through the API for a permit type of the office (its id, or
                                   the short names orsos, sip), each application as its stage plan says
  silastri bench [--count N] [--quick] [--api-gateway rest|http] [--region-factor F]
  silastri check-pdf FILE...
  silastri calendar is-working-day YYYY-MM-DD [--office ID]
  silastri calendar add-working-days YYYY-MM-DD N [--office ID]
  silastri calendar working-days-between YYYY-MM-DD YYYY-MM-DD [--office ID]
  silastri catalog check [FILE...]  catalog files (YAML, one office each): FILE:LINE: message per mistake;
                                   without FILE the shipped catalog (silastri/domain/data/catalog/*.yaml)
  silastri runs list [--stuck]     runs per application; --stuck: those waiting for an operator
  silastri runs continue REG-...   continue a stopped or failed application from the step it reached
  silastri metrics [--json]        the functions' metrics (EMF) summed per metric and dimension
  silastri notifications redrive [--event KIND] [--include-failed]
                                   dead-letter notifications back to the queue (still each message once)
  silastri notifications fault whatsapp|email (--times N | --always | --permanent | --clear)
  silastri notifications list [--status failed,unknown,retrying] [--event KIND]
  silastri notifications check     plans and templates fit together
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .runtime import DEFAULT_DATA_DIR, LOCK_FILE, OFFICERS_FILE, STACK_FILE, DataDirInUse, LocalStack


def _up(args: argparse.Namespace) -> int:
    stack = LocalStack(data_dir=Path(args.data_dir), api_port=args.port, aws_port=args.aws_port,
                       run_schedules=not args.no_schedules)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        stack.start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(f"port {args.port} atau {args.aws_port or 'AWS lokal'} di {stack.host} sudah dipakai proses lain; "
              "pilih port lain dengan --port / --aws-port", file=sys.stderr)
        return 2
    assert stack.aws
    print(f"SILASTRI lokal berjalan: {stack.api_url}  (data: {stack.data_dir}; AWS lokal: {stack.aws.endpoint_url})")
    if stack.restored:
        print(f"data dipulihkan dari {stack.data_dir}; {len(stack.resumed)} alur kerja dilanjutkan")
    print("Akun petugas (lokal):")
    for role, entry in stack.officers.items():
        print(f"  {role:15s} {entry['email']:32s} {entry['password']}")
    print(f"Kotak keluar WhatsApp/email lokal: {stack.api_url}/lokal/kotak-keluar")
    print("Tekan Ctrl+C untuk berhenti (data disimpan).", flush=True)
    # wake up twice a second: a signal delivered to another thread of the process only sets a flag, and the
    # main thread runs Python's handler when it next wakes (an untimed wait could sleep through SIGTERM)
    while not stopping.wait(0.5):
        pass
    print("menyimpan data dan berhenti…", flush=True)
    stack.stop()
    return 0


def _owner(data_dir: Path, wait_seconds: float = 120) -> dict[str, Any] | None:
    """The running stack that owns `data_dir` (its `stack.json`: API and emulator addresses, functions'
    environment), or None when no stack runs on that folder. Ownership is the stack's lock on `stack.lock`, not
    whether its API answers quickly (a busy machine is no reason to start a second stack on the same folder);
    a stack still starting is waited for up to `wait_seconds`."""
    lock_path = data_dir / LOCK_FILE
    if not lock_path.exists():
        return None
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass  # held: a stack owns the folder
        else:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return None
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return dict(json.loads((data_dir / STACK_FILE).read_text()))
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise DataDirInUse(data_dir) from None
            time.sleep(0.5)


def _officers(data_dir: Path) -> dict[str, dict[str, str]]:
    path = data_dir / OFFICERS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _with_stack(args: argparse.Namespace, work: object) -> int:
    """Run `work(api_url, officers, data_dir)` against the stack at `--url` if given, else the stack that owns
    `--data-dir`, else an embedded stack on that folder (refused, exit 1, when another stack holds it without
    answering)."""
    data_dir = Path(args.data_dir)
    if args.url:
        return work(args.url.rstrip("/"), _officers(data_dir), data_dir)  # type: ignore[operator]
    owner = _owner(data_dir)
    if owner is not None:
        return work(owner["api_url"], _officers(data_dir), data_dir)  # type: ignore[operator]
    try:
        with LocalStack(data_dir=data_dir, api_port=0, run_schedules=False) as stack:
            return work(stack.api_url, stack.officers, data_dir)  # type: ignore[operator]
    except DataDirInUse as exc:
        print(str(exc), file=sys.stderr)
        return 1


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return _with_stack(args, lambda url, officers, data_dir: run_demo(url, officers, data_dir, args.type, args.count,
                                                                      args.office))


def _bench(args: argparse.Namespace) -> int:
    """Always on a fresh, throw-away stack in this process, so the counts are this run's alone."""
    import tempfile

    from .bench import bench_table, message_table, run_bench

    prices = {"eum_social_message": args.eum_message_usd, "meta_utility": args.meta_utility_usd,
              "meta_authentication": args.meta_authentication_usd, "meta_marketing": args.meta_marketing_usd,
              "ses_per_1000": args.ses_per_1000_usd}
    # stdout is the JSON alone: what the stack prints while it runs (the API server's banner) goes to stderr
    with contextlib.redirect_stdout(sys.stderr), tempfile.TemporaryDirectory() as tmp, \
            LocalStack(data_dir=Path(tmp), api_port=0, persist=False, run_schedules=False) as stack:
        result = run_bench(stack, args.count, args.type, prices, quick=args.quick, api_gateway=args.api_gateway,
                           region_factor=args.region_factor)
    print(json.dumps(result, indent=2))
    print(message_table(result), file=sys.stderr)
    print(bench_table(result), file=sys.stderr)
    return 0


@contextlib.contextmanager
def _attached(data_dir: Path) -> Iterator[None]:
    """Configure this process to reach the local stack's data: the stack that owns `data_dir` if one runs, else
    an embedded one on it. Raises DataDirInUse when another stack holds the folder without answering."""
    info = _owner(data_dir)
    if info:
        os.environ.update(info["environment"])
        os.environ.update({"AWS_ENDPOINT_URL": info["aws_url"], "AWS_ACCESS_KEY_ID": "testing",
                           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "ap-southeast-3"})
        yield
        return
    with LocalStack(data_dir=data_dir, api_port=0, run_schedules=False):
        yield


def _audit(args: argparse.Namespace) -> int:
    """Check every application's hash-chained audit trail (or one); non-zero exit on any problem."""
    from silastri.adapters import dynamo
    from silastri.services.timeline import verify_audit

    with _attached(Path(args.data_dir)):
        ids = [args.application] if args.application else [a.application_id for a in dynamo.all_applications()]
        broken = 0
        for application_id in ids:
            problems = verify_audit(application_id)
            print(f"{application_id}: {'OK' if not problems else 'RUSAK — ' + '; '.join(problems)}")
            broken += bool(problems)
        print(f"{len(ids)} jejak audit diperiksa, {broken} rusak")
    return 1 if broken else 0


def _runs_list(args: argparse.Namespace) -> int:
    """Applications whose run ended (failed, timed out, stopped) and wait for an operator (`--stuck`), or
    every application in flow."""
    from silastri.adapters import dynamo
    from silastri.domain.models import OPEN_STATUSES
    from silastri.services import runs

    with _attached(Path(args.data_dir)):
        rows = runs.stuck() if args.stuck else [a for a in dynamo.all_applications()
                                                 if a.status in OPEN_STATUSES or a.status in runs.STUCK]
        for app in rows:
            ended = f"{app.run_ended or '-'} {app.run_ended_at.isoformat() if app.run_ended_at else ''}".strip()
            print(f"{app.registration_number}\t{app.status.value}\ttahap={app.current_step or '-'}\t"
                  f"lanjut_di={app.resume_at or '-'}\trun={app.execution_name or '-'}\tberakhir={ended}")
        print(f"{len(rows)} permohonan" + (" terhenti, menunggu operator" if args.stuck else " dalam alur kerja"))
    return 0


def _runs_continue(args: argparse.Namespace) -> int:
    """Start a new run for a stuck application at the step it had reached; its task opens again."""
    import getpass

    from silastri.domain.errors import DomainError
    from silastri.services import runs

    with _attached(Path(args.data_dir)):
        try:
            result = runs.continue_run(args.registration_number, f"{getpass.getuser()} (silastri runs continue)",
                                       office_id=args.office)
        except DomainError as exc:
            print(f"tidak dapat dilanjutkan: {exc.message}", file=sys.stderr)
            return 1
        print(f"{result['registration_number']} dilanjutkan di {result['resume_at'] or 'awal'} "
              f"(run {result['execution_name']}, status {result['status']})")
    return 0


def _notifications_redrive(args: argparse.Namespace) -> int:
    """Dead-letter notifications back to the queue (one event or all); --include-failed also re-sends messages
    recorded failed or unknown. Unknown event: message on stderr, exit 2."""
    from silastri.services import redrive

    try:
        redrive.check_event(args.event)
    except redrive.RedriveError as exc:
        print(f"galat: {exc}", file=sys.stderr)
        return 2
    with _attached(Path(args.data_dir)):
        try:
            counts = redrive.redrive(args.event, args.include_failed, args.limit)
        except redrive.RedriveError as exc:
            print(f"galat: {exc}", file=sys.stderr)
            return 2
    print(f"{counts['moved']} notifikasi dipindahkan dari antrean surat mati ke antrean notifikasi")
    print(f"{counts['left']} notifikasi peristiwa lain tetap di antrean surat mati")
    if args.include_failed:
        print(f"{counts['reopened']} pesan gagal/tidak pasti dibuka kembali, "
              f"{counts['republished']} peristiwa diterbitkan ulang")
    return 0


def _notifications_fault(args: argparse.Namespace) -> int:
    """Make the local outbox fail on a channel (read by the running stack on every send), or clear it."""
    from silastri.adapters import messaging

    if args.clear and (args.times or args.always or args.permanent):
        print("galat: --clear tidak dapat digabung dengan pilihan lain", file=sys.stderr)
        return 2
    if args.always and (args.times or args.permanent):
        print("galat: --always berarti gangguan sementara sampai dihapus; jangan digabung dengan --times "
              "atau --permanent", file=sys.stderr)
        return 2
    if not (args.clear or args.always or args.permanent or args.times):
        print("galat: pilih --times N, --always, --permanent atau --clear", file=sys.stderr)
        return 2
    mode = None if args.clear else "permanent" if args.permanent else "transient"
    try:
        faults = messaging.set_fault(Path(args.data_dir), args.channel, mode, args.times)
    except ValueError as exc:
        print(f"galat: {exc}", file=sys.stderr)
        return 2
    if not faults:
        print("tidak ada gangguan kanal: pesan terkirim normal")
    for channel, fault in sorted(faults.items()):
        kind = "permanen (nomor/alamat tidak valid)" if fault["mode"] == "permanent" else "sementara"
        left = "sampai dihapus" if fault.get("remaining") is None else f"{fault['remaining']} kali lagi"
        print(f"{channel}: gagal {kind}, {left}")
    return 0


def _notifications_list(args: argparse.Namespace) -> int:
    """Message-log rows in the given statuses (no phone number, no address: the recipient's role only)."""
    from silastri.adapters import dynamo, message_log
    from silastri.domain.errors import DomainError
    from silastri.services import redrive

    statuses = tuple(s.strip() for s in args.status.split(",") if s.strip())
    if args.status == "all":
        statuses = tuple(message_log.STATUS_LABELS)
    unknown = [s for s in statuses if s not in message_log.STATUS_LABELS]
    try:
        redrive.check_event(args.event)
        if unknown or not statuses:
            raise redrive.RedriveError(f"status tidak dikenal: {', '.join(unknown) or '-'}. "
                                       f"Pilihan: {', '.join(message_log.STATUS_LABELS)} atau all")
    except redrive.RedriveError as exc:
        print(f"galat: {exc}", file=sys.stderr)
        return 2
    numbers: dict[str, str] = {}

    def registration(item: message_log.MessageItem) -> str:
        if item.note and item.note.get("registration_number"):
            return str(item.note["registration_number"])
        if not item.application_id:
            return "-"
        if item.application_id not in numbers:
            try:
                numbers[item.application_id] = dynamo.get_application(item.application_id).registration_number or "-"
            except DomainError:
                numbers[item.application_id] = "-"
        return numbers[item.application_id]

    with _attached(Path(args.data_dir)):
        items = sorted(message_log.scan_status(statuses, args.event), key=lambda i: i.updated_at)
        for item in items:
            label = message_log.STATUS_LABELS.get(item.status, item.status)
            print(f"{item.updated_at[:19]}\t{item.event}\t{item.channel}\t{item.recipient_role}\t"
                  f"{item.status} ({label})\tpercobaan={item.attempts}\t{registration(item)}\t{item.reason or '-'}")
        print(f"{len(items)} pesan berstatus {', '.join(statuses)}" + (f" untuk {args.event}" if args.event else ""))
    return 0


def _notifications_check(args: argparse.Namespace) -> int:
    """Every plan and template fits (what the notifier checks at start); problems listed, exit 1 if any."""
    from silastri.domain import notifications
    from silastri.services import notifier

    try:
        catalog = notifications.default_messages()
        notifier.check_plans()
    except ValueError as exc:
        print(str(exc))
        return 1
    print(f"OK: {len(catalog.plans)} rencana, {len(catalog.whatsapp)} template WhatsApp, "
          f"{len(catalog.email)} template e-mail; setiap kantor memakai rencana yang ada")
    return 0


def _catalog_check(args: argparse.Namespace) -> int:
    """Check catalog files together as the stack loads them: each mistake as `FILE:LINE: message` and exit 1,
    or an OK summary (offices and their permit types) and exit 0."""
    from silastri.domain.catalog_files import CatalogError, load_paths, packaged_files

    paths: list = [Path(f) for f in args.files] if args.files else packaged_files()
    try:
        catalog = load_paths(paths)
    except CatalogError as exc:
        for mistake in exc.mistakes:
            print(mistake)
        print(f"{len(exc.mistakes)} kesalahan di katalog", file=sys.stderr)
        return 1
    for office_id, office in catalog.offices.items():
        types = catalog.offered(office_id)
        print(f"{office_id}: {office.short_name}, {len(types)} jenis izin ({', '.join(t.permit_type for t in types)})")
    total = sum(len(t) for t in catalog.types.values())
    print(f"OK: {len(catalog.offices)} kantor, {total} jenis izin")
    return 0


def _verify_permit(args: argparse.Namespace) -> int:
    from silastri.adapters.signing import DevPkiSigner

    from .client import ApiClient
    from .cmd_verify_permit import run

    data_dir = Path(args.data_dir)
    roots = [Path(p).read_bytes() for p in args.trust_root] or DevPkiSigner(data_dir / "pki").trust_roots_pem()
    return _with_stack(args, lambda url, officers, _dir: run(args.file, roots, ApiClient(url)))


def _check_pdf(args: argparse.Namespace) -> int:
    from .cmd_check_pdf import run

    return run(args.files)


def _calendar(args: argparse.Namespace) -> int:
    """The office's working-day calendar; bad input or a year without data → message on stderr, exit 2."""
    from datetime import date

    from silastri.domain.catalog import default_catalog
    from silastri.domain.errors import DomainError

    def day(text: str) -> date:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise DomainError(f"tanggal tidak valid: '{text}' (format YYYY-MM-DD)") from None

    try:
        cal = default_catalog().office(args.office).calendar()
        if args.calendar_command == "is-working-day":
            info = cal.day_info(day(args.date))
            print(f"{'yes' if info.working else 'no'}  {info.reason}")
        elif args.calendar_command == "add-working-days":
            if args.days < 0:
                raise DomainError("N harus bilangan bulat ≥ 0")
            print(cal.add_working_days(day(args.date), args.days).isoformat())
        else:
            print(cal.working_days_between(day(args.start), day(args.end)))
    except DomainError as exc:
        print(f"galat: {exc.message}", file=sys.stderr)
        return 2
    return 0


def _metrics(args: argparse.Namespace) -> int:
    """Sum the metrics the local stack kept (its functions' EMF documents) per metric and dimension set."""
    from .metrics_capture import METRICS_FILE, summarise

    data_dir = Path(args.data_dir)
    totals = [t for t in summarise(data_dir) if not args.metric or t.name == args.metric]
    if args.json:
        print(json.dumps([{"namespace": t.namespace, "metric": t.name, "dimensions": dict(t.dimensions),
                           "sum": t.total, "samples": t.samples} for t in totals], indent=2))
        return 0
    if not totals:
        print(f"belum ada metrik di {data_dir / METRICS_FILE}")
        return 0
    rows = [(t.name, " ".join(f"{k}={v}" for k, v in t.dimensions), f"{t.total:g}") for t in totals]
    widths = [max(len(row[i]) for row in [("METRIK", "DIMENSI", "JUMLAH"), *rows]) for i in range(3)]
    for name, dimensions, total in [("METRIK", "DIMENSI", "JUMLAH"), *rows]:
        print(f"{name:{widths[0]}}  {dimensions:{widths[1]}}  {total:>{widths[2]}}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="silastri", description="SILASTRI local stack and tools")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR), help="where local data is kept")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the local stack")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--aws-port", type=int, default=0, help="port of the local AWS emulator (0: any free port)")
    up.add_argument("--no-schedules", action="store_true", help="do not run scheduled functions")
    up.set_defaults(func=_up)
    demo = sub.add_parser("demo", help="play every SOP step through the API")
    from .demo import type_choices

    demo.add_argument("--type", choices=type_choices(), default="orsos",
                      help="permit type id of the office (or orsos, sip; all: every type it offers); default: orsos")
    demo.add_argument("--office", default=None, help="office id (default: the deployment's default office)")
    demo.add_argument("--count", type=int, default=1)
    demo.add_argument("--url", default=None, help="a running stack's API (default: the stack of --data-dir)")
    demo.set_defaults(func=_demo)
    bench = sub.add_parser("bench", help="measure the workflow on the local runtime")
    bench.add_argument("--count", type=int, default=20)
    bench.add_argument("--type", choices=["orsos", "sip"], default="orsos")
    bench.add_argument("--quick", action="store_true",
                       help="skip the slow parts (handler INIT measurement, throughput and other speed rows)")
    bench.add_argument("--api-gateway", choices=["rest", "http"], default="rest",
                       help="price API requests as a REST API (template.yaml's, default) or an HTTP API")
    bench.add_argument("--region-factor", type=float, default=1.0,
                       help="multiply the AWS us-east-1 list prices (e.g. for ap-southeast-3 Jakarta; default 1.0)")
    from .bench import MESSAGE_PRICES

    bench.add_argument("--eum-message-usd", type=float, default=MESSAGE_PRICES["eum_social_message"],
                       help="AWS End User Messaging Social fee per WhatsApp message (check the AWS pricing page)")
    bench.add_argument("--meta-utility-usd", type=float, default=MESSAGE_PRICES["meta_utility"],
                       help="Meta template fee per utility message, Indonesia")
    bench.add_argument("--meta-authentication-usd", type=float, default=MESSAGE_PRICES["meta_authentication"],
                       help="Meta template fee per authentication message, Indonesia")
    bench.add_argument("--meta-marketing-usd", type=float, default=MESSAGE_PRICES["meta_marketing"],
                       help="Meta template fee per marketing message, Indonesia (none in the default templates)")
    bench.add_argument("--ses-per-1000-usd", type=float, default=MESSAGE_PRICES["ses_per_1000"],
                       help="Amazon SES price per 1,000 e-mails")
    bench.set_defaults(func=_bench)
    audit = sub.add_parser("audit", help="audit trail tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_verify = audit_sub.add_parser("verify", help="detect edited or deleted audit entries")
    audit_verify.add_argument("--application", help="only this application id")
    audit_verify.set_defaults(func=_audit)
    runs_cmd = sub.add_parser("runs", help="workflow runs: list stuck ones, continue them")
    runs_sub = runs_cmd.add_subparsers(dest="runs_command", required=True)
    runs_list = runs_sub.add_parser("list", help="applications and their runs")
    runs_list.add_argument("--stuck", action="store_true", help="only runs that ended and wait for an operator")
    runs_list.set_defaults(func=_runs_list)
    runs_continue = runs_sub.add_parser("continue", help="continue a stopped or failed application")
    runs_continue.add_argument("registration_number")
    runs_continue.add_argument("--office", default=None,
                               help="office id, when two offices hold the registration number")
    runs_continue.set_defaults(func=_runs_continue)
    notes = sub.add_parser("notifications", help="messages: redrive, channel faults (local), list, check")
    notes_sub = notes.add_subparsers(dest="notifications_command", required=True)
    redrive_cmd = notes_sub.add_parser("redrive", help="dead-letter notifications back to the queue")
    redrive_cmd.add_argument("--event", help="only this event (e.g. submitted, permit_ready)")
    redrive_cmd.add_argument("--include-failed", action="store_true",
                             help="also re-send messages recorded failed or unknown")
    redrive_cmd.add_argument("--limit", type=int, default=1000, help="at most this many dead-letter notifications")
    redrive_cmd.set_defaults(func=_notifications_redrive)
    fault = notes_sub.add_parser("fault", help="make the local outbox fail on a channel (or clear it)")
    fault.add_argument("channel", choices=["whatsapp", "email"])
    fault.add_argument("--times", type=int, help="fail the next N sends (transient, or permanent with --permanent)")
    fault.add_argument("--always", action="store_true", help="fail transiently until cleared (an outage)")
    fault.add_argument("--permanent", action="store_true",
                       help="fail permanently (invalid number/address) until cleared, or --times N sends")
    fault.add_argument("--clear", action="store_true", help="the channel works again")
    fault.set_defaults(func=_notifications_fault)
    listing = notes_sub.add_parser("list", help="messages by status from the message log")
    listing.add_argument("--status", default="failed,unknown,retrying",
                         help="comma-separated statuses, or all (default: failed,unknown,retrying)")
    listing.add_argument("--event", help="only this event")
    listing.set_defaults(func=_notifications_list)
    check_messages = notes_sub.add_parser("check", help="check notification plans and templates")
    check_messages.set_defaults(func=_notifications_check)
    verify = sub.add_parser("verify-permit", help="check an issued permit PDF")
    verify.add_argument("file")
    verify.add_argument("--trust-root", action="append", default=[], help="PEM of a trusted root (default: local PKI)")
    verify.add_argument("--url", default=None, help="a running stack's API (default: the stack of --data-dir)")
    verify.set_defaults(func=_verify_permit)
    check = sub.add_parser("check-pdf", help="validate PDFs as uploads are validated")
    check.add_argument("files", nargs="+")
    check.set_defaults(func=_check_pdf)
    calendar = sub.add_parser("calendar", help="the national working-day calendar of an office")
    calendar.add_argument("--office", default="rokan-hilir", help="office id (default: rokan-hilir)")
    calendar_sub = calendar.add_subparsers(dest="calendar_command", required=True)
    is_working = calendar_sub.add_parser("is-working-day", help="yes/no and why")
    is_working.add_argument("date", help="YYYY-MM-DD")
    add_days = calendar_sub.add_parser("add-working-days", help="the N-th working day after a date")
    add_days.add_argument("date", help="YYYY-MM-DD")
    add_days.add_argument("days", type=int, metavar="N")
    between = calendar_sub.add_parser("working-days-between", help="working days after START up to END")
    between.add_argument("start", help="YYYY-MM-DD")
    between.add_argument("end", help="YYYY-MM-DD")
    calendar.set_defaults(func=_calendar)
    catalog_cmd = sub.add_parser("catalog", help="the offices' catalog files (YAML)")
    catalog_sub = catalog_cmd.add_subparsers(dest="catalog_command", required=True)
    catalog_check = catalog_sub.add_parser("check", help="check catalog files: FILE:LINE: message per mistake")
    catalog_check.add_argument("files", nargs="*", metavar="FILE", help="catalog files (default: the shipped ones)")
    catalog_check.set_defaults(func=_catalog_check)
    metrics = sub.add_parser("metrics", help="the functions' metrics (EMF documents kept by the local stack)")
    metrics.add_argument("--data-dir", default=argparse.SUPPRESS, help="where local data is kept (also after it)")
    metrics.add_argument("--metric", help="only this metric (e.g. ApplicationsSubmitted)")
    metrics.add_argument("--json", action="store_true", help="print JSON")
    metrics.set_defaults(func=_metrics)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        code = int(args.func(args))
    except DataDirInUse as exc:  # another stack owns the data folder and does not answer
        print(str(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dihentikan (Ctrl+C)", file=sys.stderr)
        return 130
    if args.command in ("demo", "bench"):
        print(f"selesai dalam {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
