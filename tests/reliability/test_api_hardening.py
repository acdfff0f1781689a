"""Hostile input against a running local stack: bad tokens, fuzzing, brute force, parallel code guessing.

The stack is this module's own (`silastri up` in a subprocess): the brute-force rows exhaust the per-address
limits of 127.0.0.1, which would otherwise throttle every other test driving the same stack. Between rows the
throttle windows are emptied (`limits`), so each row starts from a clean slate."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from silastri_local.client import ApiClient, ApiError
from silastri_local.journey import FORMS, Journey, officer_clients
from silastri_local.stack_process import StackProcess

pytestmark = pytest.mark.xdist_group("api-hardening")

LOGIN_ACCOUNT, LOGIN_ADDRESS = 10, 50  # services/ratelimit.py: the limits these rows expect
CODE_ATTEMPTS, CODE_ACCOUNT = 5, 10
SEND_ADDRESS, TRACK_NUMBER, TRACK_ADDRESS = 30, 10, 30


# ----------------------------------------------------------------------------- the module's stack

@pytest.fixture(scope="module")
def hardened() -> Iterator[StackProcess]:
    data_dir = Path(tempfile.mkdtemp(prefix="silastri-hardening-"))
    process = StackProcess(data_dir).start()
    yield process
    process.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def client(hardened) -> ApiClient:
    api = ApiClient(hardened.url)
    officer = hardened.officers()["back_office"]
    api.outbox_reader = api.login(officer["email"], officer["password"])
    return api


@pytest.fixture(scope="module")
def officers(hardened, client) -> dict[str, ApiClient]:
    return officer_clients(client, hardened.officers())


@pytest.fixture
def limits(hardened) -> Callable[[], None]:
    """Empty every throttle window (items `limit#…` in the codes table); done before each test, callable again."""

    def clear() -> None:
        dynamodb = hardened.aws("dynamodb")
        pages = dynamodb.get_paginator("scan").paginate(
            TableName="silastri-CodesTable", FilterExpression="begins_with(code_id, :p)",
            ExpressionAttributeValues={":p": {"S": "limit#"}}, ProjectionExpression="code_id")
        for page in pages:
            for item in page["Items"]:
                dynamodb.delete_item(TableName="silastri-CodesTable", Key={"code_id": item["code_id"]})

    clear()
    return clear


def send(base_url: str, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str | bytes] | None = None) -> int:
    """One raw request (header values may be bytes: non-ASCII as a hostile client sends it); the status.

    A page's redirect to the login form (303 → /masuk) is reported as 401: the page refused the session."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body or b"")))
        connection.endheaders(body or None)
        response = connection.getresponse()
        response.read()
        if response.status == 303 and (response.headers.get("Location") or "").startswith("/masuk"):
            return 401
        return response.status
    finally:
        connection.close()


def status_of(call: Callable[[], Any]) -> int:
    try:
        call()
    except ApiError as exc:
        return exc.status
    return 200


