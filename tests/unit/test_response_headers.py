"""The local S3 emulator's object reads carry nosniff and no shared caching (silastri_local.response_headers),
checked against a tiny WSGI app standing in for moto."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from silastri_local.response_headers import ObjectResponseHeaders, is_s3_object_read
from werkzeug.test import Client

ENDPOINT = "http://127.0.0.1:5000"
SIGV4_S3 = ("AWS4-HMAC-SHA256 Credential=testing/20260101/ap-southeast-3/s3/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=abc")


class _Moto:
    """Answers every request with fixed headers and body, remembering what it was asked."""

    def __init__(self, headers: list[tuple[str, str]] | None = None) -> None:
        self.headers = headers if headers is not None else [("Content-Type", "application/pdf")]
        self.seen: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.seen.append(environ)
        start_response("200 OK", list(self.headers))
        return [b"%PDF-1.7 body"]


def _presigned_get(key: str, **params: str) -> tuple[str, str]:
    s3 = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                               region_name="ap-southeast-3").client("s3", endpoint_url=ENDPOINT)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "silastri-uploads", "Key": key, **params},
                                    ExpiresIn=300)
    parts = urlsplit(url)
    return parts.path, parts.query


def _headers(response: Any, name: str) -> list[str]:
    return response.headers.getlist(name)


def test_a_presigned_object_get_gets_nosniff_and_no_store() -> None:
    moto = _Moto()
    path, query = _presigned_get("documents/rohil/app-1/ktp/v1.pdf")
    response = Client(ObjectResponseHeaders(moto)).get(path, query_string=query)
    assert _headers(response, "X-Content-Type-Options") == ["nosniff"]
    assert _headers(response, "Cache-Control") == ["private, no-store"]
    assert response.status_code == 200 and response.data == b"%PDF-1.7 body"
    assert response.headers["Content-Type"] == "application/pdf"


def test_an_existing_cache_control_is_kept_and_nosniff_is_never_doubled() -> None:
    moto = _Moto([("Content-Type", "application/pdf"), ("Cache-Control", "max-age=60"),
                  ("x-content-type-options", "sniff-away")])
    path, query = _presigned_get("issued/rohil/app-1/permit-c1.pdf", ResponseCacheControl="max-age=60")
    response = Client(ObjectResponseHeaders(moto)).get(path, query_string=query)
    assert _headers(response, "X-Content-Type-Options") == ["nosniff"]
    assert _headers(response, "Cache-Control") == ["max-age=60"]


@pytest.mark.parametrize(
    ("method", "path", "host", "auth"),
    [
        ("HEAD", "/silastri-uploads/documents/a.pdf", "localhost:5000", SIGV4_S3),
        ("GET", "/documents/a.pdf", "silastri-uploads.localhost:5000", SIGV4_S3),  # virtual-host style
        ("GET", "/silastri-uploads/documents/a.pdf", "127.0.0.1:5000", "AWS testing:c2lnbmF0dXJl"),  # SigV2
    ],
)
def test_header_signed_object_reads_are_covered(method: str, path: str, host: str, auth: str) -> None:
    response = Client(ObjectResponseHeaders(_Moto())).open(path, method=method, headers={"Host": host,
                                                                                          "Authorization": auth})
    assert _headers(response, "X-Content-Type-Options") == ["nosniff"]
    assert _headers(response, "Cache-Control") == ["private, no-store"]


@pytest.mark.parametrize(
    ("method", "path", "query", "headers"),
    [
        ("PUT", "/silastri-uploads/documents/a.pdf", "", {"Authorization": SIGV4_S3}),  # a write
        ("POST", "/silastri-uploads", "", {"Content-Type": "multipart/form-data; boundary=x"}),  # presigned POST
        ("GET", "/silastri-uploads", "list-type=2", {"Authorization": SIGV4_S3}),  # bucket listing
        ("GET", "/silastri-uploads/", "", {"Authorization": SIGV4_S3}),
        ("GET", "/ap-southeast-3_abc/.well-known/jwks.json", "", {}),  # Cognito JWKS, unsigned
        ("GET", "/2015-03-31/functions/silastri-ApiFunction", "",  # another service with a key-like path
         {"Authorization": SIGV4_S3.replace("/s3/", "/lambda/")}),
        ("GET", "/silastri-uploads/documents/a.pdf", "X-Amz-Credential=testing%2F20260101%2Fap-southeast-3%2Fsqs"
                                                     "%2Faws4_request&X-Amz-Signature=abc", {}),
        ("POST", "/", "", {"X-Amz-Target": "DynamoDB_20120810.GetItem", "Authorization": SIGV4_S3.replace(
            "/s3/", "/dynamodb/")}),
    ],
)
def test_everything_else_passes_through_untouched(method: str, path: str, query: str, headers: dict[str, str]) -> None:
    moto = _Moto([("Content-Type", "application/xml")])
    response = Client(ObjectResponseHeaders(moto)).open(path, method=method, query_string=query, headers=headers)
    assert "X-Content-Type-Options" not in response.headers and "Cache-Control" not in response.headers
    assert response.headers["Content-Type"] == "application/xml"
    assert not is_s3_object_read(moto.seen[-1])


def test_the_request_reaches_the_emulator_unchanged() -> None:
    moto = _Moto()
    path, query = _presigned_get("documents/rohil/app-1/ktp/v1.pdf", ResponseContentDisposition='inline; filename="a.pdf"')
    Client(ObjectResponseHeaders(moto)).get(path, query_string=query, headers={"Range": "bytes=0-99"})
    environ = moto.seen[-1]
    assert environ["PATH_INFO"] == path and environ["QUERY_STRING"] == query and environ["HTTP_RANGE"] == "bytes=0-99"


def test_in_front_of_moto_an_object_read_gets_the_headers_and_a_listing_does_not() -> None:
    """The same middleware in front of moto's own WSGI dispatcher (in-process, no socket)."""
    import uuid

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    client = Client(ObjectResponseHeaders(DomainDispatcherApplication(create_backend_app)))
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1")
    bucket = f"silastri-headers-{uuid.uuid4().hex[:12]}"

    def signed(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
        request = AWSRequest(method=method, url=ENDPOINT + path, data=body, headers=headers or {})
        SigV4Auth(session.get_credentials(), "s3", "us-east-1").add_auth(request)
        return client.open(path, method=method, data=body, headers=dict(request.headers))

    assert signed("PUT", f"/{bucket}").status_code == 200
    assert signed("PUT", f"/{bucket}/documents/a.pdf", b"%PDF-1.7 x", {"Content-Type": "application/pdf"}).status_code == 200
    url = session.client("s3", endpoint_url=ENDPOINT).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "documents/a.pdf"}, ExpiresIn=300)
    parts = urlsplit(url)
    served = client.get(parts.path, query_string=parts.query)
    assert served.status_code == 200 and served.data == b"%PDF-1.7 x"
    assert _headers(served, "X-Content-Type-Options") == ["nosniff"]
    assert _headers(served, "Cache-Control") == ["private, no-store"]
    head = signed("HEAD", f"/{bucket}/documents/a.pdf")
    assert head.status_code == 200 and _headers(head, "X-Content-Type-Options") == ["nosniff"]
    listing = signed("GET", f"/{bucket}?list-type=2")
    assert listing.status_code == 200 and "X-Content-Type-Options" not in listing.headers
