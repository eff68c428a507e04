"""A seed sweep on a Dask cluster: `tmodel simulate --seeds A..B --scheduler ADDRESS`.

Theory of operation. A run is one thread on a virtual clock, and seeds are independent,
so a sweep spreads over machines as it spreads over the processes of one (`--jobs`,
`adapters.simulate_pool`): each seed is one Dask task, `simulate_pool.run_one(config,
full)`, sent to a `dask.distributed` scheduler (``dask scheduler``) that hands it to a
worker (``dask worker ADDRESS`` on any machine with this package installed). A run's
trace hash depends on its config alone, so a seed gives the same hash on any worker, or
here.

- Before the sweep, every worker runs a canary simulation and must get the hash this
  process gets: a worker with another version of the simulator would give other hashes,
  and the sweep is refused (exit 2) rather than mixing them.
- At most a few tasks per worker thread are in flight; as each result streams back the
  progress bar advances and the next seed is submitted, so the scheduler and this
  process hold a window of the sweep, not all of it.
- A worker that dies mid-sweep loses its running seeds; the scheduler runs them again on
  another worker (a seed whose workers keep dying, three by default, fails the sweep).
  Runs are deterministic, so a re-run seed's hash is the one the first run would have
  given.
- Results come back slim (no histories, no trace) unless `full`; a failing seed is
  shrunk afterwards here, locally, as for a local sweep.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from adapters.simulate_pool import Done, run_one
from core.errors import BadInput
from sim.config import SimConfig
from sim.run import simulate

CONNECT_TIMEOUT = "20s"
WORKERS_TIMEOUT = 120.0  # seconds to wait for the first worker to join
TASKS_PER_THREAD = 2  # tasks in flight per worker thread
CANARY = SimConfig(seed=0, workflows=3)


def canary_hash() -> str:
    """The trace hash of a small fixed run: the same on every copy of this simulator."""
    return simulate(CANARY).trace_hash


def _worker_canary() -> str:
    """`canary_hash` as a worker computes it (its own copy of this module's code)."""
    return simulate(CANARY).trace_hash


def run_on_cluster(
    configs: Sequence[SimConfig],
    address: str,
    full: bool,
    on_done: Callable[[int], None] | None = None,
) -> list[Done]:
    """Every config's result, in the order given, run on the Dask cluster at `address`.

    `on_done(i)` is called here as config `i`'s result arrives. Raises `BadInput` (one
    line) when the cluster cannot be reached or used."""
    address = scheduler_address(address)
    with _client(address) as client:
        _check_workers(client)
        return _sweep(client, configs, full, on_done)


ADDRESS_FORM = "tcp://HOST:PORT"
_HOST_NAME = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
)


def scheduler_address(address: str) -> str:
    """`address` as Dask takes it, ``tcp://HOST:PORT``; a bare ``HOST:PORT`` means tcp.
    Anything else is refused at once (`BadInput`), before Dask is asked to connect."""
    text = address.strip()
    rest = text.removeprefix("tcp://")
    if "://" in rest:
        raise BadInput(f"--scheduler {address}: expected {ADDRESS_FORM} (Dask's tcp protocol)")
    host, colon, port = rest.rpartition(":")
    if not colon:
        raise BadInput(f"--scheduler {address}: expected {ADDRESS_FORM} (no port given)")
    if not _is_host(host):
        raise BadInput(f"--scheduler {address}: expected {ADDRESS_FORM} with a host name or IP")
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise BadInput(f"--scheduler {address}: the port must be a number in 1..65535")
    return f"tcp://{rest}"


def _is_host(host: str) -> bool:
    if host.startswith("[") and host.endswith("]"):  # an IPv6 address, as in a URL
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    return host.isascii() and len(host) <= 253 and _HOST_NAME.fullmatch(host) is not None


@contextmanager
def _client(address: str) -> Iterator[Any]:
    try:
        import distributed
    except ImportError:
        raise BadInput(
            "--scheduler needs Dask's distributed package: pip install 'temporal-model[dask]'"
        ) from None
    logging.getLogger("distributed").setLevel(logging.ERROR)  # its own notes, not ours
    try:
        client = _quiet_client(distributed)(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except MemoryError:  # it sent a frame length no scheduler sends
        raise BadInput(
            f"--scheduler {address}: something answered, but not as a Dask scheduler"
        ) from None
    except Exception as exc:  # whatever answered there, it is not a usable scheduler
        raise BadInput(f"--scheduler {address}: cannot connect ({_reason(exc)})") from None
    try:
        yield client
    finally:
        client.close()


def _quiet_client(distributed: Any) -> Any:
    """Dask's Client, except that one whose connection failed stops its event loop when
    it is collected. Dask's own `__del__` would wait 40 s to close it and then print a
    traceback on stderr ("Exception ignored in Client.__del__")."""

    class QuietClient(distributed.Client):  # type: ignore[misc]
        def __del__(self) -> None:
            if getattr(self, "status", "") in ("running", "closed"):
                super().__del__()
                return
            runner = getattr(self, "_loop_runner", None)
            if runner is not None:
                with suppress(Exception):  # the object is half built: nothing more to do
                    runner.stop(timeout=1)

    return QuietClient


def _check_workers(client: Any) -> None:
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
    except TimeoutError:
        raise BadInput(f"no Dask worker joined the scheduler in {WORKERS_TIMEOUT:g} s") from None
    expected = canary_hash()
    for worker, got in sorted(client.run(_worker_canary).items()):
        if got != expected:
            raise BadInput(
                f"Dask worker {worker} simulates differently (canary trace hash {got[:16]}, "
                f"here {expected[:16]}): install this version of temporal-model there"
            )


def _sweep(
    client: Any,
    configs: Sequence[SimConfig],
    full: bool,
    on_done: Callable[[int], None] | None,
) -> list[Done]:
    import distributed

    sweep = uuid.uuid4().hex[:12]  # task keys of this sweep only
    index: dict[str, int] = {}
    queue = iter(range(len(configs)))

    def submit() -> Any | None:
        i = next(queue, None)
        if i is None:
            return None
        key = f"tmodel-simulate-{sweep}-seed-{configs[i].seed}-{i}"
        index[key] = i
        return client.submit(run_one, configs[i], full, key=key, pure=False)

    window = max(2, TASKS_PER_THREAD * sum(client.nthreads().values()))
    started = [f for f in (submit() for _ in range(window)) if f is not None]
    results: dict[int, Done] = {}
    pending = _untyped(distributed).as_completed(started, loop=client.loop)
    for future in pending:
        try:
            done: Done = future.result()
        except Exception as exc:
            if type(exc).__name__ != "KilledWorker":
                raise  # a simulation failed: a bug of tmodel, reported as one (exit 3)
            raise BadInput(f"seed {configs[index[future.key]].seed}: {exc}") from None
        i = index.pop(future.key)
        results[i] = done
        if on_done is not None:
            on_done(i)
        following = submit()
        if following is not None:
            pending.add(following)
    return [results[i] for i in range(len(configs))]


def _untyped(module: object) -> Any:
    """The distributed package, called through `Any`: it ships partial type hints."""
    return module


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
