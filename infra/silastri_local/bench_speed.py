"""Speed figures of the code and the local runtime (issue 12, items 4 and 5), printed by `make bench`, never asserted.

- `cold_import_ratios()`: each workflow handler's cold import time ÷ a bare `import boto3`, fresh interpreters.
- `applicant_list_latency(stack_or_api, n)`: p50/p95 of the applicant's list of applications with n stored.
- `throughput(drivers)`: whole orsos applications per second with 1, 2, 4 parallel drivers (officers scripted).
- `render_sign_ms()`: render + PAdES-sign a permit, warm.

Every function returns a plain dict of numbers (bench.py puts them in its table)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
LAYER = ROOT / "layers" / "common" / "python"

#: handlers that are not workflow (or queue) handlers: the API function is a Chalice app, measured apart
_NOT_WORKFLOW = {"api"}

_TIMED_IMPORT = ("import time, sys\n"
                 "t = time.process_time()\n"
                 "import {module}\n"
                 "sys.stdout.write(repr(time.process_time() - t))\n")


def workflow_handlers() -> list[str]:
    """Names of the workflow and queue handlers (functions/<name>/app.py, the API excepted), sorted."""
    return sorted(p.parent.name for p in FUNCTIONS.glob("*/app.py") if p.parent.name not in _NOT_WORKFLOW)


def _import_seconds(module: str, path: list[str], pycache: str) -> float:
    """CPU seconds to import `module` in a fresh interpreter with `path` first on sys.path (startup excluded),
    bytecode cached under `pycache` (as for the installed libraries: a layer built with compiled bytecode)."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["PYTHONPYCACHEPREFIX"] = pycache
    env.setdefault("AWS_DEFAULT_REGION", "ap-southeast-3")
    done = subprocess.run([sys.executable, "-c", _TIMED_IMPORT.format(module=module)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"import {module} failed: {done.stderr.strip().splitlines()[-1:]}")
    return float(done.stdout)


def cold_import_ratios(handlers: list[str] | None = None, runs: int = 5) -> dict[str, float]:
    """Each handler's cold import time ÷ bare `import boto3`: {handler name: ratio} (issue 12 goal ≤ 1.3).

    Each figure is the median of `runs` (at least 5) imports, each in a fresh interpreter with the handler's
    directory and the layer on the path, as Lambda has them, timed in CPU seconds (other load on the machine
    weighs less than on wall time); bytecode is compiled once beforehand for both sides alike (a first import,
    not counted). The runs alternate boto3 and the handlers so a busy machine weighs on both alike.
    `handlers` defaults to every workflow handler (`workflow_handlers()`). Raises RuntimeError when a handler
    does not import."""
    runs = max(5, runs)
    names = handlers if handlers is not None else workflow_handlers()
    base: list[float] = []
    times: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="silastri-pycache-") as pycache:
        for index in range(runs + 1):
            seconds = _import_seconds("boto3", [str(LAYER)], pycache)
            if index:  # the first round only compiles
                base.append(seconds)
            for name in names:
                seconds = _import_seconds("app", [str(FUNCTIONS / name), str(LAYER)], pycache)
                if index:
                    times[name].append(seconds)
    boto3_seconds = statistics.median(base)
    return {name: round(statistics.median(values) / boto3_seconds, 2) for name, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    """`python -m silastri_local.bench_speed [imports]`: prints the figures as JSON."""
    import json

    what = (argv if argv is not None else sys.argv[1:]) or ["imports"]
    result: dict[str, Any] = {}
    if "imports" in what:
        result["cold_import_ratios"] = cold_import_ratios()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
