"""Faster paths through moto for the local runtime, giving the same answers (issue 12: a fast local runtime).

Profiles of whole journeys on the local stack (py-spy, GIL samples) put ~25% of the stack's CPU in moto's generic
response serializer for DynamoDB answers: for every AttributeValue it tries each of the ten members under up to
six key aliases. `dynamodb_serialized` writes the same JSON straight from the output shape for the data-plane
operations, whose results moto already builds as plain dicts in wire names; anything else (errors, objects,
unexpected keys, response transformers) takes moto's own serializer. `method_names` caches moto's per-request
`inspect.getmembers` of the handler class.

`InProcessTransport`: every SDK call of this process to the emulator crossed loopback HTTP, and moto's werkzeug
server closes each connection after one answer ("Connection: close"), so each call paid a TCP connect, a new
server thread, HTTP writing and parsing on both sides (~1 ms of CPU of ~3 ms for a small GetItem). botocore still
builds, signs and serialises every request and parses every answer exactly as on the wire; only the socket is
replaced: the request is handed to the emulator's WSGI application (the same middleware chain the server runs,
durability journal included) in the calling thread, with the environ werkzeug's server would have built.
Presigned URLs (browsers, the journey's uploads) still go over HTTP to the server.

Every patch here is installed by `moto_server.install_patches` and pinned by tests/contract/test_moto_speed.py,
which checks the fast answers against moto's own serializer."""

from __future__ import annotations

import base64
import copy
import functools
import io
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from email.utils import formatdate
from enum import Enum
from typing import Any
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

#: DynamoDB operations whose results are plain dicts in wire names (moto's `DynamoResult`/`ActionResult`);
#: DeleteItem is not one of them (its answer carries a key outside the shape, which moto's serializer drops)
FAST_OPERATIONS = frozenset({
    "GetItem", "PutItem", "UpdateItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem", "TransactGetItems",
    "TransactWriteItems",
})

_ORIGINALS: dict[str, Any] = {}
#: when set, every fast answer is compared with moto's own: "<operation>: same" or the difference is appended
verify_against_moto: list[str] | None = None


class _Fallback(Exception):
    """The value is not what the fast path knows how to write: moto's serializer answers instead."""


def _structure_members(shape: Any) -> tuple[frozenset[str], tuple[tuple[str, str, Any], ...]]:
    cached = getattr(shape, "_silastri_members", None)
    if cached is None:
        members = tuple((name, member.serialization.get("name", name), member)
                        for name, member in shape.members.items())
        cached = (frozenset(shape.members), members)
        shape._silastri_members = cached
    return cached  # type: ignore[no-any-return]


#: AttributeValue members whose wire value is the stored value itself (strings and booleans)
_PLAIN_ATTRIBUTE_KINDS = frozenset({"S", "N", "BOOL", "NULL"})


def _encode_attribute_value(value: Any, shape: Any) -> Any:
    """A DynamoDB AttributeValue ({"S": "x"}, {"M": {...}}, ...) as moto writes it; strings, numbers and booleans
    pass as they are, maps and lists recursively, anything else through the general `_encode`."""
    if type(value) is dict and len(value) == 1:
        (kind, item), = value.items()
        if kind in _PLAIN_ATTRIBUTE_KINDS and type(item) in (str, bool):
            return value
        if kind == "M" and type(item) is dict:
            return {"M": {key: _encode_attribute_value(member, shape) for key, member in item.items()
                          if member is not None or _fallback()}}
        if kind == "L" and type(item) is list:
            return {"L": [_encode_attribute_value(member, shape) if member is not None else _fallback()
                          for member in item]}
    return _encode(value, shape, plain=True)


def _fallback() -> Any:
    raise _Fallback


