"""50 clients connect to the local API server at the same moment: every one is answered, none is reset."""

from __future__ import annotations

import socket
import threading

from silastri_local.stack_process import StackProcess

CLIENTS = 50


def _one_request(port: int, start: threading.Barrier, results: list[str], index: int) -> None:
    try:
        start.wait(timeout=30)
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(b"GET /api/catalog HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        results[index] = data.split(b"\r\n", 1)[0].decode(errors="replace") or "empty answer"
    except (ConnectionResetError, BrokenPipeError) as exc:
        results[index] = f"reset: {type(exc).__name__}"
    except OSError as exc:
        results[index] = f"error: {type(exc).__name__}: {exc}"


def test_50_concurrent_connections_are_all_answered_without_resets(tmp_path, row):
    stack = StackProcess(tmp_path / "data").start()
    try:
        results = [""] * CLIENTS
        start = threading.Barrier(CLIENTS)
        threads = [threading.Thread(target=_one_request, args=(stack.port, start, results, i)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        stack.stop()
    resets = sum(r.startswith("reset") or r == "empty answer" for r in results)
    answered = sum(r.startswith("HTTP/1.1 200") for r in results)
    others = sorted({r for r in results if not r.startswith("HTTP/1.1 200")})
    row("concurrent-connections", figure=f"{resets} resets, {answered}/{CLIENTS} answered 200 "
                                         f"({CLIENTS} connections opened at once)", met=resets == 0 and answered == CLIENTS)
    assert resets == 0, others
    assert answered == CLIENTS, others
