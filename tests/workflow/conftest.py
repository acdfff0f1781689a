"""Whole runs on the local runtime: `silastri up` in a subprocess, driven through the API only."""

from __future__ import annotations

import pytest
from silastri.domain.numbering import first_run_name
from silastri_local.client import ApiClient
from silastri_local.journey import Journey, officer_clients
from silastri_local.stack_process import StackProcess


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    process = StackProcess(tmp_path_factory.mktemp("stack")).start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def api(stack) -> ApiClient:
    client = ApiClient(stack.url)
    officer = next(iter(stack.officers().values()))  # the local outbox is for officers only
    client.outbox_reader = client.login(officer["email"], officer["password"])
    return client


@pytest.fixture(scope="session")
def staff(stack, api):
    return officer_clients(api, stack.officers())


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/workflow" in str(item.fspath):
            item.add_marker(pytest.mark.xdist_group("workflow"))
            item.add_marker(pytest.mark.workflow)


def runs_states(stack: StackProcess, journey: Journey) -> list[str]:
    """The states every execution of the application entered, oldest run first (continued runs included)."""
    sfn = stack.aws("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    name = first_run_name(journey.office_id or "rokan-hilir", journey.registration_number)
    runs = sorted((e for e in sfn.list_executions(stateMachineArn=machine)["executions"]
                   if e["name"] == name or e["name"].startswith(name + "-")), key=lambda e: e["startDate"])
    return [e["stateEnteredEventDetails"]["name"] for run in runs
            for e in sfn.get_execution_history(executionArn=run["executionArn"], maxResults=1000)["events"]
            if "stateEnteredEventDetails" in e]

