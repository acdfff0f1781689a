"""Reliability row `hostile-uploads`: the hostile-upload corpus is rejected, each file with its expected reason,
and the harmless look-alikes are accepted — all through the real checker (forked child, default limits).

The corpus is built at test time by tests/fixtures/pdf_corpus.py; ``EXPECTED`` there is the single source of
truth for what each file must get.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pdf_corpus  # tests/fixtures (tests/conftest.py puts it on the path)
from silastri.adapters.pdf_check import REASONS, check_pdf, describe

#: The cases issue 7 names, with the reason each must get: the corpus must keep all of them.
REQUIRED_HOSTILE = {
    "gotor-network-share": "remote-file",
    "uri-file-scheme": "remote-file",
    "submit-form": "form-action",
    "import-data": "form-action",
    "uri-javascript": "javascript",
    "named-action": "action-not-allowed",
    "launch-action": "launch-action",
    "javascript-name-tree": "javascript",
    "javascript-open-action": "javascript",
    "rich-media": "rich-media",
    "annotation-3d": "rich-media",
    "polyglot-zip-appended": "polyglot",
    "polyglot-zip-inside": "polyglot",
    "html-before-header": "data-before-header",
    "data-after-eof": "data-after-eof",
}
REQUIRED_LOOK_ALIKES = {
    "lookalike-js-in-uri-string",
    "lookalike-javascript-in-subject",
    "lookalike-https-link",
    "lookalike-internal-goto-link",
    "lookalike-scanned-letter",
}


def test_hostile_uploads_rejected_with_reasons_and_look_alikes_accepted(row, tmp_path: Path) -> None:
    paths = pdf_corpus.build_corpus(tmp_path / "corpus")
    expected: dict[str, str | None] = pdf_corpus.EXPECTED
    hostile = sorted(case for case, code in expected.items() if code is not None)
    look_alikes = sorted(case for case, code in expected.items() if code is None)

    wrong: dict[str, str] = {}
    seconds: list[float] = []
    for case in hostile + look_alikes:
        data = paths[case].read_bytes()
        started = time.perf_counter()
        verdict = check_pdf(data)
        seconds.append(time.perf_counter() - started)
        want = expected[case]
        if verdict.reason_code != want or verdict.accepted is not (want is None):
            wrong[case] = f"expected {want}, got {verdict.reason_code}"
        elif want is not None and (want not in REASONS or (verdict.message_id, verdict.message_en) != describe(want)):
            wrong[case] = f"{want} without its Bahasa Indonesia reason"

    missing = sorted(
        [case for case, code in REQUIRED_HOSTILE.items() if expected.get(case) != code]
        + [case for case in REQUIRED_LOOK_ALIKES if case not in expected or expected[case] is not None]
    )
    rejected_ok = sum(1 for case in hostile if case not in wrong)
    accepted_ok = sum(1 for case in look_alikes if case not in wrong)
    met = not wrong and not missing
    figure = (
        f"{rejected_ok}/{len(hostile)} hostile rejected with reasons, {accepted_ok}/{len(look_alikes)} look-alikes "
        f"accepted; check {statistics.median(seconds) * 1000:.0f} ms median, {max(seconds) * 1000:.0f} ms max per file"
    )
    if missing:
        figure += f"; corpus lacks {', '.join(missing)}"
    row("hostile-uploads", figure=figure, met=met)
    assert not missing, missing
    assert not wrong, wrong
