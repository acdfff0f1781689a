"""A small HTTP client for SILASTRI's JSON API (used by the demo, the benchmark and the tests).

Requests reuse one keep-alive connection per thread and server, as a browser does (the API server serves HTTP/1.1
keep-alive), rather than a new TCP connection — and a new server thread — for every request."""

from __future__ import annotations

import http.client
import json
import select
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import urljoin, urlsplit

_POOL = threading.local()  # this thread's connections: {(scheme, netloc): (HTTPConnection, last used)}
#: a connection idle longer than this is not reused (the API server closes idle ones after 120 s)
IDLE_SECONDS = 60.0
_REDIRECTS = (301, 302, 303, 307, 308)
_USER_AGENT = "Python-urllib/{}.{}".format(*sys.version_info[:2])  # what urllib sent before


def _connection(scheme: str, netloc: str, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
    """This thread's kept connection to `netloc` (and whether it was used before), or a new one."""
    pool: dict[tuple[str, str], tuple[http.client.HTTPConnection, float]] = _POOL.__dict__.setdefault("pool", {})
    kept = pool.pop((scheme, netloc), None)
    if kept is not None:
        connection, last_used = kept
        if time.monotonic() - last_used < IDLE_SECONDS and not _dropped(connection):
            connection.timeout = timeout
            return connection, True
        connection.close()
    kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    return kind(netloc, timeout=timeout), False


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle kept connection was closed by the server (readable while idle: EOF), as urllib3 checks."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _keep(scheme: str, netloc: str, connection: http.client.HTTPConnection) -> None:
    _POOL.__dict__.setdefault("pool", {})[(scheme, netloc)] = (connection, time.monotonic())


def _exchange(method: str, url: str, data: bytes | None, headers: dict[str, str],
              timeout: float) -> tuple[int, str, str | None, bytes]:
    """One request on a kept connection: (status, content type, location, body). A kept connection the server
    closed meanwhile (a restart) is replaced: when found closed before use, or when sending on it fails (nothing
    arrived); a kept connection dropped before the answer is retried for a GET only (a POST is never sent
    twice). Any other failure is raised."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    for _attempt in range(2):
        connection, reused = _connection(parts.scheme, parts.netloc, timeout)
        try:
            connection.request(method, target, body=data, headers=headers)
        except OSError as exc:  # as urllib reports it; on a dead kept connection nothing arrived: a new one
            connection.close()
            if reused and isinstance(exc, (ConnectionResetError, BrokenPipeError)):
                continue
            raise urllib.error.URLError(exc) from exc
        except BaseException:
            connection.close()
            raise
        try:
            response = connection.getresponse()
            payload = response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            connection.close()
            if reused and method in ("GET", "HEAD"):
                continue
            raise
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            _keep(parts.scheme, parts.netloc, connection)
        return response.status, response.headers.get("Content-Type", ""), response.headers.get("Location"), payload
    raise AssertionError("unreachable")


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class ApiClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 60) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.outbox_reader: ApiClient | None = None  # an officer's client: the local outbox is for officers only

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             raw: bytes | None = None) -> Any:
        """One request; the parsed JSON answer (or the raw bytes of another kind). Redirects are followed as
        urllib follows them (301/302/303 → GET; 307/308 only for GET/HEAD). Raises ApiError for a 4xx/5xx answer,
        urllib.error.URLError when the server cannot be reached."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = {"Content-Type": "application/json", "User-Agent": _USER_AGENT}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        sent.update(headers or {})
        url = self.base_url + path
        for _hop in range(10):
            status, kind, location, payload = _exchange(method, url, data, sent, self.timeout)
            if status in _REDIRECTS and location and (status in (301, 302, 303) or method in ("GET", "HEAD")):
                url = urljoin(url, location)
                if status in (301, 302, 303) and method not in ("GET", "HEAD"):
                    method, data = "GET", None
                    sent = {k: v for k, v in sent.items() if k.lower() not in ("content-type", "content-length")}
                continue
            break
        if status >= 300:
            try:
                parsed = json.loads(payload)
            except ValueError:
                parsed = payload.decode(errors="replace")
            raise ApiError(status, parsed)
        return json.loads(payload) if "json" in kind and payload else payload

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def page(self, path: str) -> Any:
        """A page as a browser signed in as this client gets it (pages read the session cookie, not Bearer)."""
        from silastri.services.sessions import SESSION_COOKIE

        return self.call("GET", path, headers={"Cookie": f"{SESSION_COOKIE}={self.token}"} if self.token else None)

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.call("POST", path, body if body is not None else {}, headers)

    def outbox(self) -> list[dict[str, Any]]:
        """Messages in the local outbox (local stack only), read as `outbox_reader` (an officer) or as this client."""
        return list((self.outbox_reader or self).get("/api/local/outbox")["messages"])

    def login(self, email: str, password: str) -> ApiClient:
        token = self.post("/api/auth/login", {"email": email, "password": password})["id_token"]
        return ApiClient(self.base_url, token, self.timeout)


def post_form(url: str, fields: dict[str, str], file_bytes: bytes, filename: str, timeout: float = 60) -> int:
    """A browser-style multipart POST to a presigned S3 upload URL; returns the HTTP status."""
    boundary = uuid.uuid4().hex
    parts = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    parts.append((f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                  "Content-Type: application/pdf\r\n\r\n").encode() + file_bytes + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    request = urllib.request.Request(url, data=b"".join(parts), method="POST")  # noqa: S310 - presigned S3 URL
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def fetch(url: str, timeout: float = 60) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback presigned URL
        return bytes(response.read())


def wait_for(predicate: Any, timeout: float = 30, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll until `predicate()` returns something truthy; raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)
