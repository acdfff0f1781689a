"""The audit chain detects an edited, a deleted and an appended entry."""

from silastri.domain import audit


def chain(n: int) -> list[dict]:
    entries, prev = [], audit.GENESIS
    for seq in range(1, n + 1):
        entry = {"seq": seq, "prev_hash": prev, "action": f"step-{seq}", "note": None}
        entry["hash"] = audit.entry_hash(prev, entry)
        entries.append(entry)
        prev = entry["hash"]
    return entries


def test_an_intact_chain_verifies():
    entries = chain(5)
    assert audit.verify_chain(entries, 5, entries[-1]["hash"]) == []
    assert audit.verify_chain([], 0, None) == []


def test_an_edited_entry_is_detected():
    entries = chain(5)
    entries[2]["note"] = "diubah"
    assert any("entry 3" in p for p in audit.verify_chain(entries, 5, entries[-1]["hash"]))


def test_a_deleted_entry_in_the_middle_or_at_the_end_is_detected():
    entries = chain(5)
    head = entries[-1]["hash"]
    assert audit.verify_chain(entries[:2] + entries[3:], 5, head)
    assert audit.verify_chain(entries[:4], 5, head)


def test_a_rewritten_tail_without_the_head_is_detected():
    entries = chain(5)
    forged = chain(4)
    assert audit.verify_chain(forged, 5, entries[-1]["hash"])
