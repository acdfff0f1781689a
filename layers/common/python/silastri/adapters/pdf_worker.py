"""Upload checks in small pre-started worker processes (the local runtime), instead of forking the caller.

``check_pdf`` isolates every parse in a forked child. Forking a small process is cheap; forking the local stack
(the emulator, the API server and every handler in one big process) cost ~250 ms per upload. A
:class:`PdfWorkerPool` keeps a few worker processes that import only the checker (pypdf, pydantic) and run
``check_pdf`` on request, so each parse is still a forked child of the worker under the same wall-clock
deadline (SIGKILL), ``RLIMIT_AS`` and ``RLIMIT_CPU`` limits: a hostile file can hang or exhaust only that child.
A worker that does not answer in time, dies or garbles its answer is killed and replaced, and that one check
runs with ``check_pdf`` in the caller instead, so a verdict is never lost to the worker.

``check_upload`` is what the upload service calls: the installed pool's check when there is one (the local
runtime installs it at start), else ``check_pdf`` (a Lambda function forks itself, which is small).

Protocol (the worker's stdin/stdout, binary): request = 4-byte big-endian length + JSON limits, 8-byte length +
the file; answer = 4-byte length + JSON verdict."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pdf_check import PdfLimits, PdfVerdict

#: seconds a worker may take beyond the check's own deadline (its start-up on first use, the fork, the answer)
ANSWER_MARGIN_SECONDS = 10.0


def check_upload(data: bytes, limits: PdfLimits) -> PdfVerdict:
    """The verdict on an uploaded file (see ``pdf_check.check_pdf``): through the installed worker pool when there
    is one, else ``check_pdf`` here. Never raises because of the file's content."""
    pool = _installed
    if pool is not None:
        return pool.check(data, limits)
    from .pdf_check import check_pdf

    return check_pdf(data, limits)


_installed: PdfWorkerPool | None = None


def install(pool: PdfWorkerPool | None) -> None:
    """Make `pool` the one ``check_upload`` uses (None: check in the caller again)."""
    global _installed
    _installed = pool


def installed() -> PdfWorkerPool | None:
    """The pool ``check_upload`` uses, if any."""
    return _installed


class _Worker:
    """One worker process and its pipes."""

    def __init__(self) -> None:
        layer = str(Path(__file__).resolve().parents[2])  # the directory that holds the silastri package
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([layer, *filter(None, [env.get("PYTHONPATH")])])
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-c", "from silastri.adapters.pdf_worker import serve; serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.requests: IO[bytes] = self.process.stdin
        self.answers: IO[bytes] = self.process.stdout
        self.checks = 0

    def ask(self, data: bytes, limits: PdfLimits) -> dict[str, Any]:
        """Send one check and wait for its answer; raises TimeoutError, EOFError or OSError when the worker fails."""
        header = limits.model_dump_json().encode()
        self.requests.write(struct.pack(">I", len(header)) + header + struct.pack(">Q", len(data)))
        self.requests.write(data)
        self.requests.flush()
        deadline = time.monotonic() + limits.parse_seconds + ANSWER_MARGIN_SECONDS
        size = struct.unpack(">I", self._read(4, deadline))[0]
        answer: dict[str, Any] = json.loads(self._read(size, deadline))
        self.checks += 1
        return answer

    def _read(self, size: int, deadline: float) -> bytes:
        fd = self.answers.fileno()
        chunks: list[bytes] = []
        missing = size
        while missing:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError("the PDF check worker did not answer in time")
            chunk = os.read(fd, min(missing, 1 << 20))
            if not chunk:
                raise EOFError("the PDF check worker ended")
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def stop(self) -> None:
        for stream in (self.requests, self.answers):
            with contextlib.suppress(OSError):
                stream.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class PdfWorkerPool:
    """`size` pre-started checker processes shared by the caller's threads (one check per worker at a time).

    ``check(data, limits)`` returns the same verdict ``check_pdf`` would. ``replaced`` counts workers that failed
    (timed out, died, answered nonsense) and were replaced. ``close()`` ends every worker."""

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self.replaced = 0
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._closed = False
        for _ in range(size):
            self._idle.put(self._new_worker())

    def _new_worker(self) -> _Worker:
        worker = _Worker()
        with self._lock:
            self._workers.append(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
        worker.stop()

    def check(self, data: bytes, limits: PdfLimits) -> PdfVerdict:
        """The verdict on `data` under `limits`, from a worker (or, when that worker fails, from ``check_pdf`` here,
        the failed worker replaced)."""
        from .pdf_check import PdfVerdict, check_pdf

        if self._closed:
            return check_pdf(data, limits)
        worker = self._idle.get()
        try:
            answer = worker.ask(data, limits)
            verdict = PdfVerdict.model_validate(answer)
        except (TimeoutError, EOFError, OSError, ValueError, struct.error):
            self._retire(worker)
            self.replaced += 1
            if not self._closed:
                self._idle.put(self._new_worker())
            return check_pdf(data, limits)
        if self._closed:
            self._retire(worker)
        else:
            self._idle.put(worker)
        return verdict

    def close(self) -> None:
        """End every worker (checks after this run in the caller)."""
        self._closed = True
        with self._lock:
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.stop()


def serve() -> None:
    """The worker's main loop: read checks from stdin, answer on stdout, until stdin closes."""
    from .pdf_check import PdfLimits, check_pdf

    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    answers = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # anything printed by accident goes to stderr, never into the answers
    sys.stdout = sys.stderr

    def read(size: int) -> bytes | None:
        chunks: list[bytes] = []
        while size:
            chunk = requests.read(size)
            if not chunk:
                return None
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    while True:
        head = read(4)
        header = read(struct.unpack(">I", head)[0]) if head else None
        length = read(8) if header is not None else None
        data = read(struct.unpack(">Q", length)[0]) if length is not None else None
        if header is None or data is None:
            return
        verdict = check_pdf(data, PdfLimits.model_validate_json(header))
        body = verdict.model_dump_json().encode()
        answers.write(struct.pack(">I", len(body)) + body)
