"""`bench_speed.cold_import_ratios` (issue 12 item 4): the shape of its answer for one handler. The figure itself
is printed by the bench, never asserted here (timings depend on the machine)."""

from __future__ import annotations

import math

from silastri_local import bench_speed


def test_cold_import_ratio_of_one_handler_is_a_positive_number() -> None:
    handlers = bench_speed.workflow_handlers()
    assert "record_submission" in handlers and "api" not in handlers
    ratios = bench_speed.cold_import_ratios(["record_submission"], runs=5)
    assert list(ratios) == ["record_submission"]
    assert isinstance(ratios["record_submission"], float)
    assert math.isfinite(ratios["record_submission"]) and ratios["record_submission"] > 0
