"""`silastri audit verify` against the running stack detects an edited or deleted entry."""

from __future__ import annotations

import json
import subprocess
import sys

from silastri_local.journey import Journey


def audit_verify(stack, application_id: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "silastri_local.cli", "--data-dir", str(stack.data_dir), "audit",
                           "verify", "--application", application_id], capture_output=True, text=True, timeout=120)


def test_audit_trail_is_hash_chained_and_tampering_is_detected(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    journey.decide("back_office", "completeness_check", "complete", "Lengkap")
    journey.task("verifier", "verification")
    timeline = journey.status()["timeline"]
    assert [e["seq"] for e in timeline] == list(range(1, len(timeline) + 1))
    decided = next(e for e in timeline if e["action"] == "decided")
    assert decided["actor_role"] == "back_office" and decided["note"] == "Lengkap" and decided["hash"]

    ok = audit_verify(stack, journey.application_id)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK" in ok.stdout

    ddb = stack.aws("dynamodb")
    key = {"application_id": {"S": journey.application_id}, "event_id": {"S": f"{decided['seq']:08d}"}}
    original = ddb.get_item(TableName="silastri-EventsTable", Key=key)["Item"]
    body = json.loads(original["body"]["S"])  # the entry is stored as JSON text
    body["note"] = "Tidak lengkap"
    edited = {**original, "body": {"S": json.dumps(body)}}
    ddb.put_item(TableName="silastri-EventsTable", Item=edited)
    tampered = audit_verify(stack, journey.application_id)
    assert tampered.returncode == 1 and "changed" in tampered.stdout

    ddb.put_item(TableName="silastri-EventsTable", Item=original)
    assert audit_verify(stack, journey.application_id).returncode == 0
    ddb.delete_item(TableName="silastri-EventsTable", Key=key)
    deleted = audit_verify(stack, journey.application_id)
    assert deleted.returncode == 1 and "missing" in deleted.stdout
