"""`silastri metrics` on the local runtime: a submitted application is counted, the stack log stays readable."""

from __future__ import annotations

import json
import subprocess
import sys

from silastri_local.journey import Journey


def metrics(stack) -> list[dict]:
    """`silastri metrics --json` for the stack's data directory, as an operator runs it."""
    result = subprocess.run([sys.executable, "-m", "silastri_local.cli", "metrics", "--data-dir", str(stack.data_dir),
                             "--json"], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


def submitted(rows: list[dict], permit_type: str | None) -> float:
    wanted = {"service": "silastri", **({"permit_type": permit_type} if permit_type else {})}
    return sum(r["sum"] for r in rows if r["metric"] == "ApplicationsSubmitted" and r["dimensions"] == wanted)


def test_a_submitted_application_shows_in_silastri_metrics(stack, api, staff):
    # GIVEN the counts so far (other tests share the stack)
    before = metrics(stack)
    # WHEN one application is submitted
    journey = Journey(api, staff, "izin-operasional-orsos")
    journey.apply()
    journey.submit()
    # THEN it is counted once in total and once under its permit type
    after = metrics(stack)
    assert submitted(after, None) == submitted(before, None) + 1
    assert submitted(after, "izin-operasional-orsos") == submitted(before, "izin-operasional-orsos") + 1
    table = subprocess.run([sys.executable, "-m", "silastri_local.cli", "--data-dir", str(stack.data_dir), "metrics"],
                           capture_output=True, text=True, timeout=60, check=True).stdout
    assert any(line.startswith("ApplicationsSubmitted") and "permit_type=izin-operasional-orsos" in line
               for line in table.splitlines())
    # the EMF documents went to the metrics file, not into the stack's log
    assert '"_aws"' not in stack.log()
