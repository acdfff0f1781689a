"""The API function as API Gateway calls it on AWS: every path through the one proxy resource `/{proxy+}`
(template.yaml), so the app routes by the request's own path; unknown paths answer a Bahasa 404."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from silastri_local.moto_server import LambdaContext


@pytest.fixture(scope="module")
def lambda_app(local_stack) -> Any:
    return sys.modules["silastri_fn_ApiFunction"].app  # loaded by the stack from the function's CodeUri


def gateway_event(path: str, method: str = "GET", resource: str = "/{proxy+}") -> dict[str, Any]:
    """A REST API proxy-integration event as API Gateway sends it (stage `Prod` in requestContext.path only)."""
    headers = {"Accept": "text/html,*/*", "Host": "example.execute-api.ap-southeast-3.amazonaws.com"}
    return {
        "resource": resource, "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")} if resource == "/{proxy+}" else None,
        "stageVariables": None, "body": None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": resource, "httpMethod": method, "path": "/Prod" + path, "stage": "Prod",
                           "identity": {"sourceIp": "203.0.113.9"}, "requestId": "r-1"},
    }


def call(lambda_app: Any, path: str, method: str = "GET", resource: str = "/{proxy+}") -> dict[str, Any]:
    context = LambdaContext(function_name="silastri-ApiFunction", function_version="$LATEST",
                            invoked_function_arn="arn:aws:lambda:ap-southeast-3:000000000000:function:api",
                            memory_limit_in_mb=1024, timeout_seconds=30)
    return dict(lambda_app(gateway_event(path, method, resource), context))


def test_known_pages_and_api_routes_are_reached_through_the_proxy_resource(lambda_app):
    page = call(lambda_app, "/ajukan")
    assert page["statusCode"] == 200 and "<h1>Ajukan izin</h1>" in page["body"]
    catalog = call(lambda_app, "/api/catalog")
    assert catalog["statusCode"] == 200 and json.loads(catalog["body"])
    verification = call(lambda_app, "/verifikasi/tidak-ada-123")  # a route with a parameter: the parameter reaches it
    assert verification["statusCode"] == 404 and "TIDAK DITEMUKAN" in verification["body"]
    root = call(lambda_app, "/", resource="/")
    assert root["statusCode"] == 303


def test_unknown_paths_answer_a_bahasa_404(lambda_app):
    for path in ("/tidak-ada", "/permohonan/a/b/c", "/ajukan/"):
        answer = call(lambda_app, path)
        if path == "/ajukan/":  # a trailing slash is the same page, as API Gateway treats it
            assert answer["statusCode"] == 200
            continue
        assert answer["statusCode"] == 404, path
        assert answer["headers"]["Content-Type"].startswith("text/html")
        assert "Halaman tidak ditemukan" in answer["body"] and 'lang="id"' in answer["body"]
        assert "Missing Authentication Token" not in answer["body"]
    api = call(lambda_app, "/api/tidak-ada/sama-sekali", method="POST")
    assert api["statusCode"] == 404 and api["headers"]["Content-Type"] == "application/json"
    assert json.loads(api["body"])["error"]["code"] == "not_found"


def test_favicon_is_served(lambda_app):
    icon = call(lambda_app, "/favicon.ico")
    assert icon["statusCode"] == 200 and icon["headers"]["Content-Type"] == "image/svg+xml"
    assert icon["body"].startswith("<svg")


def test_a_known_path_with_another_method_answers_a_bahasa_405_with_allow(lambda_app):
    page = call(lambda_app, "/ajukan", method="DELETE")
    assert page["statusCode"] == 405 and page["headers"]["Allow"] == "GET"
    assert page["headers"]["Content-Type"].startswith("text/html") and 'lang="id"' in page["body"]
    assert "tidak menerima metode DELETE" in page["body"] and "MethodNotAllowed" not in page["body"]
    api = call(lambda_app, "/api/catalog", method="POST")
    assert api["statusCode"] == 405 and api["headers"]["Allow"] == "GET"
    error = json.loads(api["body"])["error"]
    assert error["code"] == "method_not_allowed" and error["field"] == "method" and "POST" in error["message"]
    with_parameter = call(lambda_app, "/api/tasks/abc123/decision", method="GET")  # a route with a parameter
    assert with_parameter["statusCode"] == 405 and with_parameter["headers"]["Allow"] == "POST"
    # the same request with a route-specific resource (as Chalice's own deployment would send it)
    direct = call(lambda_app, "/api/catalog", method="PUT", resource="/api/catalog")
    assert direct["statusCode"] == 405 and json.loads(direct["body"])["error"]["code"] == "method_not_allowed"


def _http(url: str, method: str, body: bytes | None = None, content_type: str | None = None) -> tuple[int, dict, str]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method=method,  # noqa: S310 - loopback stack
                                     headers={"Content-Type": content_type} if content_type else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def test_the_local_server_answers_the_same_bahasa_405_and_415(local_stack):
    """Chalice's local server puts the method and path only in requestContext (red-team finding: the 405 was
    Chalice's English JSON on `make run`)."""
    status, headers, body = _http(local_stack.api_url + "/ajukan", "DELETE")
    assert status == 405 and headers["Allow"] == "GET" and "tidak menerima metode DELETE" in body and 'lang="id"' in body
    status, headers, body = _http(local_stack.api_url + "/api/catalog", "POST", b"{}", "application/json")
    assert status == 405 and json.loads(body)["error"]["code"] == "method_not_allowed"
    status, _, body = _http(local_stack.api_url + "/masuk", "POST", b"x", "text/plain")
    assert status == 415 and 'lang="id"' in body and "UnsupportedMediaType" not in body
    status, _, body = _http(local_stack.api_url + "/api/applications", "POST", b"a=1", "application/x-www-form-urlencoded")
    assert status == 415 and json.loads(body)["error"]["code"] == "unsupported_media_type"


def test_a_page_speaks_for_its_own_office(lambda_app):
    """Red-team finding: Bengkalis's public page was branded Rokan Hilir and said every permit was free."""
    page = call(lambda_app, "/kantor/bengkalis")
    assert page["statusCode"] == 200
    header = page["body"].split("</header>", 1)[0]
    footer = page["body"].split('<footer class="site-footer">', 1)[1]
    assert "DPMPTSP Kabupaten Bengkalis" in header and "Rokan Hilir" not in header
    assert "Bengkalis" in footer and "Rokan Hilir" not in footer and "Semua layanan perizinan" not in footer
    default = call(lambda_app, "/ajukan")  # no office of its own: the deployment's default office
    assert "DPMPTSP Kabupaten Rokan Hilir" in default["body"].split("</header>", 1)[0]
