"""A global namespace replicated between N clusters (`tmodel simulate --clusters N`).

Theory of operation. Each cluster is one `Site`: its record of the global namespace
(`core.statemachine.replication.namespace`) and its copies of every workflow's runs
(`endpoint.WorkflowCopies`). The namespace starts active in ``cluster-a``. A client per
workflow starts it, sends it signals and completes it, each time at a cluster whose own
record says it is active (one at random if, after a forced failover, several do); a
write the cluster refuses is retried later, and only a written signal is acknowledged.
Every write, reapplication and namespace failover is shipped to the other clusters as a
message over the simulated network: history replication tasks, resync requests and
answers, forwarded reapplications, namespace records. A message stays with its sender
until the receiver acknowledges it and is sent again every `RETRY`, so the network may
lose, delay, reorder and (a lost acknowledgement) duplicate it; the receiver applies
everything through the pure core (`endpoint.receive`, `receive_forward`,
`resync_answer`, `namespace.apply_replicated`).

This level models what replication sees of a run (its events and versions), not the
history service, matching and workers of each cluster: a multi-cluster run does not run
N copies of the single-cluster simulator. The invariants are checked as the run goes
(INV-REPL-CLOSES-ONCE and INV-REPL-IDEMPOTENT after every change, INV-REPL-ONE-ACTIVE
after every failover and namespace update) and once all faults have healed and every
message is acknowledged (INV-REPL-CONVERGENCE, INV-REPL-NO-LOST-SIGNAL,
INV-REPL-VERSION-OWNER); a run that does not drain within `DRAIN_BOUND` of the heal is
an INV-REPL-CONVERGENCE violation. INV-REPL-NO-LOST-SIGNAL excuses the signals a
cluster's reapply API dropped as its own (`dropped`, logged "dropped own"): Temporal's
gap GAP-REPL-OWN-CLUSTER-REAPPLY, which `strictly_lost` still reports.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from core.enums import EventType
from core.errors import BadInput
from core.statemachine.replication import endpoint
from core.statemachine.replication import invariants as inv
from core.statemachine.replication import namespace as ns
from core.statemachine.replication.applier import Outcome, ReplicationTask, ResyncRequest
from core.statemachine.replication.endpoint import Forward, WorkflowCopies
from core.statemachine.replication.replica import RunReplica
from core.statemachine.replication.versions import make_metadata
from sim.config import FaultItem, SimConfig
from sim.kernel import MS, SECOND, T0, Kernel
from sim.multicluster_faults import check_config, cluster_names, plan_for
from sim.multicluster_mutants import Mutant, mutant_for
from sim.run import RunResult, Violation

NAMESPACE = "global"
INCREMENT = 10
LATENCY = (1 * MS, 5 * MS)  # one cross-cluster message
RETRY = 60 * MS  # an unacknowledged message is sent again
CLIENT_RETRY = 25 * MS
HANDOVER_TIMEOUT = 1 * SECOND
DRAIN_BOUND = 60 * SECOND
START_SPREAD = 1500 * MS  # workflows start evenly over this span, so faults meet them

Payload = ReplicationTask | Forward | ResyncRequest | ns.NamespaceRecord


@dataclass
class Site:
    name: str
    record: ns.NamespaceRecord
    copies: dict[str, WorkflowCopies] = field(default_factory=dict)


@dataclass
class Pending:
    src: str
    dst: str
    workflow: str
    payload: Payload


class MultiCluster:
    def __init__(self, config: SimConfig) -> None:
        check_config(config)
        self.config = config
        self.kernel = Kernel(config.seed)
        self.plan, self.swarm = plan_for(config, self.kernel.rng)
        self.names = cluster_names(config.clusters)
        self.meta = make_metadata(INCREMENT, {n: i + 1 for i, n in enumerate(self.names)})
        first = ns.register(self.meta, NAMESPACE, self.names[0])
        self.sites = {n: Site(n, first) for n in self.names}
        self.mutant: Mutant = mutant_for(config.mutant)
        self.pending: dict[int, Pending] = {}
        self.next_id = 0
        self.active_faults: list[FaultItem] = []
        self.acked: dict[str, set[str]] = {}
        self.dropped: dict[str, set[str]] = {}  # per workflow: see the module docstring
        self.violations: list[Violation] = []
        self.faults: dict[str, int] = {}
        self.clients_done = 0

    # -- the network ----------------------------------------------------------------------
    def send(self, src: str, dst: str, workflow: str, payload: Payload) -> None:
        self.next_id += 1
        self.pending[self.next_id] = Pending(src, dst, workflow, payload)
        self._transmit(self.next_id)

    def _transmit(self, msg_id: int) -> None:
        msg = self.pending.get(msg_id)
        if msg is None:
            return
        self.kernel.after(RETRY, self._transmit, msg_id)
        if isinstance(msg.payload, Forward):  # to whichever cluster the sender now thinks active
            msg.dst = self.sites[msg.src].record.active_cluster
        self._hop(msg.src, msg.dst, self._deliver, msg_id)

    def _hop(self, src: str, dst: str, fn: Callable[[int], None], msg_id: int) -> None:
        kernel = self.kernel
        for item in self.active_faults:
            if item.kind == "cluster-partition" and set(item.target.split("|")) == {src, dst}:
                return self._count("cluster-partition")
            if item.kind == "replication-loss" and kernel.chance(float(item.param("rate", 0))):
                return self._count("replication-loss")
        delay = kernel.jitter(*LATENCY)
        for item in self.active_faults:
            if item.kind == "replication-lag":
                delay += kernel.jitter(0, int(item.param("max_ns", 0)))
                self._count("replication-lag")
        kernel.after(delay, fn, msg_id)

    def _deliver(self, msg_id: int) -> None:
        msg = self.pending.get(msg_id)
        if msg is not None and self._receive(msg):
            self._hop(msg.dst, msg.src, self._ack, msg_id)

    def _ack(self, msg_id: int) -> None:
        self.pending.pop(msg_id, None)

    def _count(self, kind: str) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1

    def broadcast(self, src: str, workflow: str, payload: Payload) -> None:
        for dst in self.names:
            if dst != src:
                self.send(src, dst, workflow, payload)

    # -- receiving --------------------------------------------------------------------------
    def _receive(self, msg: Pending) -> bool:
        """Handle `msg` at its destination; False leaves it unacknowledged (retried)."""
        site, payload, wf = self.sites[msg.dst], msg.payload, msg.workflow
        log = self.kernel.log
        if isinstance(payload, ns.NamespaceRecord):
            site.record = ns.apply_replicated(site.record, payload)
            log(
                site.name,
                f"namespace active={site.record.active_cluster} v={site.record.failover_version}",
            )
            self._check_one_active()
            return True
        copies = site.copies.get(wf, WorkflowCopies())
        if isinstance(payload, ResyncRequest):
            answer = endpoint.resync_answer(copies, site.name, payload)
            if answer is not None:
                self.send(site.name, msg.src, wf, answer)
            return True
        if isinstance(payload, Forward):
            got = self.mutant.receive_forward(self.meta, site.record, site.name, copies, payload)
            if got is None:
                return False
            log(site.name, f"{wf} reapply-forwarded {len(payload.events)} events")
            if got.dropped:
                ids = [e.request_id for e in got.dropped]
                self.dropped.setdefault(wf, set()).update(ids)
                log(site.name, f"{wf} dropped own {' '.join(ids)}")
        else:
            try:
                got = self.mutant.receive(self.meta, site.record, site.name, copies, payload)
            except BadInput as exc:  # InvalidArgument: the task goes to the DLQ
                log(site.name, f"{wf} task {payload.run_id} {_span(payload)} rejected: {exc}")
                return True
            outcome = got.applied.outcome.value if got.applied is not None else "-"
            if got.retry:  # the reapplication cannot be written now: nothing kept, retried
                log(site.name, f"{wf} task {payload.run_id} {_span(payload)} {outcome}, retry")
                return False
            log(site.name, f"{wf} task {payload.run_id} {_span(payload)} {outcome}")
            if got.applied is not None and got.applied.outcome not in (Outcome.RESYNC,):
                self._check_idempotent(site, wf, got.copies, payload)
        self._store(site, wf, got.copies)
        for task in got.send:
            log(site.name, f"{wf} reapplied {task.run_id} {_span(task)} v={task.version}")
            self.broadcast(site.name, wf, task)
        if got.forward is not None:
            self.send(site.name, site.record.active_cluster, wf, got.forward)
        if got.resync is not None:
            self.send(site.name, msg.src, wf, got.resync)
            return False
        return True

    def _store(self, site: Site, wf: str, copies: WorkflowCopies) -> None:
        site.copies[wf] = copies
        for run in copies.runs:
            if not inv.closes_once(run):
                self._violate("INV-REPL-CLOSES-ONCE", f"{site.name}: two closes", run.run_id)
            if not inv.well_numbered(run):
                self._violate("INV-REPL-IDEMPOTENT", f"{site.name}: numbering", run.run_id)

    def _check_idempotent(
        self, site: Site, wf: str, copies: WorkflowCopies, task: ReplicationTask
    ) -> None:
        again = self.mutant.receive(self.meta, site.record, site.name, copies, task)
        if again.copies != copies or again.send or again.forward is not None:
            self._violate(
                "INV-REPL-IDEMPOTENT", f"{site.name}: a task applied twice changed more", wf
            )

    def _check_one_active(self) -> None:
        if not inv.one_active(s.record for s in self.sites.values()):
            self._violate("INV-REPL-ONE-ACTIVE", "two clusters active at one version", None)

    def _violate(self, rule: str, message: str, run_id: str | None) -> None:
        self.kernel.log("monitor", f"VIOLATION {rule} {message}")
        self.violations.append(Violation(rule, message, self.kernel.now - T0, run_id))

    # -- clients ----------------------------------------------------------------------------
    def client(self, wf: str, steps: list[tuple[EventType, str]], tries: int) -> None:
        """Write `steps[0]` at an active cluster, then the rest, one per `gap`."""
        if not steps:
            self.clients_done += 1
            return
        event_type, request_id = steps[0]
        active = [s for s in self.sites.values() if s.record.active_cluster == s.name]
        site = self.kernel.rng.choice(active) if active else None
        written = None
        if site is not None:
            copies = site.copies.get(wf, WorkflowCopies())
            run_id = f"{wf}/run" if event_type is EventType.WORKFLOW_EXECUTION_STARTED else None
            written = self.mutant.write_local(
                self.meta, site.record, site.name, copies, event_type, request_id, run_id
            )
        if written is None or site is None:
            if tries > 200:  # the client gives up; nothing was acknowledged
                self.clients_done += 1
                return
            self.kernel.after(CLIENT_RETRY, self.client, wf, steps, tries + 1)
            return
        copies, task = written
        self.kernel.log(site.name, f"{wf} wrote {event_type.name} v={task.version}")
        self._store(site, wf, copies)
        if request_id:
            self.acked.setdefault(wf, set()).add(request_id)
        self.broadcast(site.name, wf, task)
        gap = self.kernel.jitter(20 * MS, 300 * MS)
        self.kernel.after(gap, self.client, wf, steps[1:], 0)

    # -- faults -----------------------------------------------------------------------------
    def schedule_faults(self) -> int:
        heal = T0
        for item in self.plan.items:
            self.kernel.at(T0 + item.at, self._fault_on, item)
            if item.duration:
                self.kernel.at(T0 + item.at + item.duration, self._fault_off, item)
            heal = max(heal, T0 + item.at + item.duration)
        return heal

    def _fault_on(self, item: FaultItem) -> None:
        self.kernel.log("faults", f"on {item.kind} {item.target}")
        if item.kind == "failover-forced":
            self._count(item.kind)
            self._failover(self.sites[item.target], item.target)
        elif item.kind == "failover-graceful":
            self._graceful(item.target)
        else:
            self.active_faults.append(item)

    def _fault_off(self, item: FaultItem) -> None:
        self.kernel.log("faults", f"off {item.kind} {item.target}")
        if item in self.active_faults:
            self.active_faults.remove(item)

    def _failover(self, site: Site, target: str) -> None:
        if site.record.active_cluster == target:
            return
        site.record = self.mutant.failover(self.meta, site.record, target)
        self.kernel.log(site.name, f"failover to {target} v={site.record.failover_version}")
        self._check_one_active()
        self.broadcast(site.name, "", site.record)

    def _graceful(self, target: str) -> None:
        """Handover at the cluster that believes it is active, drain, then move."""
        site = next((s for s in self.sites.values() if s.record.active_cluster == s.name), None)
        if site is None or site.name == target or site.record.state is ns.ReplicationState.HANDOVER:
            return
        self._count("failover-graceful")
        site.record = ns.start_handover(site.record)
        self.kernel.log(site.name, f"handover to {target}")
        self._drain_then_move(site, target, self.kernel.now + HANDOVER_TIMEOUT)

    def _drain_then_move(self, site: Site, target: str, deadline: int) -> None:
        if site.record.state is not ns.ReplicationState.HANDOVER:
            return  # a newer record (a forced failover elsewhere) replaced the handover
        if not any(p.src == site.name and p.dst == target for p in self.pending.values()):
            self._failover(site, target)
        elif self.kernel.now >= deadline:
            site.record = ns.abort_handover(site.record)
            self.kernel.log(site.name, "handover aborted")
        else:
            self.kernel.after(10 * MS, self._drain_then_move, site, target, deadline)

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> RunResult:
        config, kernel = self.config, self.kernel
        kernel.log(
            "run",
            f"seed={config.seed} clusters={config.clusters} workflows={config.workflows} "
            f"mutant={config.mutant} swarm={self.swarm}",
        )
        started = config.started()
        for index in started:
            steps = _script(config.seed, index)
            start = T0 + 50 * MS + index * START_SPREAD // config.workflows
            kernel.at(start, self.client, f"wf-{index}", steps, 0)
        heal = self.schedule_faults()
        until = max(heal, T0 + 50 * MS + START_SPREAD) + DRAIN_BOUND
        kernel.run(until, lambda: self._quiet(len(started), heal))
        self._final_checks(len(started), heal)
        return self._result()

    def _quiet(self, total: int, heal: int) -> bool:
        return self.kernel.now >= heal and self.clients_done >= total and not self.pending

    def _final_checks(self, total: int, heal: int) -> None:
        if not self._quiet(total, heal):
            waiting = f"{len(self.pending)} messages, {total - self.clients_done} clients"
            self._violate("INV-REPL-CONVERGENCE", f"not drained: {waiting} waiting", None)
            return
        self._check_one_active()
        sites = list(self.sites.values())
        for wf in sorted({w for s in sites for w in s.copies}):
            held = [s.copies.get(wf, WorkflowCopies()) for s in sites]
            views = [{r.run_id: r for r in copies.runs} for copies in held]
            if not inv.converged(views, [copies.current_id for copies in held]):
                self._violate("INV-REPL-CONVERGENCE", f"{wf}: current runs differ", wf)
            for site, view in zip(sites, views, strict=True):
                excused = self.dropped.get(wf, set())
                if not inv.signals_kept(self.acked.get(wf, set()), view, excused):
                    self._violate("INV-REPL-NO-LOST-SIGNAL", _lost(wf, site, view), wf)
                if not inv.versions_owned(self.meta, view.values()):
                    self._violate("INV-REPL-VERSION-OWNER", f"{wf}: at {site.name}", wf)

    def strictly_lost(self) -> dict[str, list[str]]:
        """Per cluster, the workflows with an acknowledged signal on no current branch,
        excused or not: the losses Temporal's gap causes, for tests and docs."""
        return {
            site.name: [
                wf
                for wf, copies in sorted(site.copies.items())
                if not inv.signals_kept(
                    self.acked.get(wf, set()), {r.run_id: r for r in copies.runs}
                )
            ]
            for site in self.sites.values()
        }

    def _result(self) -> RunResult:
        kernel = self.kernel
        kernel.log("run", f"end violations={len(self.violations)}")
        first = self.sites[self.names[0]]
        events = sum(len(b) for c in first.copies.values() for r in c.runs for b in r.branches)
        workflow_ids = {r.run_id: wf for wf, c in first.copies.items() for r in c.runs}
        return RunResult(
            seed=self.config.seed,
            trace_hash=kernel.trace_hash,
            workflows=len(self.config.started()),
            events=events,
            faults=dict(sorted(self.faults.items())),
            violations=tuple(self.violations),
            virtual_ns=kernel.now - T0,
            plan=self.plan,
            swarm=self.swarm,
            histories={},
            trace=tuple(kernel.trace),
            workflow_ids=workflow_ids,
            requests=self.next_id,  # cross-cluster messages sent
        )


