"""Speed figures of the code and the local runtime (issue 12, items 4 and 5), printed by `make bench`, never asserted.

- `cold_import_ratios()`: each workflow handler's cold import time ÷ a bare `import boto3`, fresh interpreters.
- `applicant_list_latency(stack_or_api, n)`: p50/p95 of the applicant's list of applications with n stored.
- `throughput(drivers)`: whole orsos applications per second with 1, 2, 4 parallel drivers (officers scripted).
- `render_sign_ms()`: render + PAdES-sign a permit, warm.

Every function returns a plain dict of numbers (bench.py puts them in its table)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
LAYER = ROOT / "layers" / "common" / "python"

#: handlers that are not workflow (or queue) handlers: the API function is a Chalice app, measured apart
_NOT_WORKFLOW = {"api"}

_TIMED_IMPORT = ("import time, sys\n"
                 "t = time.process_time()\n"
                 "import {module}\n"
                 "sys.stdout.write(repr(time.process_time() - t))\n")


def workflow_handlers() -> list[str]:
    """Names of the workflow and queue handlers (functions/<name>/app.py, the API excepted), sorted."""
    return sorted(p.parent.name for p in FUNCTIONS.glob("*/app.py") if p.parent.name not in _NOT_WORKFLOW)


def _import_seconds(module: str, path: list[str], pycache: str) -> float:
    """CPU seconds to import `module` in a fresh interpreter with `path` first on sys.path (startup excluded),
    bytecode cached under `pycache` (as for the installed libraries: a layer built with compiled bytecode)."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["PYTHONPYCACHEPREFIX"] = pycache
    env.setdefault("AWS_DEFAULT_REGION", "ap-southeast-3")
    done = subprocess.run([sys.executable, "-c", _TIMED_IMPORT.format(module=module)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"import {module} failed: {done.stderr.strip().splitlines()[-1:]}")
    return float(done.stdout)


def cold_import_ratios(handlers: list[str] | None = None, runs: int = 5) -> dict[str, float]:
    """Each handler's cold import time ÷ bare `import boto3`: {handler name: ratio} (issue 12 goal ≤ 1.3).

    Each figure is the median of `runs` (at least 5) imports, each in a fresh interpreter with the handler's
    directory and the layer on the path, as Lambda has them, timed in CPU seconds (other load on the machine
    weighs less than on wall time); bytecode is compiled once beforehand for both sides alike (a first import,
    not counted). The runs alternate boto3 and the handlers so a busy machine weighs on both alike.
    `handlers` defaults to every workflow handler (`workflow_handlers()`). Raises RuntimeError when a handler
    does not import."""
    runs = max(5, runs)
    names = handlers if handlers is not None else workflow_handlers()
    base: list[float] = []
    times: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="silastri-pycache-") as pycache:
        for index in range(runs + 1):
            seconds = _import_seconds("boto3", [str(LAYER)], pycache)
            if index:  # the first round only compiles
                base.append(seconds)
            for name in names:
                seconds = _import_seconds("app", [str(FUNCTIONS / name), str(LAYER)], pycache)
                if index:
                    times[name].append(seconds)
    boto3_seconds = statistics.median(base)
    return {name: round(statistics.median(values) / boto3_seconds, 2) for name, values in times.items()}


#: what every workflow handler imports whatever it does, as the floor of its import ratio: {label: modules}
IMPORT_FLOORS = {"boto3 + pydantic": "boto3, pydantic",
                 "boto3 + pydantic + the domain models": "boto3, silastri.domain.models"}


def cold_import_floors(runs: int = 5) -> dict[str, float]:
    """The import ratio (÷ bare `import boto3`, measured as `cold_import_ratios` does) of what every handler
    shares (`IMPORT_FLOORS`): below it no handler can go without dropping those libraries. {label: ratio}."""
    runs = max(5, runs)
    base: list[float] = []
    times: dict[str, list[float]] = {label: [] for label in IMPORT_FLOORS}
    with tempfile.TemporaryDirectory(prefix="silastri-pycache-") as pycache:
        for index in range(runs + 1):
            seconds = _import_seconds("boto3", [str(LAYER)], pycache)
            if index:
                base.append(seconds)
            for label, modules in IMPORT_FLOORS.items():
                seconds = _import_seconds(modules, [str(LAYER)], pycache)
                if index:
                    times[label].append(seconds)
    boto3_seconds = statistics.median(base)
    return {label: round(statistics.median(values) / boto3_seconds, 2) for label, values in times.items()}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def _applicant(stack_or_api: Any) -> Any:
    """A logged-in applicant's ApiClient: the one given, or a new applicant registered on the given stack."""
    from .client import ApiClient
    from .journey import Journey, officer_clients

    if isinstance(stack_or_api, ApiClient):
        return stack_or_api
    base = ApiClient(stack_or_api.api_url)
    journey = Journey(base, officer_clients(base, stack_or_api.officers), "izin-operasional-orsos")
    return journey.register()


