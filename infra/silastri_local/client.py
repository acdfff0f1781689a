"""A small HTTP client for SILASTRI's JSON API (used by the demo, the benchmark and the tests)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any


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
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base_url + path, data=data, method=method)  # noqa: S310 - http(s) URLs of the local stack
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - loopback
                payload = response.read()
                kind = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            try:
                parsed = json.loads(payload)
            except ValueError:
                parsed = payload.decode(errors="replace")
            raise ApiError(exc.code, parsed) from None
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