def _encode(value: Any, shape: Any, plain: bool = False) -> Any:
    """`value` written as moto's JSON serializer writes a member of `shape` (raises _Fallback when unsure)."""
    kind = shape.type_name
    if kind == "structure" and not plain and shape.name == "AttributeValue":
        return _encode_attribute_value(value, shape)
    if kind == "structure":
        if type(value) is not dict or getattr(shape, "is_document_type", False):
            raise _Fallback
        names, members = _structure_members(shape)
        if not value.keys() <= names:  # moto would look for aliases of the missing members among the others
            raise _Fallback
        out = {}
        for name, wire_name, member in members:
            item = value.get(name)
            if item is not None:
                out[wire_name] = _encode(item, member)
        return out
    if kind == "string":
        if type(value) is str:
            return value
        if isinstance(value, Enum):
            value = value.value
        return str(value) if value not in [None, {}, []] else value
    if kind == "map":
        if type(value) is not dict:
            raise _Fallback
        value_shape = shape.value
        out = {}
        for key, item in value.items():
            if item is None:
                raise _Fallback
            out[key] = _encode(item, value_shape)
        return out
    if kind == "list":
        if type(value) is not list:
            raise _Fallback
        member = shape.member
        items = []
        for item in value:
            if item is None:
                raise _Fallback
            items.append(_encode(item, member))
        return items
    if kind == "boolean":
        return value
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("float", "double"):
        return float(value)
    if kind == "blob":
        if isinstance(value, str):
            value = value.encode("utf-8")
        return base64.b64encode(value).strip().decode("utf-8")
    if kind == "timestamp":
        from moto.core.serialize import TimestampSerializer

        wrapper: dict[str, Any] = {}
        TimestampSerializer(TimestampSerializer.TIMESTAMP_FORMAT_UNIX).serialize(wrapper, value, shape, "t")
        return wrapper["t"]
    raise _Fallback


def dynamodb_serialized(self: Any, action_result: Any) -> tuple[int, dict[str, str], str]:
    """`BaseResponse.serialized` for moto's DynamoHandler: the data-plane answers written from the output shape."""
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoResult

    original: Callable[..., tuple[int, dict[str, str], str]] = _ORIGINALS["dynamodb_serialized"]
    result = action_result.result
    if (type(action_result) not in (ActionResult, DynamoResult) or type(result) is not dict
            or getattr(self, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None)):
        return original(self, action_result)
    from moto.core.utils import get_service_model

    service_model = get_service_model(self.boto3_service_name)
    operation = self._get_action()
    if operation not in FAST_OPERATIONS or self.determine_response_protocol(service_model) != "json":
        return original(self, action_result)
    operation_model = service_model.operation_model(operation)
    try:
        body = json.dumps(_encode(result, operation_model.output_shape))
    except _Fallback:
        return original(self, action_result)
    status = int(operation_model.http.get("responseCode", 200))
    headers = {"Content-Type": f"application/x-amz-json-{service_model.metadata.get('jsonVersion', '1.0')}"}
    headers.update(self.response_headers)
    if verify_against_moto is not None:
        expected = original(self, action_result)
        same = (expected[0], expected[1], json.loads(expected[2])) == (status, headers, json.loads(body))
        verify_against_moto.append(f"{operation}: same" if same else
                                   f"{operation}: moto {expected!r} != fast {(status, headers, body)!r}")
    return status, headers, body


@functools.cache
def _method_names(clazz: type) -> list[str]:
    return list(_ORIGINALS["method_names_from_class"](clazz))


def method_names(clazz: Any) -> list[str]:
    """moto's `method_names_from_class` (an `inspect.getmembers` of the handler class on every request), once per
    class: handler classes do not change while the emulator runs."""
    return _method_names(clazz) if isinstance(clazz, type) else list(_ORIGINALS["method_names_from_class"](clazz))


def _copy_node(node: Any, memo: dict[int, Any]) -> Any:
    """`copy.deepcopy` of a node of moto's DynamoDB expression AST (plain objects: no slots, no copy hooks)."""
    found = memo.get(id(node))
    if found is not None:
        return found
    new = object.__new__(type(node))
    memo[id(node)] = new
    state = new.__dict__
    for key, value in node.__dict__.items():
        state[key] = _copy_value(value, memo)
    return new


def _copy_value(value: Any, memo: dict[int, Any]) -> Any:
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if isinstance(value, _NODE_TYPES):
        return _copy_node(value, memo)
    if kind is list:
        found = memo.get(id(value))
        if found is None:
            found = memo[id(value)] = []
            found.extend(_copy_value(item, memo) for item in value)
        return found
    return copy.deepcopy(value, memo)


_ATOMIC = frozenset({str, int, float, bool, type(None), bytes})
_NODE_TYPES: tuple[type, ...] = ()


