"""Headers the local S3 emulator adds to object reads, as the documents CDN does on AWS.

`ObjectResponseHeaders` is WSGI middleware for the moto server. A GET or HEAD of an S3 object (path style
``/bucket/key`` or virtual-host style ``bucket.localhost/key``, signed for S3 by header or query string, as
presigned links are) gets ``X-Content-Type-Options: nosniff`` (replacing any other value) and, when the response
has none, ``Cache-Control: private, no-store``. Every other request (other services, bucket listings, writes,
unsigned calls such as the Cognito JWKS document) passes through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

__all__ = ["CACHE_CONTROL", "ObjectResponseHeaders", "is_s3_object_read", "with_object_headers"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
CACHE_CONTROL = "private, no-store"

_READS = ("GET", "HEAD")
_VIRTUAL_HOST_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]*?\.(?:s3[.\-].*|localhost)$")
_SIGV4_SCOPE_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")


def _signed_for_s3(environ: dict[str, Any]) -> bool:
    """The request is signed for S3: SigV4 with an ``s3`` credential scope or SigV2, in a header or the query."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    if auth:
        if auth.startswith("AWS "):  # SigV2 header: only S3 still accepts it
            return True
        scope = _SIGV4_SCOPE_RE.search(auth)
        return scope is not None and scope.group(1).lower() == "s3"
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    credential = query.get("X-Amz-Credential", [""])[0]
    if credential:
        parts = credential.split("/")
        return len(parts) == 5 and parts[3].lower() == "s3" and parts[4] == "aws4_request"
    return "AWSAccessKeyId" in query and "Signature" in query  # SigV2 presigned S3 URL


def _object_key(environ: dict[str, Any]) -> str:
    """The object key the request addresses, or "" for a bucket (or the service) itself."""
    path = str(environ.get("PATH_INFO", ""))
    host = str(environ.get("HTTP_HOST", "")).lower().partition(":")[0]
    if _VIRTUAL_HOST_RE.match(host):
        return path.lstrip("/")
    parts = path.split("/", 2)  # "", bucket, key
    return parts[2] if len(parts) == 3 and parts[1] else ""


def is_s3_object_read(environ: dict[str, Any]) -> bool:
    """Whether ``environ`` is a GET or HEAD of an S3 object, signed for S3 (as the app's links are)."""
    return (str(environ.get("REQUEST_METHOD", "")).upper() in _READS and _signed_for_s3(environ)
            and bool(_object_key(environ)))


def with_object_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` with ``X-Content-Type-Options: nosniff`` (exactly once) and a ``Cache-Control`` if it had none."""
    kept = [(name, value) for name, value in headers if name.lower() != "x-content-type-options"]
    kept.append(("X-Content-Type-Options", "nosniff"))
    if not any(name.lower() == "cache-control" for name, _ in kept):
        kept.append(("Cache-Control", CACHE_CONTROL))
    return kept


class ObjectResponseHeaders:
    """WSGI middleware adding ``nosniff`` (and no shared caching) to the emulator's S3 object reads."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Answer through the wrapped app, adding the object headers when the request is an S3 object read."""
        if not is_s3_object_read(environ):
            return self.app(environ, start_response)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, with_object_headers(headers), exc_info)

        return self.app(environ, start)
