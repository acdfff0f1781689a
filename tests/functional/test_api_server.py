"""The local API server keeps what chalice local gives the app and adds the real client address."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator

import pytest
from chalice import Chalice, Response
from chalice.config import Config
from silastri_local.api_server import create_api_server

app = Chalice(app_name="echo")
app.api.binary_types.append("application/octet-stream")


@app.route("/echo", methods=["POST"], content_types=["application/octet-stream", "multipart/form-data"])
def echo() -> Response:
    request = app.current_request
    return Response(body=json.dumps({
        "source_ip": request.context["identity"]["sourceIp"],
        "cookie": request.headers.get("cookie"), "custom": request.headers.get("x-custom"),
        "body_hex": (request.raw_body or b"").hex(),
    }), headers={"Set-Cookie": "s=1; HttpOnly", "Content-Type": "application/json"}, status_code=200)


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    local = create_api_server(app, Config.create(chalice_stage="local", app_name="echo"), "127.0.0.1", 0)
    thread = threading.Thread(target=local.server.serve_forever, daemon=True)
    thread.start()
    yield int(local.server.server_address[1])
    local.shutdown()
    local.server.server_close()
    thread.join(timeout=10)


def _post(port: int, source: str, body: bytes, content_type: str) -> tuple[int, dict[str, str], dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    connection.request("POST", "/echo", body=body, headers={
        "Content-Type": content_type, "Cookie": "session=abc", "X-Custom": "yes"})
    response = connection.getresponse()
    payload = json.loads(response.read())
    headers = dict(response.getheaders())
    connection.close()
    return response.status, headers, payload


def test_source_ip_is_the_connecting_clients_address(server):
    for source in ("127.0.0.1", "127.0.0.2"):  # any 127/8 address is loopback on Linux
        status, _, payload = _post(server, source, b"x", "application/octet-stream")
        assert status == 200 and payload["source_ip"] == source


def test_binary_and_multipart_bodies_cookies_and_headers_pass_through(server):
    binary = bytes(range(256))
    status, headers, payload = _post(server, "127.0.0.1", binary, "application/octet-stream")
    assert status == 200 and bytes.fromhex(payload["body_hex"]) == binary
    assert payload["cookie"] == "session=abc" and payload["custom"] == "yes"
    assert headers["Set-Cookie"] == "s=1; HttpOnly"
    multipart = (b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.pdf\"\r\n\r\n%PDF\x00\xff\r\n--b--\r\n")
    status, _, payload = _post(server, "127.0.0.1", multipart, "multipart/form-data; boundary=b")
    assert status == 200 and bytes.fromhex(payload["body_hex"]) == multipart
