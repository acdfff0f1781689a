"""The local runtime's CloudWatch: the EMF documents Powertools prints are kept in the data directory.

On AWS a function's stdout goes to CloudWatch Logs, which turns every EMF document (a JSON line whose
`_aws.CloudWatchMetrics` names namespace, dimensions and metrics) into metric data. Locally the stack's
stdout is the terminal (or `stack.log`), so `install` puts a filter in front of it: EMF lines are appended
to `metrics.jsonl` under the data directory instead of being printed; every other line passes through.
`summarise` sums the kept documents per metric and dimension set, as CloudWatch's Sum statistic would
(`silastri metrics`)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

METRICS_FILE = "metrics.jsonl"
_EMF_START = '{"_aws"'


class EmfFilter:
    """A stdout stand-in: EMF documents go to `path` (one per line), everything else to `target`.

    `print(document)` writes the document and then its newline in two calls; the newline that ends a kept
    document is dropped too (tracked per thread: handlers run on many threads at once)."""

    def __init__(self, target: TextIO, path: Path) -> None:
        self.target = target
        self.path = path
        self._lock = threading.Lock()
        self._local = threading.local()

    def write(self, text: str) -> int:
        """Keep an EMF document, pass anything else on; returns the characters taken, as a stream does."""
        if getattr(self._local, "after_document", False):
            self._local.after_document = False
            if text == "\n":
                return len(text)
        if text.startswith(_EMF_START) and _is_emf(text):
            with self._lock, self.path.open("a", encoding="utf-8") as handle:
                handle.write(text.rstrip("\n") + "\n")
            self._local.after_document = not text.endswith("\n")
            return len(text)
        return self.target.write(text)

    def flush(self) -> None:
        """Flush the terminal (or log) behind the filter."""
        self.target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


def _is_emf(text: str) -> bool:
    try:
        document = json.loads(text)
    except ValueError:
        return False
    return isinstance(document, dict) and isinstance(document.get("_aws"), dict) and \
        "CloudWatchMetrics" in document["_aws"]


def install(data_dir: Path) -> EmfFilter:
    """Route EMF documents printed in this process to `data_dir/metrics.jsonl`; returns the filter."""
    data_dir.mkdir(parents=True, exist_ok=True)
    emf_filter = EmfFilter(sys.stdout, data_dir / METRICS_FILE)
    sys.stdout = emf_filter  # type: ignore[assignment]
    return emf_filter


def uninstall(emf_filter: EmfFilter) -> None:
    """Put back what stdout was, unless something replaced the filter since (then leave that alone)."""
    if sys.stdout is emf_filter:
        sys.stdout = emf_filter.target


@dataclass(frozen=True)
class MetricTotal:
    """One metric under one dimension set, summed over every kept document."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    total: float
    samples: int


def _documents(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                document = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash: CloudWatch would drop it too
            if isinstance(document, dict) and isinstance(document.get("_aws"), dict):
                yield document


def summarise(data_dir: Path) -> list[MetricTotal]:
    """Sum the kept EMF documents per namespace, metric and dimension set (sorted by metric, then dimensions).

    A document with several dimension sets counts once under each of them, as CloudWatch does."""
    totals: dict[tuple[str, str, tuple[tuple[str, str], ...]], tuple[float, int]] = {}
    for document in _documents(data_dir / METRICS_FILE):
        for directive in document["_aws"].get("CloudWatchMetrics", []):
            namespace = str(directive.get("Namespace", ""))
            for dimension_set in directive.get("Dimensions", []):
                dimensions = tuple(sorted((key, str(document.get(key, ""))) for key in dimension_set))
                for metric in directive.get("Metrics", []):
                    raw = document.get(metric["Name"], 0)
                    values = raw if isinstance(raw, list) else [raw]
                    key = (namespace, metric["Name"], dimensions)
                    total, samples = totals.get(key, (0.0, 0))
                    totals[key] = (total + sum(float(v) for v in values), samples + len(values))
    return [MetricTotal(ns, name, dims, total, samples)
            for (ns, name, dims), (total, samples) in sorted(totals.items(), key=lambda item: (item[0][1], item[0]))]
