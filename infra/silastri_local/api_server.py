"""The Chalice app on a loopback port: chalice local's gateway, on a server that holds many connections.

`chalice.local.create_local_server` listens with socketserver's default backlog of 5,
so a burst of 20–50 concurrent clients gets connections reset, and it reports every
client as ``127.0.0.1``. `create_api_server` keeps everything chalice local gives the
app (its API Gateway emulation: routing, binary and multipart bodies, cookies, headers,
CORS preflight) and changes two things:

* a thread per connection with a listen backlog of `LISTEN_BACKLOG` and an idle timeout;
* ``app.current_request.context["identity"]["sourceIp"]`` is the connecting client's
  address, as API Gateway reports it (per-client limits depend on it);
* a path no route matches goes to the app's catch-all route ``/{proxy+}`` when it has one,
  as API Gateway's proxy resource does on AWS (template.yaml), instead of chalice local's
  ``403 {"message": "Missing Authentication Token"}``.
"""

from __future__ import annotations

import socket
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LambdaEventConverter,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    MatchResult,
    RouteMatcher,
)

from .moto_server import running
from .resources import PREFIX

__all__ = ["IDLE_TIMEOUT_SECONDS", "LISTEN_BACKLOG", "ThreadedApiServer", "create_api_server"]

#: Pending connections the kernel queues before the server accepts them.
LISTEN_BACKLOG = max(128, socket.SOMAXCONN)
#: An idle keep-alive connection is closed after this many seconds (its thread ends).
IDLE_TIMEOUT_SECONDS = 120
#: the function the API's handler is, on AWS (its AWS calls are made under this function's role)
API_FUNCTION_NAME = f"{PREFIX}-ApiFunction"


class ThreadedApiServer(ThreadingMixIn, HTTPServer):
    """HTTPServer with one daemon thread per connection and a large listen backlog."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG


#: The app's catch-all route, as API Gateway's proxy resource names it.
CATCH_ALL_ROUTE = "/{proxy+}"


class _CatchAllRouteMatcher(RouteMatcher):
    """chalice local's matcher; a path that matches no route goes to `CATCH_ALL_ROUTE` (API Gateway's proxy)."""

    def match_route(self, url: str) -> MatchResult:
        try:
            return super().match_route(url)
        except ValueError:
            if CATCH_ALL_ROUTE not in self.route_urls:
                raise
            path, _, query = url.partition("?")
            return MatchResult(CATCH_ALL_ROUTE, {"proxy": path.lstrip("/")}, parse_qs(query, keep_blank_values=True))


class _ClientGateway(LocalGateway):
    """chalice local's API Gateway emulation, reporting the real client address as ``sourceIp``."""

    def __init__(self, app_object: Chalice, config: Config, source_ip: str) -> None:
        super().__init__(app_object, config)
        self._source_ip = source_ip
        self.event_converter = LambdaEventConverter(_CatchAllRouteMatcher(list(app_object.routes)),
                                                    app_object.api.binary_types)

    def _generate_lambda_event(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        event = super()._generate_lambda_event(method, path, headers, body)
        event["requestContext"]["identity"]["sourceIp"] = self._source_ip
        return event

    def handle_request(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> Any:
        with running(API_FUNCTION_NAME):  # the API's AWS calls are the API function's
            return super().handle_request(method, path, headers, body)


class _ApiRequestHandler(ChaliceRequestHandler):
    timeout = IDLE_TIMEOUT_SECONDS
    # TCP_NODELAY (socketserver's switch): an answer goes out as two writes (headers, then body); with Nagle's
    # algorithm the body waited for the client's delayed ACK of the headers on a kept connection — ~40 ms
    # added to every request (a GET of the catalog: 43 ms wall for 3 ms of CPU)
    disable_nagle_algorithm = True

    def __init__(self, request: Any, client_address: Any, server: HTTPServer, app_object: Chalice,
                 config: Config) -> None:
        self.local_gateway = _ClientGateway(app_object, config, str(client_address[0]))
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)


def create_api_server(app_obj: Chalice, config: Config, host: str, port: int) -> LocalDevServer:
    """A `LocalDevServer` for ``app_obj`` on ``host:port`` (not yet serving: call ``serve_forever``).

    Raises OSError when the port cannot be bound.
    """
    # What chalice.local.create_local_server does to the app object, so that it behaves as under `chalice local`.
    # (Once only: a second stack in the same process reuses the converted object.)
    if not isinstance(app_obj, CustomLocalChalice):
        CustomLocalChalice.__bases__ = (LocalChalice, app_obj.__class__)
        app_obj.__class__ = CustomLocalChalice
    return LocalDevServer(app_obj, config, host, port, handler_cls=_ApiRequestHandler,
                          server_cls=ThreadedApiServer)
