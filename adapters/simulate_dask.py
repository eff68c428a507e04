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

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
    with _client(address) as client:
        _check_workers(client)
        return _sweep(client, configs, full, on_done)


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
        client = _untyped(distributed).Client(
            address, timeout=CONNECT_TIMEOUT, set_as_default=False
        )
    except (OSError, TimeoutError, ValueError) as exc:
        raise BadInput(f"--scheduler {address}: cannot connect ({_reason(exc)})") from None
    try:
        yield client
    finally:
        client.close()


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