def applicant_list_latency(stack_or_api: Any, n: int = 1000, requests: int = 40) -> dict[str, float]:
    """Latency of the applicant's list API (GET /api/applications, its first page) with `n` applications stored for
    that applicant: {"p50_ms", "p95_ms", "stored", "requests", "seed_seconds"} (issue 12 goal: p95 ≤ 100 ms, n=1000).

    `stack_or_api`: a running local stack in this process (a new applicant is registered on it) or a logged-in
    applicant's ApiClient of one. One draft is made through the API; the other n - 1 are copies of it written
    directly through the data adapter (`dynamo.create_application`, fast), half of them marked submitted and
    in progress, each a second older than the one before. Then `requests` GETs are timed one after another."""
    import uuid
    from concurrent.futures import ThreadPoolExecutor
    from datetime import timedelta

    from silastri.adapters import dynamo
    from silastri.domain.models import ApplicationStatus

    from .journey import FORMS

    applicant = _applicant(stack_or_api)
    draft = applicant.post("/api/applications", {"permit_type": "izin-operasional-orsos",
                                                 "form": FORMS["izin-operasional-orsos"]})
    model = dynamo.get_application(draft["application_id"])
    started = time.perf_counter()

    def seed(index: int) -> None:
        changes: dict[str, Any] = {"application_id": str(uuid.uuid4()),
                                   "created_at": model.created_at - timedelta(seconds=index)}
        if index % 2:
            changes.update(status=ApplicationStatus.IN_PROGRESS, current_step="completeness_check",
                           registration_number=f"BENCH-{uuid.uuid4().hex[:12].upper()}",
                           submitted_at=model.created_at - timedelta(seconds=index))
        dynamo.create_application(model.model_copy(update=changes))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(seed, range(1, max(1, n))))
    seeded = time.perf_counter() - started
    first = applicant.get("/api/applications")  # warm (caches, connections), not counted
    assert first["applications"], "the list is empty"
    times: list[float] = []
    for _ in range(requests):
        begun = time.perf_counter()
        applicant.get("/api/applications")
        times.append((time.perf_counter() - begun) * 1000)
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(_percentile(times, 0.95), 1),
            "stored": float(max(1, n)), "requests": float(requests), "seed_seconds": round(seeded, 1)}


def _journeys(stack: Any, drivers: int, per_driver: int) -> dict[str, float]:
    """`drivers` threads, each playing `per_driver` whole orsos journeys to pickup one after another."""
    import resource
    import threading

    from .client import ApiClient
    from .journey import Journey, officer_clients

    base = ApiClient(stack.api_url)
    staff = officer_clients(base, stack.officers)
    applicants = [Journey(base, staff, "izin-operasional-orsos").register() for _ in range(drivers)]
    durations: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def drive(applicant: Any) -> None:
        for _ in range(per_driver):
            journey = Journey(base, staff, "izin-operasional-orsos", applicant=applicant)
            begun = time.perf_counter()
            try:
                journey.run_to_pickup()
            except Exception as exc:  # noqa: BLE001 - counted and reported, the others carry on
                with lock:
                    failures.append(f"{exc.__class__.__name__}: {str(exc)[:120]}")
                continue
            with lock:
                durations.append(time.perf_counter() - begun)

    threads = [threading.Thread(target=drive, args=(applicant,), name=f"bench-driver-{i}")
               for i, applicant in enumerate(applicants)]
    cpu_before = time.process_time() + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    cpu = time.process_time() + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - cpu_before
    done = len(durations)
    return {"drivers": float(drivers), "applications": float(done), "failed": float(len(failures)),
            "applications_per_second": round(done / wall, 3) if wall else 0.0,
            "journey_seconds_median": round(statistics.median(durations), 2) if durations else 0.0,
            "cpu_seconds_per_application": round(cpu / done, 2) if done else 0.0,
            "wall_seconds": round(wall, 1), "failures": failures[:3],  # type: ignore[dict-item]
            # journeys whose numbering confirmation was refused 409 (issue 12: none in the normal flow)
            "refused_409": float(sum(1 for f in failures if "ApiError" in f and "409" in f))}