def ast_deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """`copy.deepcopy` for moto's DynamoDB validators: the same copy of an expression's AST, built directly rather
    than through `__reduce_ex__` for every node (moto copies each UpdateItem's AST before validating it: ~10% of
    the local stack's CPU with the generic copy). Anything else goes to `copy.deepcopy`."""
    memo = {} if memo is None else memo
    if isinstance(value, _NODE_TYPES):
        return _copy_node(value, memo)
    return copy.deepcopy(value, memo)


# --------------------------------------------------------------------------- Step Functions


_PARSE_TREES: dict[str, Any] = {}
_PARSE_LOCK = threading.Lock()


def parse_asl(definition: str) -> tuple[Any, Any]:
    """moto's `AmazonStateLanguageParser.parse` with the ANTLR parse tree of each definition kept: every execution
    re-lexed and re-parsed the whole definition (~85 ms of CPU per run here). The tree is only read afterwards;
    the evaluation components, which hold each run's state (retry counters...), are still built fresh for every
    call by moto's Preprocessor. A definition with syntax errors is not kept (moto raises as before)."""
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    tree = _PARSE_TREES.get(definition)
    if tree is None:
        program, tree = _ORIGINALS["asl_parse"](definition)
        with _PARSE_LOCK:
            if len(_PARSE_TREES) > 64:  # state machines are few; keep the cache bounded anyway
                _PARSE_TREES.clear()
            _PARSE_TREES[definition] = tree
        return program, tree
    return Preprocessor().visit(tree), tree


# --------------------------------------------------------------------------- in-process transport

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _latin1(value: str) -> str:
    """werkzeug's `_wsgi_encoding_dance`: a str as WSGI carries it (UTF-8 bytes read as Latin-1)."""
    return value.encode("utf-8").decode("latin-1")


class InProcessTransport:
    """Answers botocore requests addressed to registered `host:port`s by calling a WSGI app in this thread.

    Installed process-wide over `botocore.httpsession.URLLib3Session.send` (every botocore client's sender: boto3,
    pynamodb, moto's Step Functions interpreter); a request to any other address goes over the network as before."""

    def __init__(self) -> None:
        self._routes: dict[str, tuple[WSGIApp, str, str]] = {}
        self._lock = threading.Lock()

    def register(self, netloc: str, app: WSGIApp, server_name: str, server_port: int) -> None:
        with self._lock:
            self._routes = {**self._routes, netloc: (app, server_name, str(server_port))}

    def unregister(self, app: WSGIApp) -> None:
        with self._lock:
            self._routes = {k: v for k, v in self._routes.items() if v[0] is not app}

    def route(self, url: str) -> tuple[WSGIApp, str, str] | None:
        if not self._routes:
            return None
        return self._routes.get(urlsplit(url).netloc)

    def send(self, request: Any, target: tuple[WSGIApp, str, str]) -> Any:
        """Answer a botocore `AWSPreparedRequest` with the app: a botocore `AWSResponse`."""
        from botocore.awsrequest import AWSResponse
        from moto.core.botocore_stubber import MockRawResponse
        from moto.core.request import (
            PRESERVED_HEADER_NAMES_ENVIRON_KEY,
            environ_key_for_header,
            should_preserve_original_header_name,
        )
        from urllib3 import HTTPHeaderDict

        app, server_name, server_port = target
        url = urlsplit(request.url)
        body = request.body
        if body is None:
            body = b""
        elif hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode("utf-8")
        target_path = url.path or "/"
        raw_uri = target_path + (f"?{url.query}" if url.query else "")
        environ: dict[str, Any] = {
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False, "SERVER_SOFTWARE": "silastri-in-process", "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "", "PATH_INFO": _latin1(unquote(target_path)), "QUERY_STRING": _latin1(url.query),
            "REQUEST_URI": _latin1(raw_uri), "RAW_URI": _latin1(raw_uri), "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": 0, "SERVER_NAME": server_name, "SERVER_PORT": server_port, "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": url.netloc,
        }
        names: dict[str, str] = {}
        chunked = False
        for name, value in request.headers.items():
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            value = value.replace("\r\n", "")
            if name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            if "_" in name:  # werkzeug drops these; moto keeps S3 metadata names with underscores
                if should_preserve_original_header_name(name):
                    key = environ_key_for_header(name)
                    names.setdefault(key, name)
                    environ[key] = f"{environ[key]},{value}" if key in environ else value
                continue
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = f"HTTP_{key}"
                if key in environ and key != "HTTP_HOST":
                    value = f"{environ[key]},{value}"
            environ[key] = value
        environ.setdefault("HTTP_ACCEPT_ENCODING", "identity")  # what http.client adds
        if chunked:
            environ["wsgi.input_terminated"] = True
        elif body and "CONTENT_LENGTH" not in environ:
            environ["CONTENT_LENGTH"] = str(len(body))
        environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = names
        status, headers, payload = _run(app, environ)
        code = int(status.split(None, 1)[0])
        if request.method == "HEAD" or 100 <= code < 200 or code in (204, 304):
            payload = b""
        response_headers = HTTPHeaderDict()
        for key, value in headers:
            response_headers.add(key, value)
        if "date" not in response_headers:
            response_headers["Date"] = formatdate(usegmt=True)  # as the server adds it
        return AWSResponse(request.url, code, response_headers, MockRawResponse(payload))


