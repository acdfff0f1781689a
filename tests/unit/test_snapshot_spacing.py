"""The local runtime's snapshots (runtime.snapshot_due): a snapshot holds every write while the state is pickled,
so the next one waits SNAPSHOT_SPACING times as long as the last took; nothing pending and no messaging round
due means no snapshot."""

from silastri_local.runtime import SNAPSHOT_SPACING, snapshot_due


def test_a_snapshot_waits_in_proportion_to_the_last_ones_duration() -> None:
    assert snapshot_due(pending=10, rounds=1, since_last=5.0, last_cost=0.01)  # small state: every round
    assert not snapshot_due(pending=10, rounds=1, since_last=5.0, last_cost=2.0)  # 2 s pause: not 5 s later
    assert snapshot_due(pending=10, rounds=8, since_last=SNAPSHOT_SPACING * 2.0, last_cost=2.0)


def test_nothing_pending_waits_for_the_messaging_round() -> None:
    assert not snapshot_due(pending=0, rounds=5, since_last=60.0, last_cost=0.0)
    assert snapshot_due(pending=0, rounds=6, since_last=60.0, last_cost=0.0)
