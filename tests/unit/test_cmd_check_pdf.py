"""Tests for the ``silastri check-pdf`` command body (silastri_local.cmd_check_pdf)."""

from __future__ import annotations

import io
from pathlib import Path

import pdf_corpus  # tests/fixtures (tests/conftest.py puts it on the path)
import pytest
from silastri.adapters.pdf_check import PdfLimits
from silastri_local.cmd_check_pdf import run


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return pdf_corpus.build_corpus(tmp_path_factory.mktemp("pdf-corpus-cli"))


def test_accepted_file_prints_accept_and_returns_zero(corpus: dict[str, Path]) -> None:
    out = io.StringIO()
    assert run([str(corpus["good"])], out=out) == 0
    assert out.getvalue() == f"{corpus['good']}: ACCEPT\n"


def test_one_line_per_file_in_order_and_any_reject_returns_one(corpus: dict[str, Path]) -> None:
    names = ["good", "encrypted", "renamed-png", "javascript-open-action", "good-links"]
    out = io.StringIO()
    assert run([str(corpus[name]) for name in names], out=out) == 1
    assert out.getvalue().splitlines() == [
        f"{corpus['good']}: ACCEPT",
        f"{corpus['encrypted']}: REJECT encrypted",
        f"{corpus['renamed-png']}: REJECT not-pdf",
        f"{corpus['javascript-open-action']}: REJECT javascript",
        f"{corpus['good-links']}: ACCEPT",
    ]


def test_allowlist_codes_and_look_alikes_in_the_same_format(corpus: dict[str, Path]) -> None:
    names = ["lookalike-scanned-letter", "gotor-network-share", "polyglot-zip-appended", "named-action",
             "lookalike-js-in-uri-string", "data-after-eof"]
    out = io.StringIO()
    assert run([str(corpus[name]) for name in names], out=out) == 1
    assert out.getvalue().splitlines() == [
        f"{corpus[name]}: " + ("ACCEPT" if pdf_corpus.EXPECTED[name] is None else f"REJECT {pdf_corpus.EXPECTED[name]}")
        for name in names
    ]
    assert [line.rsplit(": ", 1)[1] for line in out.getvalue().splitlines()] == [
        "ACCEPT", "REJECT remote-file", "REJECT polyglot", "REJECT action-not-allowed", "ACCEPT",
        "REJECT data-after-eof",
    ]


def test_only_look_alikes_returns_zero(corpus: dict[str, Path]) -> None:
    names = [name for name, code in pdf_corpus.EXPECTED.items() if code is None]
    out = io.StringIO()
    assert run([str(corpus[name]) for name in names], out=out) == 0
    assert out.getvalue().splitlines() == [f"{corpus[name]}: ACCEPT" for name in names]


def test_missing_and_unreadable_paths_are_not_found(tmp_path: Path, corpus: dict[str, Path]) -> None:
    missing = tmp_path / "tidak-ada.pdf"
    directory = tmp_path / "folder.pdf"
    directory.mkdir()
    out = io.StringIO()
    assert run([str(missing), str(directory), str(corpus["good"])], out=out) == 1
    assert out.getvalue().splitlines() == [
        f"{missing}: REJECT not-found",
        f"{directory}: REJECT not-found",
        f"{corpus['good']}: ACCEPT",
    ]


def test_custom_limits_are_applied(tmp_path: Path) -> None:
    big = tmp_path / "besar.pdf"
    big.write_bytes(b"%PDF-1.7\n" + b"0" * 5000)
    out = io.StringIO()
    assert run([str(big)], out=out, limits=PdfLimits(max_bytes=1000)) == 1
    assert out.getvalue() == f"{big}: REJECT too-large\n"


def test_no_paths_returns_zero() -> None:
    out = io.StringIO()
    assert run([], out=out) == 0
    assert out.getvalue() == ""


def test_defaults_to_current_stdout(corpus: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert run([str(corpus["empty"])]) == 1
    assert capsys.readouterr().out == f"{corpus['empty']}: REJECT empty\n"
