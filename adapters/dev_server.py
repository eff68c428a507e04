"""Starting and stopping `temporal server start-dev` on loopback, for the real-server
benchmark (`adapters/bench_simulate.py`), the history recorder
(`scripts/record_histories.py`) and the live conformance tests. Every listener is pinned
to 127.0.0.1; the server keeps its state in memory, so it dies with the process, unless
`DevServer` is given a database file."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path

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


class DevServer:
    """`temporal server start-dev` on loopback ports of its own; with a database file it
    keeps its state across `restart()` (a durable target for the server-restart fault),
    without one its state lives and dies with the process."""

    def __init__(
        self,
        binary: str,
        log_path: Path,
        extra: Sequence[str] = (),
        db_file: Path | None = None,
    ) -> None:
        self.ports = free_loopback_ports(4)
        self.command = server_command(binary, self.ports, extra)
        if db_file is not None:
            self.command += ["--db-filename", str(db_file)]
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.ports[0]}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def restart(self) -> None:
        """Stop the server and start it again on the same ports (and database)."""
        self.stop()
        self.start()

    def exited(self) -> bool:
        return self.proc is None or self.proc.poll() is not None

    def __enter__(self) -> DevServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
