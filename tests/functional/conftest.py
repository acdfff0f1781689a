"""Handlers and services on the local runtime, in this process (one stack per module)."""

from __future__ import annotations

import os

import pytest
from silastri_local.runtime import LocalStack


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory):
    saved = dict(os.environ)  # the stack sets its functions' environment in this process: put it back after
    stack = LocalStack(data_dir=tmp_path_factory.mktemp("functional"), api_port=0, persist=False,
                       run_schedules=False, run_event_sources=False).start()
    yield stack
    stack.stop()
    os.environ.clear()
    os.environ.update(saved)


def pytest_collection_modifyitems(items):
    for item in items:
        path = str(item.fspath)
        if "tests/functional" in path or "tests/contract" in path:
            item.add_marker(pytest.mark.xdist_group("in-process-aws"))
