"""`silastri bench --count 1 --quick` end to end: the JSON on stdout and the issue-12 table on stderr have their
structure and consistent, positive counts. Timings are printed by the bench, never asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from silastri_local.bench import GOALS, NOT_MEASURED, bench_rows

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(ROOT / p) for p in ("layers/common/python", "infra", "functions/api"))
    done = subprocess.run([sys.executable, "-m", "silastri_local.cli", "bench", "--count", "1", "--quick"],
                          cwd=tmp_path_factory.mktemp("bench"), env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout), done.stderr


def test_counts_are_taken_once_the_run_is_final_and_are_positive_and_consistent(bench_run):
    result, _ = bench_run
    assert result["applications"] == 1
    assert result["final_states"] == {"SUCCEEDED": 1}
    per = result["per_application"]
    assert per["state_transitions"] > 0 and per["workflow_lambda_invocations"] > 0 and per["api_requests"] > 0
    assert per["dynamodb_write_units"] > 0 and per["dynamodb_read_units"] > 0
    assert per["dynamodb_write_units"] == pytest.approx(sum(per["dynamodb_write_units_by_table"].values()), abs=0.5)
    assert per["dynamodb_read_units"] == pytest.approx(sum(per["dynamodb_read_units_by_table"].values()), abs=0.5)
    # every index write is attributed to a table of the stack ("<table>/<index>")
    tables = {name.split("/", 1)[0] for name in per["dynamodb_write_units_by_table"]}
    assert all(name.startswith("silastri-") for name in tables)
    assert per["cost_usd_total"] == pytest.approx(sum(per["cost_usd"].values()), abs=1e-5)
    assert set(per["cost_usd"]) >= {"step_functions", "lambda_requests", "lambda_duration", "lambda_init", "api_gateway",
                                    "dynamodb", "s3", "sns_sqs"}
    assert per["s3_requests"]["delete_free"] >= 0 and per["s3_requests"]["write"] > 0
    assert per["lambda_init_gb_seconds"] is None  # --quick: INIT not measured, and the table says so
    assert result["api_gateway"] == "rest" and result["region_factor"] == 1.0


def test_the_table_shows_every_issue_12_row_beside_its_goal(bench_run):
    result, stderr = bench_run
    rows = bench_rows(result)
    measures = [row["measure"] for row in rows]
    assert len(measures) == 11
    for row in rows:
        assert row["goal"]
        assert row["measure"] in stderr
    by_measure = {row["measure"].split(",")[0].split(" (")[0]: row for row in rows}
    transitions = next(r for r in rows if r["measure"].startswith("state transitions"))
    assert transitions["value"] == f"{result['per_application']['state_transitions']:g}"
    assert transitions["met"] is (result["per_application"]["state_transitions"] <= GOALS["transitions"])
    assert by_measure["whole applications per second"]["value"] == NOT_MEASURED  # --quick skips the speed rows
    assert "goals not met:" in stderr
