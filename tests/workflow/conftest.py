"""Whole runs on the local runtime: `silastri up` in a subprocess, driven through the API only."""

from __future__ import annotations

import pytest
from silastri_local.client import ApiClient
from silastri_local.journey import officer_clients
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
