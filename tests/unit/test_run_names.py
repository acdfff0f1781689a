"""Run (execution) names carry the office: two offices on the default prefix have the same registration numbers."""

from __future__ import annotations

import json

import pytest
from silastri.domain.catalog import Office
from silastri.domain.numbering import first_run_name
from silastri.services import runs
from silastri_local.template import ROOT


def test_the_same_registration_number_in_two_offices_gives_two_runs():
    assert first_run_name("rokan-hilir", "REG-2026-000001") != first_run_name("kampar", "REG-2026-000001")
    assert runs.new_run_name("kampar", "REG-2026-000001").startswith("kampar-REG-2026-000001-r")


def test_a_continued_run_in_the_workflow_is_named_after_office_and_registration():
    asl = json.loads((ROOT / "statemachine" / "licensing.asl.json").read_text())
    name = asl["States"]["ContinueAsNewRun"]["Parameters"]["Name.$"]
    assert name == "States.Format('{}-{}-c{}', $.office_id, $.registration_number, States.UUID())"


def test_the_longest_office_id_and_prefix_keep_run_names_within_80_characters():
    longest = first_run_name("k" * 20, "ABCDEF-2026-000001") + "-c" + "0" * 36
    assert len(longest) <= 80  # Step Functions' limit for execution names
    with pytest.raises(ValueError):
        Office.model_validate({**_office(), "office_id": "k" * 21})
    with pytest.raises(ValueError):
        Office.model_validate({**_office(), "registration_prefix": "REGIST"[:6] + "R"})


def test_a_run_without_input_is_traced_back_through_its_name_within_its_office(monkeypatch):
    from silastri.adapters import dynamo

    looked_up: list[tuple[str, str]] = []

    class App:
        office_id = "rokan-hilir"

    monkeypatch.setattr(dynamo, "application_by_registration",
                        lambda number, office_id: looked_up.append((number, office_id)) or App())
    run = runs.RunEnded(executionArn="arn", stateMachineArn="sm", name="rokan-hilir-REG-2026-000007-r123",
                        status="FAILED")
    assert isinstance(runs._application_of(run), App) and looked_up == [("REG-2026-000007", "rokan-hilir")]
    # the second office's run of the same registration number is looked up among that office's applications
    assert runs._application_of(run.model_copy(update={"name": "bengkalis-REG-2026-000007"})) is not None
    assert looked_up[-1] == ("REG-2026-000007", "bengkalis")
    other = run.model_copy(update={"name": "kampar-REG-2026-000007"})  # an office this deployment does not have
    assert runs._application_of(other) is None


def _office() -> dict:
    from silastri.domain.catalog import default_catalog

    return default_catalog().office("rokan-hilir").model_dump()
