"""`tmodel simulate --scheduler ADDRESS`: an address Dask cannot use is refused at once
in one line, and a failed connection leaves nothing else on stderr."""

from __future__ import annotations

import gc
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from adapters import simulate_dask
from adapters.cli import main
from core.errors import BadInput
from sim.config import SimConfig

pytest.importorskip("distributed")


@pytest.mark.parametrize(
    "address",
    ["bogus", "tcp://127.0.0.1", "foo://x", "http://x", "inproc://x", "tcp://:::::",
     "tcp://127.0.0.1:0", "tcp://127.0.0.1:65536", "tcp://127.0.0.1:\uff18\uff17", "tcp://a b:1",
     "tcp://[::1:1", "tcp://:8786"],
)  # fmt: skip
def test_an_unusable_address_is_refused_at_once(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    began = time.monotonic()
    assert main(["simulate", "--seeds", "0..1", "--workflows", "1", "--scheduler", address]) == 2
    assert time.monotonic() - began < 5
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"tmodel simulate: --scheduler {address}: "), err


@pytest.mark.parametrize(
    ("address", "dask"),
    [("127.0.0.1:8786", "tcp://127.0.0.1:8786"), ("tcp://[::1]:8786", "tcp://[::1]:8786"),
     ("tcp://scheduler.example-1.org:1", "tcp://scheduler.example-1.org:1")],
)  # fmt: skip
def test_a_well_formed_address_is_taken(address: str, dask: str) -> None:
    assert simulate_dask.scheduler_address(address) == dask


@pytest.fixture
def not_dask() -> Iterator[int]:
    """A port where something answers with bytes no Dask scheduler sends."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def answer() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.sendall(b"\xff" * 64)
            time.sleep(0.5)
            conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_a_failed_connection_says_one_thing_only(
    not_dask: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    ignored: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    monkeypatch.setattr(simulate_dask, "CONNECT_TIMEOUT", "5s")
    began = time.monotonic()
    with pytest.raises(BadInput, match=r"cannot connect|not as a Dask scheduler"):
        simulate_dask.run_on_cluster([SimConfig(workflows=1)], f"127.0.0.1:{not_dask}", False)
    gc.collect()
    assert time.monotonic() - began < 15
    assert not ignored, [str(u.exc_value) for u in ignored]
