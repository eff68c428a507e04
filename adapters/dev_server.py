"""Starting and stopping `temporal server start-dev` on loopback, for the real-server
benchmark (`adapters/bench_simulate.py`) and the history recorder
(`scripts/record_histories.py`). Every listener is pinned to 127.0.0.1; the server keeps
its state in memory, so it dies with the process."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Sequence

LOOPBACK = "127.0.0.1"


def free_loopback_ports(count: int) -> list[int]:
    """Ask the OS for distinct free ports (all sockets open at once)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((LOOPBACK, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def server_command(binary: str, ports: Sequence[int], extra: Sequence[str] = ()) -> list[str]:
    """The start-dev command line for ports (grpc, ui, http, metrics), plus `extra` flags."""
    grpc, ui, http, metrics = ports
    command = [binary, "server", "start-dev", "--ip", LOOPBACK, "--port", str(grpc)]
    command += ["--ui-port", str(ui), "--http-port", str(http), "--metrics-port", str(metrics)]
    command += ["--headless", "--log-level", "error", *extra]
    return command  # no --db-filename: in-memory state dies with the process


def stop_process(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Terminate `proc`, killing it if it has not gone after `grace` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)