def _run(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app to completion as werkzeug's server does: (status line, headers, body); an exception before
    the answer started becomes werkzeug's 500 (logged)."""
    from werkzeug.exceptions import InternalServerError

    from .durability import _call

    try:
        return _call(app, environ)
    except Exception:
        log.exception("Error on request %s %s", environ.get("REQUEST_METHOD"), environ.get("RAW_URI"))
        return _call(InternalServerError(), environ)


TRANSPORT = InProcessTransport()


def _send(self: Any, request: Any) -> Any:
    """`URLLib3Session.send`, answering requests to a registered emulator in this process."""
    target = TRANSPORT.route(request.url)
    if target is None:
        return _ORIGINALS["urllib3_send"](self, request)
    return TRANSPORT.send(request, target)


# --------------------------------------------------------------------------- install


def install() -> None:
    """Install the fast paths (idempotent; call under moto_server's patch lock)."""
    from botocore.httpsession import URLLib3Session
    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler

    if "urllib3_send" not in _ORIGINALS:
        _ORIGINALS["urllib3_send"] = URLLib3Session.send
        URLLib3Session.send = _send  # type: ignore[method-assign]

    if "dynamodb_serialized" not in _ORIGINALS:
        _ORIGINALS["dynamodb_serialized"] = DynamoHandler.serialized
        DynamoHandler.serialized = dynamodb_serialized  # type: ignore[method-assign]
    if "method_names_from_class" not in _ORIGINALS:
        _ORIGINALS["method_names_from_class"] = responses.method_names_from_class
        responses.method_names_from_class = method_names  # type: ignore[assignment]
    if "asl_parse" not in _ORIGINALS:
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

        _ORIGINALS["asl_parse"] = AmazonStateLanguageParser.parse
        AmazonStateLanguageParser.parse = staticmethod(parse_asl)  # type: ignore[method-assign]
    if "validators_deepcopy" not in _ORIGINALS:
        global _NODE_TYPES
        from moto.dynamodb.parsing import ast_nodes, validators

        _NODE_TYPES = (ast_nodes.Node,)  # type: ignore[attr-defined]
        _ORIGINALS["validators_deepcopy"] = validators.deepcopy
        validators.deepcopy = ast_deepcopy  # type: ignore[assignment]


def uninstall() -> None:
    """Restore moto's own paths."""
    from botocore.httpsession import URLLib3Session
    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler

    if "urllib3_send" in _ORIGINALS:
        URLLib3Session.send = _ORIGINALS.pop("urllib3_send")  # type: ignore[method-assign]

    if "dynamodb_serialized" in _ORIGINALS:
        original = _ORIGINALS.pop("dynamodb_serialized")
        if "serialized" in vars(DynamoHandler) and DynamoHandler.serialized is dynamodb_serialized:
            del DynamoHandler.serialized  # the class inherited it from BaseResponse
        if DynamoHandler.serialized is not original:
            DynamoHandler.serialized = original  # type: ignore[method-assign]
    if "method_names_from_class" in _ORIGINALS:
        responses.method_names_from_class = _ORIGINALS.pop("method_names_from_class")
        _method_names.cache_clear()
    if "asl_parse" in _ORIGINALS:
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

        AmazonStateLanguageParser.parse = staticmethod(_ORIGINALS.pop("asl_parse"))  # type: ignore[method-assign]
        _PARSE_TREES.clear()
    if "validators_deepcopy" in _ORIGINALS:
        from moto.dynamodb.parsing import validators

        validators.deepcopy = _ORIGINALS.pop("validators_deepcopy")
