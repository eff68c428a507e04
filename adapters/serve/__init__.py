"""`tmodel serve`: the model as a Temporal server that official SDKs and tools talk to.

Modules: kernel (the live clock driving the simulator's kernel), runtime (the server
nodes of sim.server on that kernel), convert (protobuf <-> core values), tokens, errors,
frontend (state shared by handlers), rpc_* (the RPC handlers by family), visibility
(list and count queries), server (the gRPC server), gate (the listener, bound before the
model loads), access and auth (who may call what, --auth), limits (what keeps callers
from starving each other), chaos (live faults, --faults), report (the invariant report),
watch (commit waiters, the history events notifier and the live monitor), store
(SQLite durability, --store), internal_worker (Temporal's system workflows run inside
the server), batcher and rpc_batch (batch operations), schedule_activities and
rpc_schedules (schedules), retention (deletion after the retention, archival with
--archive), rpc_build_ids (worker versioning v1's compatible version sets).
"""
