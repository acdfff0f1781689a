"""The audit trail: every state change and decision of an application, hash-chained.

Entry n carries the hash of entry n-1; the head (last sequence number and hash) is kept apart, so an
edited entry breaks its own hash, a deleted one breaks the chain or the head."""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64


def entry_hash(prev_hash: str, content: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the entry's canonical JSON (without its own hash)."""
    canonical = json.dumps({k: v for k, v in content.items() if k != "hash"}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def verify_chain(entries: list[dict[str, Any]], head_seq: int, head_hash: str | None) -> list[str]:
    """Problems found in one application's entries (sorted by seq); empty when the chain holds."""
    problems = []
    prev = GENESIS
    expected_seq = 1
    for entry in entries:
        seq = int(entry.get("seq", 0))
        if seq != expected_seq:
            problems.append(f"entry {expected_seq} missing (found {seq})")
        if entry.get("prev_hash") != prev:
            problems.append(f"entry {seq}: previous-hash link broken")
        if entry_hash(str(entry.get("prev_hash")), entry) != entry.get("hash"):
            problems.append(f"entry {seq}: content changed after it was written")
        prev = str(entry.get("hash"))
        expected_seq = seq + 1
    last_seq = expected_seq - 1
    if last_seq != head_seq or (head_seq and prev != head_hash):
        problems.append(f"head says {head_seq} entries, chain has {last_seq}: entries removed or added")
    return problems
