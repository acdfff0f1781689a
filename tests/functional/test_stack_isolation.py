"""moto's backends are process-wide; a local stack holds only what its own data directory holds."""

from __future__ import annotations

import os

import boto3
from silastri_local.runtime import LocalStack


def _stack(data_dir) -> LocalStack:
    return LocalStack(data_dir=data_dir, api_port=0, persist=False, run_schedules=False,
                      run_event_sources=False).start()


def test_a_stack_started_after_another_in_one_process_starts_empty(tmp_path):
    saved = dict(os.environ)
    try:
        first = _stack(tmp_path / "first")
        try:
            assert first.resources
            queue = first.resources.refs["NotificationsQueue"]
            boto3.client("sqs").send_message(QueueUrl=queue, MessageBody="left by the first stack")
            boto3.client("s3").put_object(Bucket=first.resources.refs["DocumentsBucket"], Key="stray.txt",
                                          Body=b"x")
        finally:
            first.stop()
        second = _stack(tmp_path / "second")
        try:
            assert second.resources
            sqs = boto3.client("sqs")
            queue = second.resources.refs["NotificationsQueue"]
            attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
            assert attributes["ApproximateNumberOfMessages"] == "0"
            assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
            listed = boto3.client("s3").list_objects_v2(Bucket=second.resources.refs["DocumentsBucket"])
            assert "stray.txt" not in [o["Key"] for o in listed.get("Contents", [])]
        finally:
            second.stop()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_up_on_a_port_in_use_says_so_and_exits_non_zero(tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "silastri_local.cli", "--data-dir", str(tmp_path / "data"), "up",
                               "--port", str(port), "--no-schedules"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"port {port}" in done.stderr and "sudah dipakai" in done.stderr and "Traceback" not in done.stderr
