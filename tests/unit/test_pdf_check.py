"""Tests for the PDF validation pipeline (silastri.adapters.pdf_check)."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pdf_corpus  # tests/fixtures (tests/conftest.py puts it on the path)
import pytest
from silastri.adapters import pdf_check
from silastri.adapters.pdf_check import REASONS, PdfLimits, PdfVerdict, check_pdf, describe


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
    cheap = ("empty", "too-large", "renamed-png", "renamed-zip", "header-too-late", "malformed-truncated",
             "junk-before-header", "html-before-header", "data-after-eof", "polyglot-zip-appended",
             "polyglot-zip-inside", "polyglot-html-in-first-kilobyte")
    for case in cheap:
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


# ---- the allowlist ----------------------------------------------------------------------------------

#: Every action type of ISO 32000-2 and two that do not exist: only /GoTo and /URI (http/https) may pass.
ACTION_TYPES = ["GoToR", "GoToE", "GoToDp", "Launch", "Thread", "Sound", "Movie", "Hide", "Named", "SubmitForm",
                "ResetForm", "ImportData", "SetOCGState", "Rendition", "Trans", "GoTo3DView", "JavaScript",
                "ECMAScript", "RichMediaExecute", "OpenFile"]


@pytest.mark.parametrize("kind", ACTION_TYPES)
@pytest.mark.parametrize("place", ["link", "outline", "open-action", "next"])
def test_every_action_type_but_goto_and_uri_is_refused_wherever_it_is(kind: str, place: str) -> None:
    action = b"<< /S /" + kind.encode() + b" /F (x.pdf) >>"
    if place == "link":
        data = pdf_corpus._link(action)
    elif place == "outline":
        data = pdf_corpus._one_page(
            catalog_extra=b"/Outlines 5 0 R ",
            more=[b"<< /Type /Outlines /First 6 0 R /Last 6 0 R /Count 1 >>",
                  b"<< /Title (Bab 1) /Parent 5 0 R /A " + action + b" >>"])
    elif place == "open-action":
        data = pdf_corpus._one_page(catalog_extra=b"/OpenAction " + action + b" ")
    else:
        data = pdf_corpus._link(b"<< /S /GoTo /D [3 0 R /Fit] /Next [<< /S /GoTo /D [3 0 R /Fit] >> " + action + b"] >>")
    verdict = check_pdf(data)
    assert not verdict.accepted
    assert verdict.reason_code in pdf_check.ACTIVE_CONTENT_PRIORITY


@pytest.mark.parametrize("place", ["link", "outline", "open-action", "next"])
def test_the_same_places_accept_an_internal_goto(place: str) -> None:
    goto = b"<< /S /GoTo /D [3 0 R /Fit] >>"
    data = {
        "link": lambda: pdf_corpus._link(goto),
        "outline": lambda: pdf_corpus._one_page(
            catalog_extra=b"/Outlines 5 0 R ",
            more=[b"<< /Type /Outlines /First 6 0 R /Last 6 0 R /Count 1 >>",
                  b"<< /Title (Bab 1) /Parent 5 0 R /A " + goto + b" >>"]),
        "open-action": lambda: pdf_corpus._one_page(catalog_extra=b"/OpenAction " + goto + b" "),
        "next": lambda: pdf_corpus._link(b"<< /S /URI /URI (https://oss.go.id) /Next [" + goto + b"] >>"),
    }[place]()
    assert check_pdf(data).accepted


@pytest.mark.parametrize("subtype", sorted(pdf_check._ALLOWED_ANNOTATIONS))
def test_allowed_annotation_subtypes_are_accepted(subtype: str) -> None:
    assert check_pdf(pdf_corpus._link(b"<< /S /GoTo /D [3 0 R /Fit] >>", subtype=subtype.encode())).accepted


@pytest.mark.parametrize(
    ("subtype", "expected"),
    [(b"/Projection", "annotation-not-allowed"), (b"/PrinterMark", "annotation-not-allowed"),
     (b"/TrapNet", "annotation-not-allowed"), (b"/Redact", "annotation-not-allowed"),
     (b"/Foo", "annotation-not-allowed"), (b"(Link)", "annotation-not-allowed"),
     (b"/RichMedia", "rich-media"), (b"/Movie", "rich-media"), (b"/Screen", "rich-media"),
     (b"/FileAttachment", "embedded-file")],
)
def test_other_annotation_subtypes_are_refused(subtype: bytes, expected: str) -> None:
    assert check_pdf(pdf_corpus._link(b"<< /S /GoTo /D [3 0 R /Fit] >>", subtype=subtype)).reason_code == expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("https://oss.go.id/a?b=/JS/JavaScript", None),
        ("HTTP://OSS.GO.ID", None),
        ("  \thttps://oss.go.id", None),
        ("mailto:dpmptsp@rokanhilirkab.go.id", None),
        (b"https://oss.go.id/\xff", None),
        ("mailto:a@b.id?attach=C:/rahasia.xlsx", "link-scheme"),
        ("java\tscript:alert(1)", "javascript"),
        ("\x01 JaVaScRiPt:alert(1)", "javascript"),
        ("vbscript:msgbox(1)", "javascript"),
        ("file:///C:/Windows/win.ini", "remote-file"),
        ("FILE://server/share", "remote-file"),
        ("\\\\server\\share", "remote-file"),
        ("//server/share", "remote-file"),
        ("smb://server/share", "remote-file"),
        ("data:text/html,<script>alert(1)</script>", "link-scheme"),
        ("ms-excel:ofe|u|https://x", "link-scheme"),
        ("ftp://server/x", "link-scheme"),
        ("surat.pdf", "link-scheme"),
        ("%6Aavascript:alert(1)", "link-scheme"),
        ("", "link-scheme"),
        (7, "link-scheme"),
    ],
)
def test_uri_schemes(uri: object, expected: str | None) -> None:
    assert pdf_check._uri_code(uri) == expected


def test_lexer_reports_names_but_not_strings_comments_or_stream_data() -> None:
    text = (b"<< /A (x /JS (nested /JS) \\) /JS) /B <2F4A53> % /JS comment\n/C#44 /D"
            b"<< /Length 9 >>\nstream\n/JS /XFA\nendstream /E >>")
    assert list(pdf_check._names(text)) == [b"A", b"B", b"CD", b"D", b"Length", b"E"]


def test_lexer_is_linear_on_unterminated_strings() -> None:
    text = b"(a(" * 400_000 + b"/JS"  # 1.2 MB of strings that never close
    started = time.monotonic()
    assert list(pdf_check._names(text)) == []
    assert time.monotonic() - started < 2


def _pdf_string(text: str) -> bytes:
    return b"(" + text.encode().replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def test_risky_words_in_text_strings_never_count_as_names() -> None:
    """Random texts made of risky names and PDF delimiters, in the subject, a link URL and a note."""
    rng = random.Random(460)
    words = ["/JS", "/JavaScript", "/Launch", "/GoToR", "/SubmitForm", "/XFA", "/EmbeddedFile", "/Named", "(", ")",
             "\\", "<<", ">>", "%", "stream\n", "endstream", " ", "460/JS/DINSOS/IV/2026", "/S /Launch"]
    for _ in range(25):
        text = "".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
        data = pdf_corpus._one_page(
            b"/Annots [5 0 R]",
            trailer_extra=b"/Info 6 0 R ",
            more=[b"<< /Type /Annot /Subtype /Link /Rect [72 600 272 640] /Contents " + _pdf_string(text)
                  + b" /A << /S /URI /URI " + _pdf_string("https://oss.go.id/" + text) + b" >> >>",
                  b"<< /Subject " + _pdf_string(text) + b" /Title " + _pdf_string(text) + b" >>"],
        )
        verdict = check_pdf(data)
        assert verdict.accepted, (text, verdict.reason_code)


@pytest.mark.parametrize("tail", [b"\n", b"\r\n", b"  \n\x00", b"\n%%EOF\n"])
def test_whitespace_after_the_last_eof_is_accepted(corpus: dict[str, Path], tail: bytes) -> None:
    assert check_pdf(corpus["good"].read_bytes() + tail).accepted


@pytest.mark.parametrize("tail", [b"x", b"\n%", b"\nstartxref\n0\n", b"\n\x1a", b"\xef\xbb\xbf"])
def test_anything_else_after_the_last_eof_is_refused(corpus: dict[str, Path], tail: bytes) -> None:
    assert check_pdf(corpus["good"].read_bytes() + tail).reason_code == "data-after-eof"


@pytest.mark.parametrize("prefix", [b"\xef\xbb\xbf", b" ", b"\n", b"%!PS\n", b"<svg>"])
def test_anything_before_the_header_is_refused(corpus: dict[str, Path], prefix: bytes) -> None:
    assert check_pdf(prefix + corpus["good"].read_bytes()).reason_code == "data-before-header"


def test_empty_zip_end_record_alone_is_not_a_polyglot(corpus: dict[str, Path]) -> None:
    """Stream bytes that happen to look like a ZIP end record (with no archive behind them) are harmless."""
    stray = b"PK\x05\x06" + bytes(18)
    data = pdf_corpus._one_page(more=[pdf_corpus._stream(b"", stray)])
    assert check_pdf(data).accepted


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
