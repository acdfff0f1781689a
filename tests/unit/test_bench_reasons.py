"""`make bench` names why a goal is not met from the run's own figures (issue 12: "names the one that is not and
why"), and says nothing for a goal that is met."""

from __future__ import annotations

import copy
from typing import Any

from silastri_local.bench import bench_table, unmet_reasons

RESULT: dict[str, Any] = {
    "applications": 20, "permit_type": "izin-operasional-orsos", "api_gateway": "rest", "region_factor": 1.0,
    "per_application": {
        "state_transitions": 13, "api_requests": 57.05, "dynamodb_write_units": 357.1, "dynamodb_read_units": 370.5,
        "dynamodb_write_units_by_table": {
            "silastri-TasksTable": 37.6, "silastri-TasksTable/by_application": 24.0, "silastri-TasksTable/by_due": 16.0,
            "silastri-MessagesTable": 53.1, "silastri-MessagesTable/by_inbox": 9.0, "silastri-EventsTable": 23.1,
            "silastri-ApplicationsTable": 44.5, "silastri-SurveysTable": 1.0},
        "dynamodb_requests": {"get_item": 213.8, "put_item": 91.8},
        "sns_requests": 40.0, "sqs_requests_incl_polling": 73.55, "lambda_invocations_total": 82.0,
        "machine_seconds_median": 2.555, "cost_usd_total": 0.001032,
        "cost_usd": {"step_functions": 0.000325, "api_gateway": 0.0001997, "dynamodb": 0.000269},
    },
    "speed": {
        "cold_import_ratios": {"notifier": 2.51, "sla_monitor": 1.94},
        "cold_import_floors": {"boto3 + pydantic": 1.31, "boto3 + pydantic + the domain models": 1.88},
        "throughput": {"1": {"applications_per_second": 0.478, "cpu_seconds_per_application": 1.97},
                       "2": {"applications_per_second": 0.495, "cpu_seconds_per_application": 2.03},
                       "4": {"applications_per_second": 0.486, "cpu_seconds_per_application": 2.08}},
    },
}


def test_each_unmet_goal_gets_its_reason_from_the_figures() -> None:
    reasons = unmet_reasons(RESULT)
    text = "\n".join(reasons)
    assert len(reasons) == 4  # cost, write units, cold import, speed (machine time and throughput share one)
    assert "13 transitions = $0.000325, 93% of the goal" in text
    assert "Tasks 38 + indexes 40" in text and "Messages 53 + indexes 9" in text
    assert "boto3 + pydantic 1.31×" in text
    assert "1.97 CPU s per application" in text and "at most 0.51 applications/s" in text
    assert "why (from this run's figures):" in bench_table(RESULT)


def test_a_met_goal_has_no_reason() -> None:
    cheap = copy.deepcopy(RESULT)
    cheap["per_application"].update(cost_usd_total=0.0003, dynamodb_write_units=150.0)
    text = "\n".join(unmet_reasons(cheap))
    assert "cost:" not in text and "write units:" not in text
    assert "cold import:" in text  # still not met


def test_the_cost_goal_is_shown_out_of_reach_of_the_transition_and_write_unit_goals() -> None:
    priced = copy.deepcopy(RESULT)
    priced["prices_usd"] = {"sfn_transition": 0.025 / 1000, "ddb_write_unit": 0.625 / 1_000_000}
    text = "\n".join(unmet_reasons(priced))
    assert "already cost $0.000450 (13 transitions + 200 write units), above the cost goal $0.00035" in text
    cheaper = copy.deepcopy(priced)
    cheaper["prices_usd"]["sfn_transition"] = 0.01 / 1000  # a price at which the goals fit together: no such line
    assert "cannot all be met" not in "\n".join(unmet_reasons(cheaper))
