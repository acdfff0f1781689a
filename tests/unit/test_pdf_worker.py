"""The pre-started PDF check workers (silastri.adapters.pdf_worker): the same verdicts as `check_pdf`, the same
limits (each parse still a forked child of the worker), and a worker that fails is replaced without losing the
verdict."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pdf_corpus  # tests/fixtures (tests/conftest.py puts it on the path)
import pytest
from silastri.adapters import pdf_worker
from silastri.adapters.pdf_check import PdfLimits, check_pdf
from silastri.adapters.pdf_worker import PdfWorkerPool, check_upload


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return pdf_corpus.build_corpus(tmp_path_factory.mktemp("pdf-corpus"))


@pytest.fixture
def pool() -> Iterator[PdfWorkerPool]:
    workers = PdfWorkerPool(size=2)
    yield workers
    workers.close()


def test_every_corpus_file_gets_the_verdict_check_pdf_gives(pool: PdfWorkerPool, corpus: dict[str, Path]) -> None:
    cases = sorted(pdf_corpus.EXPECTED)
    with ThreadPoolExecutor(max_workers=4) as threads:  # the API server's threads share the pool
        verdicts = list(threads.map(lambda case: pool.check(corpus[case].read_bytes(), PdfLimits()), cases))
    assert [v.reason_code for v in verdicts] == [pdf_corpus.EXPECTED[case] for case in cases]
    good = corpus["good"].read_bytes()
    assert pool.check(good, PdfLimits()) == check_pdf(good)  # pages, size and digest too
    assert pool.replaced == 0


def test_the_limits_still_hold_in_the_worker(pool: PdfWorkerPool, corpus: dict[str, Path]) -> None:
    bomb = corpus["decompression-bomb"].read_bytes()
    assert pool.check(bomb, PdfLimits(parse_seconds=0.1, max_stream_bytes=4 * 1024**3)).reason_code == "parse-timeout"
    big = pdf_corpus.bomb_stream(64 * 1024 * 1024)
    data = pdf_corpus.raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(big)
        + big + b"\nendstream",
    ])
    assert pool.check(data, PdfLimits(parse_memory_mb=16)).reason_code == "parse-memory"
    assert pool.replaced == 0  # the parse child paid, not the worker


def test_a_dead_worker_is_replaced_and_the_check_still_answered(pool: PdfWorkerPool, corpus: dict[str, Path]) -> None:
    for worker in list(pool._workers):
        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.wait()
    good = corpus["good"].read_bytes()
    assert pool.check(good, PdfLimits()).accepted
    assert pool.replaced == 1
    assert pool.check(corpus["encrypted"].read_bytes(), PdfLimits()).reason_code == "encrypted"
    assert pool.check(good, PdfLimits()).accepted and pool.replaced == 2  # the second killed worker, in turn
    assert pool.check(good, PdfLimits()).accepted and pool.replaced == 2  # the replacements serve


def test_a_worker_that_does_not_answer_in_time_is_killed_and_replaced(
        pool: PdfWorkerPool, corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    before = {worker.process.pid for worker in pool._workers}
    monkeypatch.setattr(pdf_worker, "ANSWER_MARGIN_SECONDS", -4.999)  # 1 ms to answer
    verdict = pool.check(corpus["javascript-open-action"].read_bytes(), PdfLimits(parse_seconds=5.0))
    assert verdict.reason_code == pdf_corpus.EXPECTED["javascript-open-action"]  # checked here instead
    assert pool.replaced == 1
    gone = before - {worker.process.pid for worker in pool._workers}
    assert len(gone) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(gone.pop(), os.WNOHANG)  # killed and reaped


def test_check_upload_uses_the_installed_pool_else_checks_here(pool: PdfWorkerPool, corpus: dict[str, Path]) -> None:
    data = corpus["good"].read_bytes()
    assert pdf_worker.installed() is None
    assert check_upload(data, PdfLimits()).accepted  # no pool: check_pdf in this process
    checks = sum(worker.checks for worker in pool._workers)
    pdf_worker.install(pool)
    try:
        assert check_upload(data, PdfLimits()).accepted
    finally:
        pdf_worker.install(None)
    assert sum(worker.checks for worker in pool._workers) == checks + 1
    pool.close()
    assert pool.check(data, PdfLimits()).accepted  # a closed pool checks in the caller
