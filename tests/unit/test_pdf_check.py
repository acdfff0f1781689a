"""Tests for the PDF validation pipeline (silastri.adapters.pdf_check)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import random
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest
from silastri.adapters import pdf_check
from silastri.adapters.pdf_check import REASONS, PdfLimits, PdfVerdict, check_pdf, describe


def _load_corpus() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "fixtures" / "pdf_corpus.py"
    spec = importlib.util.spec_from_file_location("silastri_tests_pdf_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


pdf_corpus = _load_corpus()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return pdf_corpus.build_corpus(tmp_path_factory.mktemp("pdf-corpus"))


@pytest.mark.parametrize("case", sorted(pdf_corpus.EXPECTED))
def test_corpus_case_gets_expected_verdict(corpus: dict[str, Path], case: str) -> None:
    data = corpus[case].read_bytes()
    verdict = check_pdf(data)
    expected = pdf_corpus.EXPECTED[case]
    assert verdict.reason_code == expected
    assert verdict.accepted is (expected is None)
    assert verdict.size_bytes == len(data)
    if expected is None:
        assert verdict.message_id is None and verdict.message_en is None
        assert verdict.pages is not None and verdict.pages >= 1
    else:
        assert (verdict.message_id, verdict.message_en) == describe(expected)


def test_corpus_covers_every_reason_code_that_a_file_can_cause() -> None:
    child_failures = {"parse-timeout", "parse-memory"}
    assert set(REASONS) - child_failures == {c for c in pdf_corpus.EXPECTED.values() if c is not None}


def test_good_pdf_reports_pages_and_sha256(corpus: dict[str, Path]) -> None:
    data = corpus["good"].read_bytes()
    verdict = check_pdf(data)
    assert verdict == PdfVerdict(
        accepted=True, reason_code=None, message_id=None, message_en=None,
        pages=2, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
    )


def test_sha256_is_reported_for_rejected_files_too() -> None:
    data = b"PK\x03\x04 not a pdf at all"
    verdict = check_pdf(data)
    assert verdict.reason_code == "not-pdf"
    assert verdict.sha256 == hashlib.sha256(data).hexdigest()
    assert check_pdf(b"").sha256 == hashlib.sha256(b"").hexdigest()


def test_size_limit_is_inclusive(corpus: dict[str, Path]) -> None:
    data = corpus["good"].read_bytes()
    assert check_pdf(data, PdfLimits(max_bytes=len(data))).accepted
    verdict = check_pdf(data, PdfLimits(max_bytes=len(data) - 1))
    assert verdict.reason_code == "too-large"
    assert "KB" in (verdict.message_id or "")


def test_page_limit_is_inclusive(corpus: dict[str, Path]) -> None:
    data = corpus["good"].read_bytes()
    assert check_pdf(data, PdfLimits(max_pages=2)).accepted
    verdict = check_pdf(data, PdfLimits(max_pages=1))
    assert (verdict.reason_code, verdict.pages) == ("too-many-pages", 2)
    assert "1 halaman" in (verdict.message_id or "")


def test_small_stream_budget_turns_normal_content_into_a_bomb(corpus: dict[str, Path]) -> None:
    data = corpus["good"].read_bytes()
    assert check_pdf(data, PdfLimits(max_stream_bytes=10)).reason_code == "decompression-bomb"


def test_cheap_rejections_do_not_fork(monkeypatch: pytest.MonkeyPatch, corpus: dict[str, Path]) -> None:
    def no_fork() -> int:
        raise AssertionError("forked for a file that byte checks reject")

    monkeypatch.setattr(os, "fork", no_fork)
    for case in ("empty", "too-large", "renamed-png", "renamed-zip", "header-too-late"):
        assert check_pdf(corpus[case].read_bytes()).reason_code == pdf_corpus.EXPECTED[case]


def test_messages_are_defined_for_every_code() -> None:
    limits = PdfLimits(max_bytes=10 * 1024 * 1024 + 512 * 1024, max_pages=7)
    for code in REASONS:
        message_id, message_en = describe(code, limits)
        assert message_id and message_en and "{" not in message_id + message_en
    assert "10,5 MB" in describe("too-large", limits)[0]
    assert "10.5 MB" in describe("too-large", limits)[1]
    assert "7 halaman" in describe("too-many-pages", limits)[0]


def test_concurrent_checks_from_threads(corpus: dict[str, Path]) -> None:
    """Forking from several threads at once (as in a threaded local server) keeps verdicts apart."""
    cases = ["good", "encrypted", "javascript-open-action", "malformed-truncated"] * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(lambda case: check_pdf(corpus[case].read_bytes()).reason_code, cases))
    assert codes == [pdf_corpus.EXPECTED[case] for case in cases]


# ---- child process failure paths ------------------------------------------------------------------


@pytest.fixture
def forked_pids(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the pid of every child check_pdf forks."""
    pids: list[int] = []
    real_fork = os.fork

    def recording_fork() -> int:
        pid = real_fork()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recording_fork)
    return pids


