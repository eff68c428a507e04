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

Out of scope (SCOPE-REPL-ACTIVITY-STATE in spec/README.md): sync-activity replication
tasks, which copy a pending activity's heartbeat details, attempt and last failure to
the standby clusters (`service/history/ndc/activity_state_replicator.go`).
"""