def throughput(drivers: tuple[int, ...] = (1, 2, 4), per_driver: int = 2, stack: Any = None) -> dict[str, Any]:
    """Whole orsos applications per second (registration excluded; apply, uploads, submit, every officer step,
    pickup) with 1, 2, 4 parallel drivers and the officers scripted (`journey.Journey`, `officer_clients`), on
    `stack` or on a fresh throw-away local stack in this process: {"<n>": {"applications_per_second",
    "journey_seconds_median" (one application's wall time from draft to pickup), "cpu_seconds_per_application"
    (this process's and its finished children's CPU: the whole local stack runs here), "applications", "failed",
    "wall_seconds", "failures"}} (issue 12 goal: ≥ 4 applications/s at 4 drivers, ≤ 1.5 s machine time each)."""
    if stack is None:
        from .runtime import LocalStack

        with tempfile.TemporaryDirectory(prefix="silastri-throughput-") as data_dir, LocalStack(
                data_dir=Path(data_dir), api_port=0, persist=False, run_schedules=False) as fresh:
            return throughput(drivers, per_driver, fresh)
    return {str(n): _journeys(stack, n, per_driver) for n in drivers}


def numbering_assignments(count: int = 200, workers: int = 8, stack: Any = None) -> dict[str, Any]:
    """`count` submitted applications of one type take their permit number at once from `workers` threads
    (`services.numbering.assign`, the SOP 7 confirmation's effect), on `stack` or a fresh throw-away local stack
    in this process: {"per_second", "gap_free" (the numbers are consecutive and each stored on its application),
    "count", "workers", "seconds"} (issue 12 goal: gap-free, ≥ 50/s)."""
    import uuid
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime

    if stack is None:
        from .runtime import LocalStack

        with tempfile.TemporaryDirectory(prefix="silastri-numbering-") as data_dir, LocalStack(
                data_dir=Path(data_dir), api_port=0, persist=False, run_schedules=False,
                run_event_sources=False) as fresh:
            return numbering_assignments(count, workers, fresh)
    from silastri.adapters import dynamo
    from silastri.domain.models import Application, ApplicationStatus
    from silastri.services import numbering

    apps = []
    for _ in range(count):
        app = Application(application_id=str(uuid.uuid4()), office_id="rokan-hilir", applicant_id="bench-applicant",
                          permit_type="sip", status=ApplicationStatus.IN_PROGRESS,
                          registration_number=f"REG-B-{uuid.uuid4().hex[:6]}", form={"practitioner_name": "dr. Bench"},
                          created_at=datetime.now(UTC), submitted_at=datetime.now(UTC))
        dynamo.create_application(app)
        apps.append(app)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        numbers = list(pool.map(numbering.assign, [a.application_id for a in apps]))
    seconds = time.perf_counter() - started
    sequences = sorted(int(n.split("/")[2]) for n in numbers)
    stored = {dynamo.get_application(a.application_id, documents=False).permit_number for a in apps}
    gap_free = sequences == list(range(sequences[0], sequences[0] + count)) and stored == set(numbers)
    return {"per_second": round(count / seconds, 1) if seconds else 0.0, "gap_free": gap_free, "count": count,
            "workers": workers, "seconds": round(seconds, 2)}


#: placeholders for a process without a stack: rendering and signing read no table, queue or pool
_OFFLINE_ENVIRONMENT = {name: "bench" for name in (
    "APPLICATIONS_TABLE", "UPLOADS_TABLE", "TASKS_TABLE", "EVENTS_TABLE", "COUNTERS_TABLE", "PERMITS_TABLE", "SURVEYS_TABLE",
    "CODES_TABLE", "IDEMPOTENCY_TABLE", "MESSAGES_TABLE", "UPLOADS_BUCKET", "DOCUMENTS_BUCKET",
    "NOTIFICATIONS_TOPIC_ARN", "USER_POOL_ID", "USER_POOL_CLIENT_ID")} | {
    "COGNITO_JWKS_URL": "https://bench.invalid/jwks", "COGNITO_ISSUER": "https://bench.invalid",
    "PUBLIC_BASE_URL": "https://bench.invalid", "SIGNER_MODE": "dev-pki"}