def _lost(wf: str, site: Site, view: dict[str, RunReplica]) -> str:
    """Which acknowledged signals no current branch of `view` holds, with the version and
    cluster they were written under (from a branch that still has them)."""
    current = {e.request_id for r in view.values() for e in r.current_events}
    written = {
        e.request_id: f"v={e.version} by {e.origin}"
        for r in view.values()
        for branch in r.branches
        for e in branch
        if e.request_id
    }
    lost = sorted(set(written) - current)
    said = ", ".join(f"{rid} ({written[rid]})" for rid in lost) or "a signal"
    return f"{wf}: {said} on no current branch at {site.name}"


def _span(task: ReplicationTask) -> str:
    return f"{task.events[0].event_id}..{task.events[-1].event_id}"


def _script(seed: int, index: int) -> list[tuple[EventType, str]]:
    """Workflow `index`'s client: start, 0-4 signals, complete (its own RNG stream)."""
    rng = random.Random(f"tmodel-multicluster/{seed}/{index}")
    signals = [
        (EventType.WORKFLOW_EXECUTION_SIGNALED, f"wf-{index}/signal-{k}")
        for k in range(rng.randint(0, 4))
    ]
    return [
        (EventType.WORKFLOW_EXECUTION_STARTED, ""),
        *signals,
        (EventType.WORKFLOW_EXECUTION_COMPLETED, ""),
    ]


def run_multicluster(config: SimConfig) -> RunResult:
    return MultiCluster(config).run()
