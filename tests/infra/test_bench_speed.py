"""`bench_speed.cold_import_ratios` (issue 12 item 4): the shape of its answer for one handler. The figure itself
is printed by the bench, never asserted here (timings depend on the machine)."""

from __future__ import annotations

import math

from silastri_local import bench_speed


def test_cold_import_ratio_of_one_handler_is_a_positive_number() -> None:
    handlers = bench_speed.workflow_handlers()
    assert "issue_receipt" in handlers and "api" not in handlers
    ratios = bench_speed.cold_import_ratios(["issue_receipt"], runs=5)
    assert list(ratios) == ["issue_receipt"]
    assert isinstance(ratios["issue_receipt"], float)
    assert math.isfinite(ratios["issue_receipt"]) and ratios["issue_receipt"] > 0


def test_render_sign_figures_have_their_shape_and_leave_the_environment_as_found() -> None:
    import os

    before = dict(os.environ)
    figures = bench_speed.render_sign_ms(rounds=1)
    assert set(figures) == {"render_ms", "sign_ms", "total_ms", "total_cpu_ms"}
    assert all(isinstance(v, float) and v > 0 for v in figures.values())
    assert dict(os.environ) == before
