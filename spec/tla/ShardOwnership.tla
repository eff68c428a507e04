--------------------------- MODULE ShardOwnership ---------------------------
(***************************************************************************)
(* Range-id fencing of a history shard across host failover               *)
(* (docs/temporal-semantics.md#history-shards).                            *)
(*                                                                         *)
(* A host acquires the shard by incrementing the shard row's range_id and *)
(* reloading mutable state; a host that lost the shard may still believe   *)
(* it owns it (a paused process, a partition).  Every write of the         *)
(* execution is conditional on the shard's range_id and on the execution's *)
(* next event id; a write can also time out after it committed, which the  *)
(* host learns only by reloading.  `db` is the execution's history in the  *)
(* database; each event remembers the writer, its range id and the         *)
(* range_id of the shard row when it committed.                            *)
(***************************************************************************)
EXTENDS Integers, Sequences

CONSTANTS
    Hosts,
    MaxRange,     \* shard acquisitions
    MaxWrites,    \* write attempts in a behaviour
    BUG_NO_RANGE_CHECK,       \* INV_SINGLE_SHARD_WRITER: the write ignores range_id
    BUG_NO_NEXT_EVENT_CHECK   \* INV_DURABLE_HISTORY: a blind put at the cached position

VARIABLES
    dbRange,     \* range_id in the shard row
    db,          \* the execution's committed events
    committed,   \* ghost: the first event ever committed at each position
    hostRange,   \* the range id each host believes it holds (0: never acquired)
    cache,       \* each host's cached next-event position (its mutable state)
    writes       \* write attempts so far

vars == <<dbRange, db, committed, hostRange, cache, writes>>

Init ==
    /\ dbRange = 0
    /\ db = <<>>
    /\ committed = <<>>
    /\ hostRange = [h \in Hosts |-> 0]
    /\ cache = [h \in Hosts |-> 0]
    /\ writes = 0

\* renewRangeLocked: a conditional update of the shard row, then a reload.
AcquireShard(h) ==
    /\ dbRange < MaxRange
    /\ dbRange' = dbRange + 1
    /\ hostRange' = [hostRange EXCEPT ![h] = dbRange + 1]
    /\ cache' = [cache EXCEPT ![h] = Len(db)]
    /\ UNCHANGED <<db, committed, writes>>

\* A write of the next event at the cached position. Success and "timed out after
\* commit" both change the database; only success advances the host's cache.
AppendHistoryEvents(h) ==
    LET pos == cache[h] + 1
        ev == [host |-> h, range |-> hostRange[h], fence |-> dbRange, n |-> writes]
        fenced == BUG_NO_RANGE_CHECK \/ hostRange[h] = dbRange
        current == BUG_NO_NEXT_EVENT_CHECK \/ cache[h] = Len(db)
    IN /\ hostRange[h] > 0
       /\ writes < MaxWrites
       /\ writes' = writes + 1
       /\ IF fenced /\ current /\ pos <= Len(db) + 1
          THEN /\ db' = SubSeq(db, 1, pos - 1) \o <<ev>>
               /\ committed' = IF pos > Len(committed) THEN Append(committed, ev) ELSE committed
               /\ \/ cache' = [cache EXCEPT ![h] = pos]   \* acknowledged
                  \/ UNCHANGED cache                      \* timed out after commit
               /\ UNCHANGED <<dbRange, hostRange>>
          ELSE \* ShardOwnershipLost or a condition failure: nothing is written
               UNCHANGED <<db, committed, dbRange, hostRange, cache>>

\* After an error or a timeout the host drops its cached mutable state and reloads.
ReloadMutableState(h) ==
    /\ hostRange[h] > 0
    /\ cache' = [cache EXCEPT ![h] = Len(db)]
    /\ UNCHANGED <<dbRange, db, committed, hostRange, writes>>

Next == \E h \in Hosts : AcquireShard(h) \/ AppendHistoryEvents(h) \/ ReloadMutableState(h)

Spec == Init /\ [][Next]_vars


\* Only the current owner commits: every event was written under the range_id that the
\* shard row held when it committed.
INV_SINGLE_SHARD_WRITER == \A i \in 1..Len(db) : db[i].range = db[i].fence

\* A committed event is never rewritten or lost.
INV_DURABLE_HISTORY ==
    /\ Len(committed) <= Len(db)
    /\ \A i \in 1..Len(committed) : db[i] = committed[i]

=============================================================================
