"""Talking to the servers the serving tests start: JSON over HTTP, and readiness."""

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

STARTUP_SECONDS = 120


@dataclass(frozen=True)
class Server:
    """A server a test started: its process, base URL, log and gRPC address."""

    process: subprocess.Popen
    url: str
    log: Path
    grpc_address: str = ""


def request(
    url: str, payload: Any = None, content_type: str = "application/json"
) -> tuple[int, Any]:
    """POST `payload` (bytes as they are, anything else as JSON), or GET without one.

    Returns the status and the decoded JSON answer (its text if it is not JSON).
    """
    body = payload
    if payload is not None and not isinstance(payload, bytes):
        body = json.dumps(payload).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except json.JSONDecodeError:
        return status, raw.decode()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """Stop a server, killing it if it does not exit within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_until_ready(server: Server, ready_path: str) -> None:
    """Wait until `ready_path` answers 200; fail with the server's log if the
    server exits or takes longer than STARTUP_SECONDS."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"server exited:\n{server.log.read_text()}")
        try:
            if request(f"{server.url}{ready_path}")[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"server did not start:\n{server.log.read_text()}")
        time.sleep(0.2)
