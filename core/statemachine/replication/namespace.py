"""A global namespace's replication state, as one cluster's namespace record holds it.

```
                StartHandover                    Failover (graceful: after the drain)
   Normal ───────────────────────▶ Handover ───────────────────────────────────▶ Normal
    │  ▲                              │                                            (new
    │  └──────── AbortHandover ───────┘                                          active)
    └── Failover (forced: at once, whatever is still in flight) ──▶ Normal (new active)
```

Rules (Temporal server):

- **Register.** A global namespace starts Normal, active in its active cluster, at
  failover version ``next_failover_version(active, 0)``
  (`service/frontend/namespace_handler.go`, `RegisterNamespace`).
- **Failover.** `UpdateNamespace` with an active cluster name sets the active cluster,
  raises the failover version to `next_failover_version(new active, version)` and puts
  the replication state back to Normal (`namespace_handler.go`, `UpdateNamespace`).
  A *forced* failover is exactly that, applied wherever the operator can reach while
  the old active cluster may still be writing.
- **Graceful failover** (`service/worker/migration/handover_workflow.go`): the active
  cluster's record goes to Handover (only for a global namespace with at least two
  clusters: `validateReplicationStateUpdate`); while in Handover the active cluster
  refuses writes (`service/history/shard/context_impl.go` returns
  `ErrNamespaceHandover`); once the standby has drained the replication tasks, the
  namespace is failed over to it; on a timeout the workflow puts the record back to
  Normal on the same cluster (AbortHandover).
- **Namespace replication.** Each cluster keeps its own record. A replicated update is
  taken only if it carries a higher failover version, and then with its active cluster
  and replication state (`common/namespace/nsreplication/replication_task_executor.go`);
  a stale or repeated update changes nothing.
- **Who writes.** A cluster writes to a run of the namespace only if its record says it
  is the active cluster and is Normal, and stamps the event with the record's failover
  version or the run's last write version if that is higher; a version it does not own
  means it is not active after all (`write_version`).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import BadInput
from core.fastenum import Enum
from core.fastinit import fast_init_all
from core.statemachine.fsm import make_table, step
from core.statemachine.replication.versions import ClusterMetadata, next_failover_version, owns

RULE = "INV-REPL-ONE-ACTIVE"


class ReplicationState(Enum):
    """`enums.v1.ReplicationState`: NORMAL and HANDOVER."""

    NORMAL = "Normal"
    HANDOVER = "Handover"


class NamespaceInput(Enum):
    START_HANDOVER = "StartHandover"
    ABORT_HANDOVER = "AbortHandover"
    FAILOVER = "Failover"


TABLE = make_table(
    "namespace replication state",
    RULE,
    ReplicationState,
    NamespaceInput,
    ReplicationState.NORMAL,
    [
        (ReplicationState.NORMAL, NamespaceInput.START_HANDOVER, ReplicationState.HANDOVER),
        (ReplicationState.NORMAL, NamespaceInput.FAILOVER, ReplicationState.NORMAL),
        (ReplicationState.HANDOVER, NamespaceInput.ABORT_HANDOVER, ReplicationState.NORMAL),
        (ReplicationState.HANDOVER, NamespaceInput.FAILOVER, ReplicationState.NORMAL),
    ],
)


@dataclass(frozen=True, slots=True)
class NamespaceRecord:
    """One cluster's record of a global namespace."""

    name: str
    active_cluster: str
    failover_version: int
    state: ReplicationState = ReplicationState.NORMAL


def register(meta: ClusterMetadata, name: str, active_cluster: str) -> NamespaceRecord:
    """A new global namespace, Normal, active in `active_cluster`."""
    return NamespaceRecord(name, active_cluster, next_failover_version(meta, active_cluster, 0))


def start_handover(record: NamespaceRecord) -> NamespaceRecord:
    """Graceful failover, step 1: the active cluster stops writing (Handover)."""
    state, _ = step(TABLE, record.state, NamespaceInput.START_HANDOVER)
    return NamespaceRecord(record.name, record.active_cluster, record.failover_version, state)


def abort_handover(record: NamespaceRecord) -> NamespaceRecord:
    """A graceful failover that timed out: back to Normal on the same active cluster."""
    state, _ = step(TABLE, record.state, NamespaceInput.ABORT_HANDOVER)
    return NamespaceRecord(record.name, record.active_cluster, record.failover_version, state)


def failover(meta: ClusterMetadata, record: NamespaceRecord, target: str) -> NamespaceRecord:
    """Make `target` active at its next failover version (forced from Normal, graceful
    from Handover). `BadInput` if `target` is already the active cluster."""
    if target == record.active_cluster:
        raise BadInput(f"namespace {record.name} is already active in {target}")
    state, _ = step(TABLE, record.state, NamespaceInput.FAILOVER)
    version = next_failover_version(meta, target, record.failover_version)
    return NamespaceRecord(record.name, target, version, state)


def apply_replicated(local: NamespaceRecord, incoming: NamespaceRecord) -> NamespaceRecord:
    """A namespace replication task: taken only if its failover version is higher."""
    if incoming.name != local.name:
        raise BadInput(f"namespace replication for {incoming.name} applied to {local.name}")
    return incoming if incoming.failover_version > local.failover_version else local


def is_active(record: NamespaceRecord, cluster: str) -> bool:
    """Whether `cluster`'s record makes it the namespace's active cluster."""
    return record.active_cluster == cluster


def write_version(
    meta: ClusterMetadata, record: NamespaceRecord, cluster: str, last_write_version: int
) -> int | None:
    """The version `cluster` stamps on a new event of a run whose current branch was last
    written under `last_write_version` (0 for a new run), or None if it may not write:
    its record does not make it active, the namespace is in Handover
    (`ErrNamespaceHandover`), or the run already holds a version above the record's that
    another cluster owns. The version is the greater of the two (`UpdateCurrentVersion`
    in `service/history/workflow/mutable_state_impl.go`) and must be this cluster's
    (`closeTransactionWithPolicyCheck` answers NamespaceNotActive otherwise)."""
    if record.active_cluster != cluster or record.state is not ReplicationState.NORMAL:
        return None
    version = max(record.failover_version, last_write_version)
    return version if owns(meta, cluster, version) else None


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