def parallel(calls: list[Callable[[], Any]]) -> list[int]:
    """Start the calls at the same instant (a barrier); the HTTP status of each."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> int:
        barrier.wait()
        return status_of(call)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def new_person() -> dict[str, str]:
    digits = uuid.uuid4().int
    return {"name": "Siti Aminah", "email": f"uji-{uuid.uuid4().hex[:10]}@contoh.id",
            "phone": "0812" + f"{digits % 10**8:08d}", "password": "Rahasia-2026x",
            "nik": "1407" + f"{(digits // 10**8) % 10**12:012d}"}


# ----------------------------------------------------------------------------- bad tokens

def signed(hardened: StackProcess, task_id: str, expires: int) -> str:
    secret = (hardened.data_dir / "app-secret.key").read_text().strip()
    key = hmac.new(secret.encode(), b"silastri:links:v1", hashlib.sha256).digest()
    return f"{expires}." + hmac.new(key, f"task:{task_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:40]


def test_bad_tokens_links_csrf_cookies_and_bearers_are_4xx(hardened, client, officers, limits, row):
    journey = Journey(client, officers, "sip")
    journey.apply()
    journey.submit()
    task_id = journey.task("back_office", "completeness_check")["task_id"]
    session = officers["back_office"].token
    applicant = journey.applicant.token
    assert session and applicant
    header, payload, signature = session.split(".")
    stale_link = signed(hardened, task_id, int(time.time()) - 60)
    cookie = {"Cookie": f"silastri_session={session}"}
    cases: list[tuple[str, str, str, bytes | None, dict[str, str | bytes]]] = [
        # signed task links: expired, foreign, tampered, malformed, non-ASCII
        ("stale link", "GET", f"/petugas/tugas/{task_id}?l={stale_link}", None, cookie),
        ("foreign link", "GET", f"/petugas/tugas/{task_id}?l={signed(hardened, 'lain', int(time.time()) + 600)}",
         None, cookie),
        ("tampered link", "GET", f"/petugas/tugas/{task_id}?l={stale_link[:-1]}0", None, cookie),
        ("malformed link", "GET", f"/petugas/tugas/{task_id}?l=abc", None, cookie),
        ("empty link", "GET", f"/petugas/tugas/{task_id}?l=", None, cookie),
        ("non-ASCII link", "GET", f"/petugas/tugas/{task_id}?l=1999999999.%C3%A9%C3%BC", None, cookie),
        ("non-ASCII expiry", "GET", f"/petugas/tugas/{task_id}?l=%D9%A1%D9%A2.abc", None, cookie),
        ("huge link", "GET", f"/petugas/tugas/{task_id}?l={'9' * 5000}.{'a' * 5000}", None, cookie),
        ("non-ASCII task id", "GET", "/petugas/tugas/%C3%A9%E2%80%AE", None, cookie),
        ("task id too long", "GET", f"/api/tasks/{'a' * 3000}", None, {"Authorization": f"Bearer {session}"}),
        # CSRF on the API (cookie session) and on the pages' forms
        ("no CSRF", "POST", "/api/applications", b'{"permit_type":"sip","form":{}}',
         {"Cookie": f"silastri_session={applicant}"}),
        ("wrong CSRF", "POST", "/api/applications", b'{"permit_type":"sip","form":{}}',
         {"Cookie": f"silastri_session={applicant}", "X-CSRF-Token": "x" * 64}),
        ("non-ASCII CSRF", "POST", "/api/applications", b'{"permit_type":"sip","form":{}}',
         {"Cookie": f"silastri_session={applicant}", "X-CSRF-Token": "é" * 64}),
        ("UTF-8 CSRF", "POST", "/api/applications", b'{"permit_type":"sip","form":{}}',
         {"Cookie": f"silastri_session={applicant}", "X-CSRF-Token": "ü€𝄞".encode()}),
        ("non-ASCII CSRF form", "POST", f"/petugas/tugas/{task_id}",
         urlencode({"csrf": "é€" * 20, "outcome": "complete"}).encode(),
         {**cookie, "Content-Type": "application/x-www-form-urlencoded"}),
        ("empty CSRF form", "POST", "/keluar", b"csrf=",
         {"Cookie": f"silastri_session={applicant}", "Content-Type": "application/x-www-form-urlencoded"}),
        # cookies
        ("non-ASCII cookie", "GET", "/api/me", None, {"Cookie": "silastri_session=é€".encode()}),
        ("garbage cookie", "GET", "/api/me", None, {"Cookie": "silastri_session=a.b.c"}),
        ("broken cookie header", "GET", "/api/me", None, {"Cookie": '";;==\\x00'}),
        ("tampered cookie", "GET", "/api/me", None, {"Cookie": f"silastri_session={header}.{payload}.{signature[::-1]}"}),
        ("page with bad cookie", "GET", "/permohonan", None, {"Cookie": "silastri_session=é.ü.x".encode()}),
        ("officer page with bad cookie", "GET", "/petugas", None, {"Cookie": "silastri_session=é".encode()}),
        # Bearer tokens
        ("non-ASCII bearer", "GET", "/api/me", None, {"Authorization": "Bearer é.ü.€".encode()}),
        ("latin-1 bearer", "GET", "/api/me", None, {"Authorization": "Bearer ééé.ééé.ééé"}),
        ("huge bearer", "GET", "/api/me", None, {"Authorization": "Bearer " + "a" * 20000 + ".b.c"}),
        ("empty bearer", "GET", "/api/me", None, {"Authorization": "Bearer "}),
        ("alg none bearer", "GET", "/api/me", None, {"Authorization": f"Bearer {header}.{payload}."}),
        ("tampered bearer", "GET", "/api/tasks", None, {"Authorization": f"Bearer {header}.{payload}.{signature[:-2]}"}),
        ("applicant bearer on officer API", "GET", "/api/tasks", None, {"Authorization": f"Bearer {applicant}"}),
        ("bearer on decision of a decided task", "POST", f"/api/tasks/{task_id}/decision",
         b'{"outcome":"complete","note":"Berkas lengkap"}', {"Authorization": f"Bearer {session}"}),
    ]
    officers["back_office"].post(f"/api/tasks/{task_id}/decision", {"outcome": "complete", "note": "Lengkap"})
    statuses = {name: send(hardened.url, method, path, body, headers) for name, method, path, body, headers in cases}
    bad = {name: s for name, s in statuses.items() if not 400 <= s < 500}
    row("bad-tokens", figure=f"{len(cases) - len(bad)} of {len(cases)} stale/used/malformed/non-ASCII links, CSRF "
        f"tokens, cookies and Bearer tokens answered 4xx (pages: 303 to the login form counted as 401) ({dict(sorted(Counter(statuses.values()).items()))})"
        + (f"; not 4xx: {bad}" if bad else ""), met=not bad)
    assert not bad, bad


# ----------------------------------------------------------------------------- fuzzing

OFFICER_PATHS = ("/api/tasks", "/api/signing", "/api/counter", "/api/permits", "/api/reports", "/api/local")
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=15)
ANONYMOUS_BODIES = ["/api/auth/register", "/api/auth/activate", "/api/auth/login", "/api/auth/resend",
                    "/api/auth/password-reset", "/api/auth/password-reset/confirm", "/api/track"]


def test_fuzzing_gets_no_server_errors(hardened, client, officers, limits, row):
    import schemathesis
    from schemathesis import GenerationMode

    journey = Journey(client, officers, "sip")
    journey.register()
    draft = journey.applicant.post("/api/applications", {"permit_type": "sip", "form": FORMS["sip"]})
    applicant = {"Authorization": f"Bearer {journey.applicant.token}"}
    officer = {"Authorization": f"Bearer {officers['back_office'].token}"}
    schema = schemathesis.openapi.from_url(hardened.url + "/api/openapi.json")
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    operations = 0
    started = time.perf_counter()

    def record(label: str, status: int, detail: str) -> None:
        statuses[status] += 1
        if status >= 500:
            errors.append(f"{label}: {status} {detail[:300]}")

    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        secured = bool(operation.definition.raw.get("security"))
        headers = (officer if operation.path.startswith(OFFICER_PATHS) else applicant) if secured else {}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fixed = {"application_id": draft["application_id"]} if mode == GenerationMode.POSITIVE and \
                "{application_id}" in operation.path else None
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)

            @settings(max_examples=12, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def one(case: Any) -> None:
                response = case.call(base_url=hardened.url, headers=dict(headers), timeout=60)
                record(f"{case.method} {case.formatted_path} ({mode.value})", response.status_code,
                       response.text)

            try:
                one()
            except Exception as exc:  # a mode that cannot generate for this operation (e.g. nothing to negate)
                if "Unsatisfiable" not in type(exc).__name__ and "generat" not in str(exc).lower():
                    raise
    schemathesis_requests = sum(statuses.values())

    # hypothesis on the raw bodies: any JSON value (and deep nesting) to every anonymous JSON endpoint
    @settings(max_examples=60, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(ANONYMOUS_BODIES), value=JSON_VALUES, depth=st.sampled_from([0, 0, 0, 40, 5000]))
    def raw(path: str, value: Any, depth: int) -> None:
        body = json.dumps(value, ensure_ascii=bool(depth % 2)).encode()
        if depth:
            body = b'{"email":' + b"[" * depth + body + b"]" * depth + b"}"
        record(f"POST {path} (raw)", send(hardened.url, "POST", path, body), body[:100].decode(errors="replace"))

    raw()
    seconds = time.perf_counter() - started
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    row("fuzzing", figure=f"{server_errors} 5xx in {sum(statuses.values())} requests ({schemathesis_requests} "
        f"schemathesis over {operations} operations, positive + negative, applicant and officer tokens; "
        f"{sum(statuses.values()) - schemathesis_requests} hypothesis raw bodies) in {seconds:.0f} s; statuses "
        f"{dict(sorted(statuses.items()))}", met=server_errors == 0)
    assert not errors, errors[:10]


# ----------------------------------------------------------------------------- brute force

LAST_BURST: dict[str, float] = {}  # epoch seconds at the start and end of the last burst


def burst(calls: list[Callable[[], Any]], workers: int = 8) -> Counter[int]:
    LAST_BURST["start"] = time.time()
    with ThreadPoolExecutor(workers) as pool:
        counted = Counter(pool.map(status_of, calls))
    LAST_BURST["end"] = time.time()
    return counted


def windows_spanned(window_seconds: int) -> int:
    """How many of the throttle's fixed windows (services/ratelimit.py: aligned on the epoch) the last burst
    touched: a burst that straddles a boundary may be evaluated `limit` times in each (on a loaded machine a
    200-request burst can take long enough to cross one)."""
    return int(LAST_BURST["end"]) // window_seconds - int(LAST_BURST["start"]) // window_seconds + 1


def test_brute_force_is_throttled_after_the_limits(hardened, client, officers, limits, row):
    api = client
    figures, met = [], True

    def check(name: str, counts: Counter[int], evaluated: int, limit: int, tail: str = "",
              refused: int | None = None, window: int | None = 900) -> None:
        """At most `limit` evaluated per window the burst touched; every other attempt refused unevaluated (429,
        or `refused` when given)."""
        nonlocal met
        limit = limit * windows_spanned(window) if window else limit  # None: a hard limit (a code's attempts)
        ok = evaluated <= limit and (counts[429] if refused is None else refused) >= sum(counts.values()) - limit
        met = met and ok
        figures.append(f"{name}: {evaluated} of {sum(counts.values())} evaluated (limit {limit}), "
                       f"{counts[429]} × 429{tail}")

    # 200 wrong passwords for one account, then 200 for 200 accounts from one address
    email = f"korban-{uuid.uuid4().hex[:8]}@contoh.id"
    counts = burst([lambda: api.post("/api/auth/login", {"email": email, "password": "Salah-1234x"})] * 200)
    check("passwords, one account", counts, counts[401], LOGIN_ACCOUNT)
    limits()
    counts = burst([lambda i=i: api.post("/api/auth/login", {"email": f"acak{i}@contoh.id", "password": "Salah-1234x"})
                    for i in range(200)])
    check("passwords, one address", counts, counts[401], LOGIN_ADDRESS)
    limits()

    # 200 code guesses for one account (activation): the code dies after 5, the account is throttled after 10
    person = new_person()
    api.post("/api/auth/register", person)
    counts = burst([lambda: api.post("/api/auth/activate", {"email": person["email"], "code": "000000"})] * 200)
    attempts = int(hardened.aws("dynamodb").get_item(
        TableName="silastri-CodesTable", ConsistentRead=True,
        Key={"code_id": {"S": "activation#" + hashlib.sha256(person["email"].encode()).hexdigest()}},
    )["Item"]["attempts"]["N"])
    check("codes, one account", counts, attempts, CODE_ATTEMPTS, f", {counts[409]} × 409 (code used up)", window=None,
          refused=counts[409] + counts[429])
    met = met and counts[429] >= 200 - CODE_ACCOUNT
    limits()

    # 200 code requests (password reset, resend) from one address
    counts = burst([lambda i=i: api.post("/api/auth/password-reset", {"email": f"reset{i}@contoh.id"})
                    for i in range(200)])
    check("code sends, one address", counts, counts[202] + counts[200], SEND_ADDRESS, window=3600)
    limits()

    # 200 tracking lookups for one registration number, then over 200 numbers (enumeration) from one address
    track = {"registration_number": "REG-2026-000001"}
    counts = burst([lambda i=i: api.post("/api/track", {**track, "phone": f"0812{i:08d}"}) for i in range(200)])
    check("tracking, one number", counts, counts[404], TRACK_NUMBER)
    limits()
    counts = burst([lambda i=i: api.post("/api/track", {"registration_number": f"REG-2026-{i:06d}",
                                                        "phone": "081234567890"}) for i in range(200)])
    check("tracking, one address", counts, counts[404], TRACK_ADDRESS)
    limits()

    # a throttled answer says how long to wait, in Bahasa Indonesia
    for _ in range(LOGIN_ACCOUNT):
        send(hardened.url, "POST", "/api/auth/login", json.dumps({"email": email, "password": "x"}).encode())
    parts = urlsplit(hardened.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    connection.request("POST", "/api/auth/login", json.dumps({"email": email, "password": "x"}),
                       {"Content-Type": "application/json"})
    answer = connection.getresponse()
    message = json.loads(answer.read())["error"]["message"]
    connection.close()
    retry_after = int(answer.headers.get("Retry-After") or 0)
    met = met and answer.status == 429 and 1 <= retry_after <= 900 and "coba lagi" in message
    row("brute-force", figure="; ".join(figures) + f"; Retry-After {retry_after} s, “{message}”", met=met)
    assert met, figures


# ----------------------------------------------------------------------------- parallel code guessing

def test_parallel_code_guesses_never_evaluate_more_than_the_limit(hardened, client, officers, limits, row):
    api = client
    dynamodb = hardened.aws("dynamodb")

    def attempts(purpose: str, email: str) -> int:
        key = f"{purpose}#" + hashlib.sha256(email.encode()).hexdigest()
        item = dynamodb.get_item(TableName="silastri-CodesTable", Key={"code_id": {"S": key}}, ConsistentRead=True)
        return int(item["Item"]["attempts"]["N"])

    # activation: 40 wrong guesses at the same instant
    person = new_person()
    api.post("/api/auth/register", person)
    good = Journey(api, {}, "sip").latest_code("+62" + person["phone"][1:])
    wrong = "000000" if good != "000000" else "111111"
    activation = parallel([lambda: api.post("/api/auth/activate", {"email": person["email"], "code": wrong})] * 40)
    evaluated_activation = attempts("activation", person["email"])
    still_refused = status_of(lambda: api.post("/api/auth/activate", {"email": person["email"], "code": good}))
    limits()

    # password reset: an active account, 40 wrong guesses at the same instant
    journey = Journey(api, {}, "sip")
    journey.register()
    email = journey.credentials["email"]
    api.post("/api/auth/password-reset", {"email": email})
    journey.latest_code(journey.credentials["phone"])
    reset = parallel([lambda: api.post("/api/auth/password-reset/confirm",
                                       {"email": email, "code": wrong, "new_password": "Baru-Sekali-2026"})] * 40)
    evaluated_reset = attempts("reset", email)

    wrong_answers = activation.count(400) + reset.count(400)
    met = (evaluated_activation <= CODE_ATTEMPTS and evaluated_reset <= CODE_ATTEMPTS
           and wrong_answers <= 2 * CODE_ATTEMPTS and still_refused in (409, 429) and 500 not in activation + reset)
    row("code-guessing", figure=f"activation: {evaluated_activation} of 40 parallel guesses evaluated "
        f"({dict(Counter(activation))}); reset: {evaluated_reset} of 40 ({dict(Counter(reset))}); limit "
        f"{CODE_ATTEMPTS}; the right code afterwards: {still_refused}", met=met)
    assert met
