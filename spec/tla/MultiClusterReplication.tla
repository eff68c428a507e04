----------------------- MODULE MultiClusterReplication -----------------------
(***************************************************************************)
(* A global namespace replicated between clusters (docs/replication.md).   *)
(*                                                                         *)
(* Each cluster keeps its own view of the namespace's failover version;    *)
(* the owner of a version is the cluster whose initial failover version is *)
(* congruent to it modulo the increment (common/cluster/metadata.go,       *)
(* ClusterNameForFailoverVersion, GetNextFailoverVersion).  Each cluster   *)
(* keeps, per run, a list of history branches and the index of the current *)
(* one (common/persistence/versionhistory/version_histories.go); an event  *)
(* id is its position in a branch, and a branch's version history is the   *)
(* list of (event id, version) items derived from it (VH below).           *)
(*                                                                         *)
(* A write stamps the run's current version, the larger of the namespace   *)
(* version and the version of the branch's last event, and is refused      *)
(* unless that version is owned by the writing cluster                     *)
(* (service/history/workflow/mutable_state_impl.go: UpdateCurrentVersion,  *)
(* closeTransactionWithPolicyCheck).  Every write queues a history         *)
(* replication task to every other cluster carrying the branch up to the   *)
(* written event: a task here is Temporal's event batch with its version   *)
(* history, with the resend of any gap (RetryReplication in                *)
(* service/history/ndc/history_replicator.go) folded in, so no task finds  *)
(* a gap.  Tasks stay queued until acknowledged: delivery may happen in    *)
(* any order, more than once (delivered without the ack); a lost delivery  *)
(* changes nothing, so it needs no action of its own; a partition stops    *)
(* delivery.                                                               *)
(***************************************************************************)
EXTENDS Integers, Sequences, FiniteSets

CONSTANTS
    InitialVersion,   \* cluster -> its initial failover version (1 .. Increment-1)
    Increment,        \* the failover version increment
    MaxVersion,       \* no failover raises a namespace version above this
    Runs,             \* the runs of one global namespace, started before the scenario
    Signals,          \* signal ids a client may send (each acknowledged at most once per run)
    BUG_ACCEPT_LOWER_VERSION, \* INV_REPL_CONVERGENCE: a diverged branch becomes current whatever its version
    BUG_NO_REAPPLY,           \* INV_REPL_NO_LOST_SIGNAL: losing-branch signals are not reapplied
    BUG_STALE_ACTIVE_FLAG,    \* INV_REPL_ONE_ACTIVE: a cluster trusts a cached "active" flag
    BUG_NO_POLICY_CHECK,      \* INV_REPL_VERSION_OWNER: only the namespace is checked, not the run's version
    BUG_STAMP_NAMESPACE_VERSION, \* VersionsMonotone: events get the namespace version alone
    BUG_WRITE_TO_CLOSED,      \* INV_REPL_CLOSES_ONCE: a write to a closed run is accepted
    BUG_DUPLICATE_OVERWRITES, \* INV_REPL_IDEMPOTENT: a duplicate task rewrites the branch from its events
    BUG_NO_FORWARD            \* INV_REPL_NO_LOST_SIGNAL: a passive cluster drops a reapply, not forwarding it

Clusters == DOMAIN InitialVersion
None == "-"

\* ClusterNameForFailoverVersion: the owner of a version.
Owner(v) == CHOOSE c \in Clusters : InitialVersion[c] = v % Increment

\* GetNextFailoverVersion: the smallest version >= cur owned by c.
NextVersion(c, cur) ==
    LET f == (cur \div Increment) * Increment + InitialVersion[c]
    IN IF f < cur THEN f + Increment ELSE f

VARIABLES
    nsVersion,   \* cluster -> its view of the namespace failover version
    activeFlag,  \* cluster -> a cached "I am active" flag (read only under the bug)
    partitioned, \* no cross-cluster delivery while TRUE
    branches,    \* cluster -> run -> sequence of branches (sequences of events)
    cur,         \* cluster -> run -> index of the current branch
    queue,       \* replication and reapply tasks not yet acknowledged
    acked,       \* <<run, signal>> pairs acknowledged to a client
    resetRuns,   \* run -> signals reapplied through a reset of a closed run
    dropped      \* run -> signals a reapply dropped as the serving cluster's own

vars == <<nsVersion, activeFlag, partitioned, branches, cur, queue, acked, resetRuns, dropped>>

Ev(v, w, k, s) == [v |-> v, w |-> w, k |-> k, s |-> s]
FirstCluster == CHOOSE c \in Clusters : InitialVersion[c] = 1
StartEvent == Ev(1, FirstCluster, "start", None)

Last(b) == b[Len(b)]
LastVersion(b) == Last(b).v
Cur(c, r) == branches[c][r][cur[c][r]]
IsOpen(b) == Last(b).k # "close"
HasSignal(b, s) == \E i \in 1..Len(b) : b[i].k = "signal" /\ b[i].s = s

\* The version history of a branch: one (event id, version) item per run of equal versions.
VH(b) == {<<i, b[i].v>> : i \in {j \in 1..Len(b) : j = Len(b) \/ b[j].v # b[j + 1].v}}

\* FindLCAVersionHistoryItemFromItemSlice (versionhistory/version_history.go): the item of
\* the highest version both histories have, at the smaller of their event ids.
LCA(b1, b2) ==
    LET common == {it[2] : it \in VH(b1)} \cap {it[2] : it \in VH(b2)}
        v == CHOOSE x \in common : \A y \in common : y <= x
        ids == {it[1] : it \in {i \in VH(b1) \cup VH(b2) : i[2] = v}}
    IN CHOOSE i \in ids : \A j \in ids : i <= j

\* FindLCAVersionHistoryItemFromItems: the local branch with the longest LCA (ties: the
\* branch with fewer items).
BestBranch(bs, inc) ==
    CHOOSE k \in 1..Len(bs) :
        \A j \in 1..Len(bs) :
            \/ LCA(bs[j], inc) < LCA(bs[k], inc)
            \/ /\ LCA(bs[j], inc) = LCA(bs[k], inc)
               /\ Cardinality(VH(bs[k])) <= Cardinality(VH(bs[j]))
               /\ (Cardinality(VH(bs[k])) = Cardinality(VH(bs[j])) => k <= j)

\* A cluster may write when the run's current version is its own (mutable_state_impl.go
\* closeTransactionWithPolicyCheck); under the bug it trusts its cached flag instead.
WriteVersion(c, r) ==
    IF BUG_STAMP_NAMESPACE_VERSION \/ nsVersion[c] > LastVersion(Cur(c, r))
    THEN nsVersion[c] ELSE LastVersion(Cur(c, r))
IsActive(c) == IF BUG_STALE_ACTIVE_FLAG THEN activeFlag[c] ELSE Owner(nsVersion[c]) = c
CanWrite(c, r) ==
    IF BUG_NO_POLICY_CHECK \/ BUG_STAMP_NAMESPACE_VERSION \/ BUG_STALE_ACTIVE_FLAG
    THEN IsActive(c) ELSE Owner(WriteVersion(c, r)) = c

HistTasks(c, r, b) == {[kind |-> "hist", to |-> d, run |-> r, br |-> b] : d \in Clusters \ {c}}

\* The signals of `inc` after its LCA with the current branch `b` that `b` lacks (the
\* dedup by signal id stands for IsResourceDuplicated on the reapplied event's id).
ToReapply(b, inc) ==
    {inc[i] : i \in {j \in (LCA(b, inc) + 1)..Len(inc) :
                       inc[j].k = "signal" /\ ~HasSignal(b, inc[j].s)}}

\* Reapply signals on cluster c's current branch, leaving out events of c's own versions
\* (service/history/api/reapplyevents/api.go) (transaction_manager.go,
\* backfillWorkflowEventsReapply: a running run gets them appended; a closed one is reset
\* and the signals go to the reset run, which this spec records in resetRuns and does not
\* follow further).  The signals left out as c's own are returned in dr: api.go drops
\* them whether or not c's current branch holds them (GAP-REPL-OWN-CLUSTER-REAPPLY in
\* spec/README.md).  Returns [bs, rs, out, dr].
Reapply(c, r, bs, ci, sigs) ==
    LET b == bs[ci]
        v == IF nsVersion[c] > LastVersion(b) THEN nsVersion[c] ELSE LastVersion(b)
        fresh == {e \in sigs : Owner(e.v) # c /\ ~HasSignal(b, e.s)}
        \* a deterministic order for the appended signals: by signal id
        order == CHOOSE f \in [1..Cardinality(fresh) -> fresh] :
                     \A i, j \in DOMAIN f : i < j => f[i].s < f[j].s
        nb == b \o [i \in 1..Cardinality(fresh) |-> Ev(v, c, "signal", order[i].s)]
        dr == {e.s : e \in {x \in sigs : Owner(x.v) = c}}
    IN IF fresh = {} THEN [bs |-> bs, rs |-> {}, out |-> {}, dr |-> dr]
       ELSE IF ~IsOpen(b) THEN [bs |-> bs, rs |-> {e.s : e \in fresh}, out |-> {}, dr |-> dr]
       ELSE [bs |-> [bs EXCEPT ![ci] = nb], rs |-> {}, out |-> HistTasks(c, r, nb), dr |-> dr]

\* Applying a history task `inc` for run r at cluster c (history_replicator.go doApplyEvents,
\* mutable_state_mapper.go GetOrCreateHistoryBranch, conflict_resolver.go
\* GetOrRebuildCurrentMutableState).  Returns the new branches, current index, the signals
\* to reapply through the active cluster (a passive cluster forwards them: workflow/context.go
\* ReapplyEvents) and whether the task was a duplicate.
ApplyHist(c, r, bs, ci, inc) ==
    LET k == BestBranch(bs, inc)
        lca == LCA(bs[k], inc)
        \* IsLCAVersionHistoryItemAppendable: the local branch ends at the LCA
        nbs == IF lca = Len(bs[k]) THEN [bs EXCEPT ![k] = inc] ELSE Append(bs, inc)
        j == IF lca = Len(bs[k]) THEN k ELSE Len(bs) + 1
        higher == LastVersion(inc) > LastVersion(bs[ci])
        switch == j # ci /\ (higher \/ BUG_ACCEPT_LOWER_VERSION)
        backfill == j # ci /\ ~switch /\ LastVersion(inc) < LastVersion(bs[ci])
    IN IF lca = Len(inc)
       THEN [bs |-> IF BUG_DUPLICATE_OVERWRITES THEN [bs EXCEPT ![k] = inc] ELSE bs,
             ci |-> ci, sigs |-> {}, dup |-> TRUE]
       ELSE IF j # ci /\ ~switch /\ ~backfill
            \* equal last versions on different branches: InvalidArgument, nothing applied
            THEN [bs |-> bs, ci |-> ci, sigs |-> {}, dup |-> TRUE]
       ELSE [bs |-> nbs,
             ci |-> IF switch THEN j ELSE ci,
             sigs |-> IF backfill /\ ~BUG_NO_REAPPLY THEN ToReapply(nbs[ci], inc) ELSE {},
             dup |-> FALSE]

-----------------------------------------------------------------------------

Init ==
    /\ nsVersion = [c \in Clusters |-> 1]
    /\ activeFlag = [c \in Clusters |-> c = FirstCluster]
    /\ partitioned = FALSE
    /\ branches = [c \in Clusters |-> [r \in Runs |-> <<<<StartEvent>>>>]]
    /\ cur = [c \in Clusters |-> [r \in Runs |-> 1]]
    /\ queue = {}
    /\ acked = {}
    /\ resetRuns = [r \in Runs |-> {}]
    /\ dropped = [r \in Runs |-> {}]

\* A client's signal or the run's completion, written by a cluster that may write.
Write(c, r, kind, s) ==
    LET b == Cur(c, r)
        nb == Append(b, Ev(WriteVersion(c, r), c, kind, s))
    IN /\ CanWrite(c, r)
       /\ IsOpen(b) \/ BUG_WRITE_TO_CLOSED
       /\ branches' = [branches EXCEPT ![c][r][cur[c][r]] = nb]
       /\ queue' = queue \cup HistTasks(c, r, nb)

Signal(c, r, s) ==
    /\ <<r, s>> \notin acked
    /\ Write(c, r, "signal", s)
    /\ acked' = acked \cup {<<r, s>>}
    /\ UNCHANGED <<nsVersion, activeFlag, partitioned, cur, resetRuns, dropped>>

Close(c, r) ==
    /\ Write(c, r, "close", None)
    /\ UNCHANGED <<nsVersion, activeFlag, partitioned, cur, acked, resetRuns, dropped>>

\* Graceful failover: the namespace is handed over once replication has drained; both
\* clusters take the new version.
GracefulFailover(c, d) ==
    /\ c # d
    /\ ~partitioned
    /\ queue = {}
    /\ Owner(nsVersion[c]) = c
    /\ nsVersion[d] = nsVersion[c]
    /\ NextVersion(d, nsVersion[c]) <= MaxVersion
    /\ nsVersion' = [x \in Clusters |-> NextVersion(d, nsVersion[c])]
    /\ activeFlag' = [x \in Clusters |-> x = d]
    /\ UNCHANGED <<partitioned, branches, cur, queue, acked, resetRuns, dropped>>

\* Forced failover: cluster d makes itself active; the old active cluster learns it only
\* when namespace replication reaches it (NamespaceSync) and may keep writing until then.
ForcedFailover(d) ==
    /\ Owner(nsVersion[d]) # d
    /\ NextVersion(d, nsVersion[d]) <= MaxVersion
    /\ nsVersion' = [nsVersion EXCEPT ![d] = NextVersion(d, nsVersion[d])]
    /\ activeFlag' = [activeFlag EXCEPT ![d] = TRUE]
    /\ UNCHANGED <<partitioned, branches, cur, queue, acked, resetRuns, dropped>>

\* Namespace replication: a higher failover version replaces a lower one
\* (common/namespace/nsreplication/replication_task_executor.go).  The cached flag is
\* not refreshed: only the buggy variant reads it.
NamespaceSync(c, d) ==
    /\ ~partitioned
    /\ nsVersion[c] > nsVersion[d]
    /\ nsVersion' = [nsVersion EXCEPT ![d] = nsVersion[c]]
    /\ UNCHANGED <<activeFlag, partitioned, branches, cur, queue, acked, resetRuns, dropped>>

Partition == /\ ~partitioned /\ partitioned' = TRUE
             /\ UNCHANGED <<nsVersion, activeFlag, branches, cur, queue, acked, resetRuns, dropped>>
Heal == /\ partitioned /\ partitioned' = FALSE
        /\ UNCHANGED <<nsVersion, activeFlag, branches, cur, queue, acked, resetRuns, dropped>>

\* Deliver a task; `ack` removes it, otherwise it stays queued and is delivered again.
DeliverHist(m, ack) ==
    LET c == m.to
        r == m.run
        res == ApplyHist(c, r, branches[c][r], cur[c][r], m.br)
        fwd == IF res.sigs = {} THEN {}
               ELSE {[kind |-> "reapply", to |-> c, run |-> r, br |-> res.sigs]}
    IN /\ branches' = [branches EXCEPT ![c][r] = res.bs]
       /\ cur' = [cur EXCEPT ![c][r] = res.ci]
       /\ queue' = (IF ack THEN queue \ {m} ELSE queue) \cup fwd
       /\ UNCHANGED <<resetRuns, dropped>>

\* A reapply request is served by a cluster that believes it is active; a passive one
\* forwards it to the others (workflow/context.go ReapplyEvents), or under the bug
\* drops it.
DeliverReapply(m, ack) ==
    LET c == m.to
        r == m.run
        res == Reapply(c, r, branches[c][r], cur[c][r], m.br)
        fwd == IF BUG_NO_FORWARD THEN {} ELSE {[m EXCEPT !.to = d] : d \in Clusters \ {c}}
    IN IF IsActive(c)
       THEN /\ branches' = [branches EXCEPT ![c][r] = res.bs]
            /\ resetRuns' = [resetRuns EXCEPT ![r] = @ \cup res.rs]
            /\ dropped' = [dropped EXCEPT ![r] = @ \cup res.dr]
            /\ queue' = (IF ack THEN queue \ {m} ELSE queue) \cup res.out
            /\ UNCHANGED cur
       ELSE /\ queue' = (IF ack THEN queue \ {m} ELSE queue) \cup fwd
            /\ UNCHANGED <<branches, cur, resetRuns, dropped>>

Deliver(m, ack) ==
    /\ ~partitioned
    /\ IF m.kind = "hist" THEN DeliverHist(m, ack) ELSE DeliverReapply(m, ack)
    /\ queue' # queue \/ branches' # branches
    /\ UNCHANGED <<nsVersion, activeFlag, partitioned, acked>>

Next ==
    \/ \E c \in Clusters, r \in Runs :
           \/ Close(c, r)
           \/ \E s \in Signals : Signal(c, r, s)
    \/ \E c, d \in Clusters : GracefulFailover(c, d) \/ NamespaceSync(c, d)
    \/ \E d \in Clusters : ForcedFailover(d)
    \/ Partition \/ Heal
    \/ \E m \in queue, ack \in BOOLEAN : Deliver(m, ack)

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------
\* Invariants (spec/README.md registry).

AllEvents == UNION {{b[i] : i \in 1..Len(b)} :
                    b \in UNION {{branches[c][r][k] : k \in 1..Len(branches[c][r])} :
                                 c \in Clusters, r \in Runs}}

\* At most one cluster is active for a namespace at a given failover version.
INV_REPL_ONE_ACTIVE ==
    \A c, d \in Clusters :
        (c # d /\ IsActive(c) /\ IsActive(d)) => nsVersion[c] # nsVersion[d]

\* Every event was written by the owner of its version.
INV_REPL_VERSION_OWNER == \A e \in AllEvents : Owner(e.v) = e.w

\* Version histories never go down along a branch (AddOrUpdateVersionHistoryItem).
VersionsMonotone ==
    \A c \in Clusters, r \in Runs : \A k \in 1..Len(branches[c][r]) :
        LET b == branches[c][r][k] IN \A i \in 1..(Len(b) - 1) : b[i].v <= b[i + 1].v

\* A run closes at most once on its current branch, and the close is its last event.
INV_REPL_CLOSES_ONCE ==
    \A c \in Clusters, r \in Runs :
        LET b == Cur(c, r) IN \A i \in 1..Len(b) : b[i].k = "close" => i = Len(b)

\* A queued history task applied again after it was applied changes nothing.
IsPrefix(p, b) == Len(p) <= Len(b) /\ SubSeq(b, 1, Len(p)) = p
INV_REPL_IDEMPOTENT ==
    \A m \in queue : m.kind = "hist" =>
        LET c == m.to
            r == m.run
            once == ApplyHist(c, r, branches[c][r], cur[c][r], m.br)
            twice == ApplyHist(c, r, once.bs, once.ci, m.br)
            applied == \E k \in 1..Len(branches[c][r]) : IsPrefix(m.br, branches[c][r][k])
        IN /\ twice.bs = once.bs /\ twice.ci = once.ci /\ twice.dup /\ twice.sigs = {}
           /\ applied => once.bs = branches[c][r] /\ once.ci = cur[c][r] /\ once.sigs = {}

Quiescent == ~partitioned /\ queue = {}

\* After faults heal and replication drains, every cluster has the same current branch.
INV_REPL_CONVERGENCE ==
    Quiescent => \A r \in Runs, c, d \in Clusters : Cur(c, r) = Cur(d, r)

\* After heal and drain, an acknowledged signal is on the current branch of its run in
\* every cluster, or went to the run that reset a closed run (StrictNoLostSignal), or
\* a reapply of it was dropped as the serving cluster's own: Temporal's gap
\* GAP-REPL-OWN-CLUSTER-REAPPLY, which StrictNoLostSignal shows (probe config).
StrictNoLostSignal ==
    Quiescent =>
        \A p \in acked : \A c \in Clusters : HasSignal(Cur(c, p[1]), p[2]) \/ p[2] \in resetRuns[p[1]]
INV_REPL_NO_LOST_SIGNAL ==
    Quiescent =>
        \A p \in acked : \A c \in Clusters :
            HasSignal(Cur(c, p[1]), p[2]) \/ p[2] \in resetRuns[p[1]] \/ p[2] \in dropped[p[1]]

=============================================================================
