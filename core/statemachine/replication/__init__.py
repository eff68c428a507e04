"""Multi-cluster replication of global namespaces: failover versions, version histories,
the history replication applier, conflict resolution and the events reapplier.

```
  active cluster ── local write (append_local, stamped write_version) ──▶ replication task
        │                                                                      │
        │ namespace failover (graceful: Handover, drain, Failover; forced)     ▼
        ▼                                                 passive: apply_task ─▶ Applied
  namespace record ── namespace replication (higher version wins) ──▶ other clusters
                                                  Backfilled? ─▶ reapply.decide ─▶ reapply /
                                                                   reset_run / forward
```

Modules, in the order a reader needs them:

- `versions`: cluster metadata, failover version ownership and increments.
- `namespace`: one cluster's record of a global namespace and its failover machine.
- `version_history`: items, branches, LCA, the append and fork rules.
- `replica`: one cluster's copy of a run (branches and events) and its lifecycle table.
- `applier`: applying a replication task; building tasks and resync answers at the source.
- `reapply`: reapplying a losing branch's signals, updates and cancel requests.
- `endpoint`: one cluster's side for one workflow: local writes, received tasks and
  forwards, with reapplication; every message to send is returned, never sent.
- `invariants`: the INV-REPL-* predicates.

Pure: no I/O, clock or randomness; every value is frozen and hashable.

How a driver (the simulator, the checker model) uses it, per cluster ``c``:

1. ``meta = versions.make_metadata(increment, {name: initial version})`` once; each
   cluster keeps ``record = namespace.register(meta, ns, active)`` and a
   `endpoint.WorkflowCopies` per workflow.
2. A client request at ``c``: ``endpoint.write_local(meta, record, c, copies, event_type,
   request_id)`` gives the new copies and the `ReplicationTask` to send to every other
   cluster, or None (``c`` may not write: the request fails, as NamespaceNotActive).
3. A task delivered to ``c``: ``endpoint.receive(meta, record, c, copies, task)``. Keep
   ``got.copies``; send ``got.send`` to every other cluster; deliver ``got.forward`` to
   the cluster ``record`` names active; on ``got.resync`` ask ``task.source`` for
   ``endpoint.resync_answer(its copies, source, got.resync)`` and deliver the answer,
   then the task again; on ``got.retry`` deliver the task again later.
4. A forward delivered to ``c``: ``endpoint.receive_forward(...)``; None means later.
   Keep the request ids of ``got.dropped`` for INV-REPL-NO-LOST-SIGNAL.
5. Failovers: ``namespace.failover`` (forced, or after ``start_handover`` once drained)
   on one cluster's record; other clusters take it with ``namespace.apply_replicated``.
6. Check the `invariants` predicates on every state; the convergence and lost-signal
   ones once faults have healed and nothing is in flight.

Out of scope (SCOPE-REPL-ACTIVITY-STATE in spec/README.md): sync-activity replication
tasks, which copy a pending activity's heartbeat details, attempt and last failure to
the standby clusters (`service/history/ndc/activity_state_replicator.go`).
"""
