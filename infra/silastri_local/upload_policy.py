"""S3 presigned POST policy enforcement in front of moto (which accepts any upload).

`PresignedPostPolicy` is WSGI middleware. For a ``multipart/form-data`` POST to a
bucket (path style ``/bucket`` or virtual-host style ``bucket.localhost`` /
``bucket.s3....``) it reads the form, checks the SigV4 signature of the policy, its
expiration and every condition as S3 does, and either answers with S3's error or
hands moto an identical copy of the body. Every other request passes straight through.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import html
import ipaddress
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder
from werkzeug.wsgi import get_input_stream

__all__ = [
    "DEFAULT_CREDENTIALS",
    "PolicyViolation",
    "PostForm",
    "PresignedPostPolicy",
    "bucket_for_post",
    "check_post_policy",
    "read_post_form",
]

#: Access key → secret key pairs known locally: moto's test credentials and the
#: ones moto's own Step Functions interpreter signs with.
DEFAULT_CREDENTIALS: Mapping[str, str] = {"testing": "testing", "ak": "sk"}

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_CHUNK = 64 * 1024
_SPOOL_IN_MEMORY = 8 * 1024 * 1024
_MAX_FIELD_BYTES = 64 * 1024
# Form fields that S3 never requires a policy condition for.
_UNCONDITIONED = {"policy", "x-amz-signature", "file", "awsaccesskeyid", "signature"}
_VIRTUAL_HOST_RE = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.\-]*?)\.(?:s3[.\-].*|localhost)$")


class PolicyViolation(Exception):
    """An S3 error response: HTTP status, S3 error code, message, extra XML elements."""

    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def to_xml(self) -> bytes:
        extra = "".join(f"<{k}>{html.escape(v, quote=False)}</{k}>" for k, v in self.extra.items())
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{html.escape(self.code)}</Code><Message>{html.escape(self.message, quote=False)}</Message>"
            f"{extra}<RequestId>silastri-local</RequestId></Error>"
        ).encode()


def _denied(reason: str) -> PolicyViolation:
    return PolicyViolation(403, "AccessDenied", f"Invalid according to Policy: {reason}")


@dataclass
class PostForm:
    """The parts of an S3 POST form that matter for the policy (fields before the file, in order)."""

    fields: dict[str, str] = field(default_factory=dict)  # lower-cased names
    names: dict[str, str] = field(default_factory=dict)  # lower-cased → as sent
    file_size: int | None = None
    filename: str | None = None


# --------------------------------------------------------------------------- request parsing


def bucket_for_post(environ: Mapping[str, Any]) -> str | None:
    """The bucket an S3 POST-object request targets, or None if it is not one."""
    path = environ.get("PATH_INFO", "") or "/"
    host = (environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "").lower()
    hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    match = _VIRTUAL_HOST_RE.match(hostname)
    if match and not _is_ip(hostname):
        return match.group("bucket") if path in ("", "/") else None
    segments = [s for s in path.split("/") if s]
    if len(segments) == 1 and not environ.get("QUERY_STRING"):
        return segments[0]
    return None


def _is_ip(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname.strip("[]"))
    except ValueError:
        return False
    return True


def read_post_form(stream: IO[bytes], boundary: bytes, sink: IO[bytes]) -> PostForm:
    """Decode the multipart body from ``stream``, copying every byte to ``sink``.

    S3 ignores fields after the file part; so does this.
    """
    decoder = MultipartDecoder(boundary, max_form_memory_size=None)
    form = PostForm()
    current: Field | File | None = None
    value = bytearray()
    in_file = False  # inside the (first) file part: count bytes, keep none

    def on_event(event: Field | File | Data) -> None:
        nonlocal current, in_file
        if isinstance(event, (Field, File)):
            current, in_file = event, False
            value.clear()
            if isinstance(event, File) and form.file_size is None:
                form.file_size, form.filename, in_file = 0, event.filename, True
        elif in_file:
            form.file_size = (form.file_size or 0) + len(event.data)
        elif current is not None and form.file_size is None:
            value.extend(event.data)
            if len(value) > _MAX_FIELD_BYTES:
                raise PolicyViolation(
                    400,
                    "MaxPostPreDataLengthExceeded",
                    "Your POST request fields preceding the upload file were too large.",
                )
            if not event.more_data:
                if current.name.lower() == "file":  # a plain text part named "file" is the body
                    form.file_size = len(value)
                else:
                    form.fields[current.name.lower()] = value.decode("utf-8", "replace")
                    form.names[current.name.lower()] = current.name

    while True:
        chunk = stream.read(_CHUNK)
        sink.write(chunk)
        decoder.receive_data(chunk or None)
        event = decoder.next_event()
        while isinstance(event, (Field, File, Data)):
            on_event(event)
            event = decoder.next_event()
        if not chunk or isinstance(event, Epilogue):
            # Copy whatever follows the closing boundary, so that moto sees the identical body.
            rest = stream.read(_CHUNK)
            while rest:
                sink.write(rest)
                rest = stream.read(_CHUNK)
            return form


# --------------------------------------------------------------------------- checks


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _parse_time(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _check_signature(form: PostForm, credentials: Mapping[str, str]) -> None:
    algorithm = form.fields.get("x-amz-algorithm")
    if algorithm != "AWS4-HMAC-SHA256":
        raise PolicyViolation(
            400, "InvalidArgument", "Locally only AWS4-HMAC-SHA256 (SigV4) presigned POSTs are accepted."
        )
    credential = form.fields.get("x-amz-credential", "")
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or "x-amz-signature" not in form.fields:
        raise PolicyViolation(400, "InvalidArgument", "POST requires x-amz-credential and x-amz-signature.")
    access_key, date, region, service, _ = parts
    secret = credentials.get(access_key)
    if secret is None:
        raise PolicyViolation(
            403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
        )
    if not form.fields.get("x-amz-date", "").startswith(date):
        raise PolicyViolation(
            400, "AuthorizationQueryParametersError", "x-amz-date does not match the credential scope date."
        )
    expected = hmac.new(
        _signing_key(secret, date, region, service), form.fields["policy"].encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, form.fields["x-amz-signature"].lower()):
        raise PolicyViolation(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
        )


def _decode_policy(encoded: str) -> dict[str, Any]:
    try:
        policy = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise _denied("Policy could not be parsed as a valid JSON string.") from exc
    if not isinstance(policy, dict) or not isinstance(policy.get("conditions", []), list):
        raise _denied("Policy could not be parsed as a valid JSON string.")
    return policy


def _condition_text(condition: Any) -> str:
    return json.dumps(condition, separators=(", ", ": "))


def _check_conditions(policy: dict[str, Any], form: PostForm, bucket: str, file_size: int) -> None:
    values = dict(form.fields)
    values["bucket"] = bucket
    covered: set[str] = set()
    for condition in policy.get("conditions", []):
        if isinstance(condition, dict) and len(condition) == 1:
            ((name, expected),) = condition.items()
            shown: list[Any] = ["eq", f"${name}", expected]  # S3 reports it in this form
            op, name = "eq", str(name).lower()
        elif isinstance(condition, list) and len(condition) == 3:
            op = str(condition[0]).lower()
            if op == "content-length-range":
                low, high = int(condition[1]), int(condition[2])
                if file_size > high:
                    raise PolicyViolation(
                        400,
                        "EntityTooLarge",
                        "Your proposed upload exceeds the maximum allowed size",
                        ProposedSize=str(file_size),
                        MaxSizeAllowed=str(high),
                    )
                if file_size < low:
                    raise PolicyViolation(
                        400,
                        "EntityTooSmall",
                        "Your proposed upload is smaller than the minimum allowed size",
                        ProposedSize=str(file_size),
                        MinSizeAllowed=str(low),
                    )
                continue
            if op not in ("eq", "starts-with") or not str(condition[1]).startswith("$"):
                raise _denied(f"Policy Condition failed: {_condition_text(condition)}")
            name, expected, shown = str(condition[1])[1:].lower(), condition[2], condition
        else:
            raise _denied(f"Policy Condition failed: {_condition_text(condition)}")
        covered.add(name)
        actual = values.get(name)
        expected = str(expected)
        if op == "eq":
            ok = actual == expected
        elif name == "content-type" and actual is not None:
            # S3 checks each of a comma-separated list of content types.
            ok = all(part.strip().startswith(expected) for part in actual.split(","))
        else:
            ok = (actual or "").startswith(expected)
        if not ok:
            raise _denied(f"Policy Condition failed: {_condition_text(shown)}")
    extra = [
        form.names[name]
        for name in form.fields
        if name not in covered and name not in _UNCONDITIONED and not name.startswith("x-ignore-")
    ]
    if extra:
        raise _denied(f"Extra input fields: {', '.join(extra)}")


def check_post_policy(
    form: PostForm,
    bucket: str,
    credentials: Mapping[str, str],
    now: datetime.datetime | None = None,
) -> None:
    """Raise `PolicyViolation` unless S3 would accept this POST upload."""
    if "policy" not in form.fields:
        raise PolicyViolation(403, "AccessDenied", "Access Denied")
    if "key" not in form.fields:
        raise PolicyViolation(400, "InvalidArgument", "Bucket POST must contain a field named 'key'.")
    if form.file_size is None:
        raise PolicyViolation(400, "InvalidArgument", "POST requires exactly one file upload per request.")
    _check_signature(form, credentials)
    policy = _decode_policy(form.fields["policy"])
    expiration = policy.get("expiration")
    if not isinstance(expiration, str):
        raise _denied("Policy missing expiration.")
    try:
        expires = _parse_time(expiration)
    except ValueError as exc:
        raise _denied("Invalid Policy: Invalid 'expiration' value.") from exc
    if (now or datetime.datetime.now(datetime.UTC)) >= expires:
        raise _denied("Policy expired.")
    _check_conditions(policy, form, bucket, form.file_size)


# --------------------------------------------------------------------------- middleware


class PresignedPostPolicy:
    """WSGI middleware enforcing presigned POST policies before moto sees the upload.

    ``credentials`` maps access key ids to secret keys (locally they are known).
    ``clock`` returns the current UTC time (replaceable in tests).
    """

    def __init__(
        self,
        app: WSGIApp,
        credentials: Mapping[str, str] = DEFAULT_CREDENTIALS,
        clock: Callable[[], datetime.datetime] | None = None,
    ) -> None:
        self.app = app
        self.credentials = dict(credentials)
        self.clock = clock or (lambda: datetime.datetime.now(datetime.UTC))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        mimetype, options = parse_options_header(environ.get("CONTENT_TYPE", ""))
        bucket = bucket_for_post(environ) if mimetype == "multipart/form-data" else None
        if bucket is None or not options.get("boundary"):
            return self.app(environ, start_response)

        body: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 - handed to moto
        try:
            form = read_post_form(get_input_stream(environ), options["boundary"].encode(), body)
            check_post_policy(form, bucket, self.credentials, now=self.clock())
        except PolicyViolation as violation:
            body.close()
            payload = violation.to_xml()
            start_response(
                f"{violation.status} {_REASONS.get(violation.status, 'Error')}",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(payload)))],
            )
            return [payload]
        except BaseException:
            body.close()
            raise
        length = body.tell()
        body.seek(0)
        environ["wsgi.input"] = body
        environ["CONTENT_LENGTH"] = str(length)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ.pop("wsgi.input_terminated", None)
        return self.app(environ, start_response)


_REASONS = {400: "Bad Request", 403: "Forbidden"}