def _orsos_permit() -> Any:
    """An orsos application with its number, as the signing step renders it (the catalog's own office and type)."""
    from datetime import UTC, datetime

    from silastri.domain.models import Application

    from .journey import FORMS

    return Application(
        application_id="bench-render", office_id="rokan-hilir", applicant_id="bench", permit_type="izin-operasional-orsos",
        registration_number="REG-2026-000123", created_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
        submitted_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC), permit_number="503/DPMPTSP-IOS/0007/XI/2026",
        permit_id="0" * 32, technical_recommendation_number="460/DINSOS/0012/XI/2026",
        technical_recommendation_date="2026-11-21",
        stage_plan={"technical_review": True, "field_visit": False, "payment": "none"},
        form=dict(FORMS["izin-operasional-orsos"]))


def render_sign_ms(rounds: int = 20) -> dict[str, float]:
    """Render + PAdES-sign an orsos permit decree, warm, as the signing step does (`permits.render_permit`, then
    `permits._sign` with the configured signer, the development PKI locally): medians over `rounds` after one
    warm-up, {"render_ms", "sign_ms", "total_ms"} in wall time (issue 12 goal: total ≤ 60 ms), and "total_cpu_ms",
    this process's CPU time for both (what a busy machine's other load does not inflate).

    Runs in this process with its settings; without a configured environment (no stack) it fills placeholders and
    a temporary DATA_DIR for the development PKI, and restores the environment afterwards."""
    from silastri.adapters.identity import Principal
    from silastri.services import permits
    from silastri.settings import get_settings

    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="silastri-bench-pki-") as data_dir:
        try:
            get_settings()
        except Exception:  # noqa: BLE001 - no stack environment in this process: an offline one
            os.environ.update({k: v for k, v in _OFFLINE_ENVIRONMENT.items() if k not in os.environ})
            os.environ.setdefault("DATA_DIR", data_dir)
            os.environ.setdefault("APP_SECRET_KEY", "b" * 64)
            get_settings.cache_clear()
            permits.signer.cache_clear()
        try:
            app = _orsos_permit()
            office = permits.default_catalog().office(app.office_id)
            definition = permits.default_catalog().permit_type(app.office_id, app.permit_type)
            head = Principal(user_id="bench-head", name="H. Bench Kepala, S.Sos.", roles={"head"})
            title = permits.signer_title(office, definition)
            render: list[float] = []
            sign: list[float] = []
            cpu: list[float] = []
            for index in range(rounds + 1):
                begun, begun_cpu = time.perf_counter(), time.process_time()
                pdf = permits.render_permit(app, head.name)
                rendered = time.perf_counter()
                permits._sign(pdf, head, office, f"Penetapan {definition.decree_title}", title=title)
                signed, signed_cpu = time.perf_counter(), time.process_time()
                if index:  # the first round warms caches (fonts, keys, catalog, the signature's room)
                    render.append((rendered - begun) * 1000)
                    sign.append((signed - rendered) * 1000)
                    cpu.append((signed_cpu - begun_cpu) * 1000)
        finally:
            if os.environ != saved:
                os.environ.clear()
                os.environ.update(saved)
                get_settings.cache_clear()
                permits.signer.cache_clear()
    render_ms, sign_ms = statistics.median(render), statistics.median(sign)
    return {"render_ms": round(render_ms, 1), "sign_ms": round(sign_ms, 1), "total_ms": round(render_ms + sign_ms, 1),
            "total_cpu_ms": round(statistics.median(cpu), 1)}


def main(argv: list[str] | None = None) -> int:
    """`python -m silastri_local.bench_speed [imports]`: prints the figures as JSON."""
    import json

    what = (argv if argv is not None else sys.argv[1:]) or ["imports"]
    result: dict[str, Any] = {}
    if "imports" in what:
        result["cold_import_ratios"] = cold_import_ratios()
    if "render" in what:
        result["render_sign_ms"] = render_sign_ms()
    if "throughput" in what:
        result["throughput"] = throughput()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
