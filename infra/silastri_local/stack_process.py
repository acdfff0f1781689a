"""`silastri up` as a child process on loopback ports, for tests that drive the stack from outside."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

from .client import wait_for
from .template import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StackProcess:
    """`silastri up` as a child process on loopback ports; its output is kept for log checks."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.aws_port = free_port()
        self.log_path = data_dir / "stack.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def aws_url(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    def start(self) -> StackProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        env = {**os.environ, "POWERTOOLS_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "silastri_local.cli", "--data-dir", str(self.data_dir), "up",
             "--port", str(self.port), "--aws-port", str(self.aws_port), "--no-schedules"],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        wait_for(self._ready, timeout=90, interval=0.2, what="local stack start")
        return self

    def _ready(self) -> bool:
        assert self.process
        if self.process.poll() is not None:
            raise RuntimeError("stack exited:\n" + self.log_path.read_text(errors="replace")[-3000:])
        return "Tekan Ctrl+C" in self.log()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        assert self.process
        self.process.kill()
        self.process.wait()

    def officers(self) -> dict[str, dict[str, str]]:
        return json.loads((self.data_dir / "officers.json").read_text())

    def aws(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.aws_url, region_name="ap-southeast-3",
                            aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106 - local emulator

    def log(self) -> str:
        """This process's output (the file is shared with earlier runs on the same data)."""
        with self.log_path.open("rb") as handle:
            handle.seek(self._log_offset)
            return handle.read().decode(errors="replace")