def _assert_reaped(pids: list[int]) -> None:
    assert pids
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_hanging_parse_is_killed_and_reported_as_timeout(
    monkeypatch: pytest.MonkeyPatch, corpus: dict[str, Path], forked_pids: list[int]
) -> None:
    def hang(data: bytes, limits: PdfLimits) -> tuple[str | None, int | None]:
        time.sleep(60)
        return None, 1

    monkeypatch.setattr(pdf_check, "_inspect", hang)
    started = time.monotonic()
    verdict = check_pdf(corpus["good"].read_bytes(), PdfLimits(parse_seconds=0.3))
    assert verdict.reason_code == "parse-timeout"
    assert time.monotonic() - started < 3
    _assert_reaped(forked_pids)


def test_costly_real_file_times_out(corpus: dict[str, Path], forked_pids: list[int]) -> None:
    # With a budget above the bomb's 1 GiB the child would inflate all of it; 0.1 s is far too little.
    limits = PdfLimits(parse_seconds=0.1, max_stream_bytes=4 * 1024**3)
    started = time.monotonic()
    assert check_pdf(corpus["decompression-bomb"].read_bytes(), limits).reason_code == "parse-timeout"
    assert time.monotonic() - started < 2
    _assert_reaped(forked_pids)


def test_memory_exhaustion_is_reported(monkeypatch: pytest.MonkeyPatch, corpus: dict[str, Path]) -> None:
    def hog(data: bytes, limits: PdfLimits) -> tuple[str | None, int | None]:
        blob = bytearray(4 * limits.parse_memory_mb * 1024 * 1024)
        return None, len(blob)

    monkeypatch.setattr(pdf_check, "_inspect", hog)
    verdict = check_pdf(corpus["good"].read_bytes(), PdfLimits(parse_memory_mb=64))
    assert verdict.reason_code == "parse-memory"


def test_real_parse_allocation_beyond_memory_limit_is_reported() -> None:
    # pypdf inflates an object stream in memory: 64 MiB does not fit into 16 MiB of headroom.
    bomb = pdf_corpus.bomb_stream(64 * 1024 * 1024)
    data = pdf_corpus.raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(bomb)
        + bomb + b"\nendstream",
    ])
    assert check_pdf(data, PdfLimits(parse_memory_mb=16)).reason_code == "parse-memory"
    assert check_pdf(data).accepted  # 64 MiB is within the default 512 MiB and 100 MiB stream budget


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        ("raise", "malformed"),
        ("keyboard-interrupt", "malformed"),
        ("exit", "malformed"),
        ("sigkill", "parse-memory"),
    ],
)
def test_child_failures_become_verdicts(
    monkeypatch: pytest.MonkeyPatch, corpus: dict[str, Path], forked_pids: list[int], behaviour: str, expected: str
) -> None:
    def misbehave(data: bytes, limits: PdfLimits) -> tuple[str | None, int | None]:
        if behaviour == "raise":
            raise RuntimeError("boom")
        if behaviour == "keyboard-interrupt":
            raise KeyboardInterrupt
        if behaviour == "exit":
            os._exit(3)
        os.kill(os.getpid(), signal.SIGKILL)
        return None, 1

    monkeypatch.setattr(pdf_check, "_inspect", misbehave)
    assert check_pdf(corpus["good"].read_bytes()).reason_code == expected
    _assert_reaped(forked_pids)


# ---- robustness -------------------------------------------------------------------------------------


def _mutate(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        operation = rng.randrange(5)
        position = rng.randrange(len(buffer)) if buffer else 0
        if operation == 0 and buffer:  # flip bytes
            for offset in range(rng.randint(1, 16)):
                if position + offset < len(buffer):
                    buffer[position + offset] = rng.randrange(256)
        elif operation == 1:  # truncate
            del buffer[position:]
        elif operation == 2:  # delete a slice
            del buffer[position : position + rng.randint(1, 200)]
        elif operation == 3:  # insert random bytes
            buffer[position:position] = rng.randbytes(rng.randint(1, 64))
        else:  # duplicate a slice somewhere else
            piece = bytes(buffer[position : position + rng.randint(1, 300)])
            target = rng.randrange(len(buffer) + 1)
            buffer[target:target] = piece
    return bytes(buffer)


def test_never_raises_on_mutated_pdfs(corpus: dict[str, Path]) -> None:
    rng = random.Random(20240607)
    seeds = [corpus[name].read_bytes() for name in ("good", "good-object-streams", "javascript-open-action")]
    limits = PdfLimits(parse_seconds=2.0)
    for _ in range(240):
        data = _mutate(rng.choice(seeds), rng)
        verdict = check_pdf(data, limits)
        assert verdict.reason_code is None or verdict.reason_code in REASONS
        assert verdict.sha256 == hashlib.sha256(data).hexdigest()


def test_never_raises_on_random_bytes() -> None:
    rng = random.Random(99)
    for _ in range(40):
        body = rng.randbytes(rng.randint(0, 3000))
        for data in (body, b"%PDF-1.7\n" + body):
            verdict = check_pdf(data)
            assert verdict.reason_code is None or verdict.reason_code in REASONS
