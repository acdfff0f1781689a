"""One stack owns a data folder at a time; the CLI tools attach to the stack that owns it (issue 11, "The CLI").

Before: `silastri verify-permit` / `silastri audit verify` without `--url` looked for a stack on port 8000 and,
finding none, started a second embedded stack on the folder of a stack running on another port: it restarted the
waiting workflows, rewrote the saved state and deleted the running stack's `stack.json`."""

from __future__ import annotations

import json
import subprocess
import sys

from silastri_local.journey import Journey


def cli(stack, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "silastri_local.cli", "--data-dir", str(stack.data_dir), *args],
                          capture_output=True, text=True, timeout=timeout)


def test_tools_attach_to_the_stack_that_owns_the_folder_and_a_second_stack_is_refused(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    journey.task("back_office", "completeness_check")
    info = json.loads((stack.data_dir / "stack.json").read_text())
    assert not info["api_url"].endswith(":8000")  # the session stack listens on another port
    audited = cli(stack, "audit", "verify", "--application", journey.application_id)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert f"{journey.application_id}: OK" in audited.stdout
    # the running stack's files are untouched and it still serves (no second stack took the folder)
    assert json.loads((stack.data_dir / "stack.json").read_text()) == info
    assert journey.task("back_office", "completeness_check")
    second = cli(stack, "up", "--port", "0", timeout=120)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "sedang dipakai stack lain" in second.stderr and info["api_url"] in second.stderr
    assert json.loads((stack.data_dir / "stack.json").read_text()) == info
