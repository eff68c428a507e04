------------------------------ MODULE Matching ------------------------------
(***************************************************************************)
(* The path of a task from history's outbox to a worker, and history's    *)
(* deduplication (docs/temporal-semantics.md#matching).                    *)
(*                                                                         *)
(* A transfer task in the outbox calls AddTask until it is acknowledged,   *)
(* so matching may hold a task twice; matching persists the task in its    *)
(* backlog and hands it to pollers, possibly more than once (a lost poll   *)
(* response, a retried Record*Started). Before the worker gets the task,   *)
(* matching calls history's RecordTaskStarted: history starts the attempt  *)
(* once, answers the same request id again with success, and answers      *)
(* NotFound / AlreadyStarted for stale or duplicate dispatches, on which   *)
(* matching drops the task. On a transient error matching keeps it.       *)
(* Retries of a started task create a new attempt and a new transfer task. *)
(***************************************************************************)
EXTENDS Integers, FiniteSets

CONSTANTS
    Tasks,          \* task ids (one scheduled activity or workflow task each)
    MaxAttempts,    \* attempts per task
    MaxRequests,    \* dispatches (poll responses) in a behaviour
    BUG_NO_DEDUP,                \* INV_ATTEMPT_STARTED_ONCE: history does not deduplicate
    BUG_DROP_ON_TRANSIENT_ERROR  \* INV_NO_LOST_TASK: matching drops on a transient error

VARIABLES
    hist,      \* history's mutable state per task: attempt, starting request id, closed?
    outbox,    \* transfer tasks not yet acknowledged: <<task, attempt>>
    backlog,   \* matching's persisted tasks: <<task, attempt>>
    polled,    \* dispatches awaiting history's answer: [task, attempt, req]
    starts,    \* ghost: every start history recorded, [task, attempt, req]
    nextReq    \* next poll request id

vars == <<hist, outbox, backlog, polled, starts, nextReq>>

NoReq == 0
Key(d) == <<d.task, d.attempt>>

Init ==
    /\ hist = [t \in Tasks |-> [attempt |-> 1, req |-> NoReq, closed |-> FALSE]]
    /\ outbox = {<<t, 1>> : t \in Tasks}
    /\ backlog = {}
    /\ polled = {}
    /\ starts = {}
    /\ nextReq = 1

\* The transfer task executes: AddTask persists the task in the backlog.
AddTask(x) ==
    /\ x \in outbox
    /\ backlog' = backlog \cup {x}
    /\ UNCHANGED <<hist, outbox, polled, starts, nextReq>>

\* The queue processor acknowledges a transfer task whose AddTask succeeded.
AckTransferTask(x) ==
    /\ x \in outbox /\ x \in backlog
    /\ outbox' = outbox \ {x}
    /\ UNCHANGED <<hist, backlog, polled, starts, nextReq>>

\* A poller receives the task; the task stays in the backlog until history answers.
PollTaskQueue(x) ==
    /\ x \in backlog
    /\ nextReq <= MaxRequests
    /\ polled' = polled \cup {[task |-> x[1], attempt |-> x[2], req |-> nextReq]}
    /\ nextReq' = nextReq + 1
    /\ UNCHANGED <<hist, outbox, backlog, starts>>

\* Matching calls RecordActivityTaskStarted / RecordWorkflowTaskStarted (api.go checks).
RecordTaskStarted(d) ==
    LET h == hist[d.task]
        stale == h.closed \/ h.attempt # d.attempt
        fresh == h.req = NoReq
        same == h.req = d.req
    IN /\ d \in polled
       /\ \/ \* the answer is final: matching removes the task (started or dropped)
             /\ IF ~stale /\ (fresh \/ BUG_NO_DEDUP) /\ ~same
                THEN /\ hist' = [hist EXCEPT ![d.task].req = d.req]
                     /\ starts' = starts \cup {d}
                ELSE UNCHANGED <<hist, starts>>
             /\ backlog' = backlog \ {Key(d)}
             /\ polled' = polled \ {d}
          \/ \* a transient error (history busy, shard moving): matching keeps the task
             /\ polled' = polled \ {d}
             /\ backlog' = IF BUG_DROP_ON_TRANSIENT_ERROR THEN backlog \ {Key(d)} ELSE backlog
             /\ UNCHANGED <<hist, starts>>
       /\ UNCHANGED <<outbox, nextReq>>

\* The poll response never reaches the worker; the task is redelivered later.
PollResponseLost(d) ==
    /\ d \in polled
    /\ polled' = polled \ {d}
    /\ UNCHANGED <<hist, outbox, backlog, starts, nextReq>>

\* The started attempt ends: it completes, or fails and is retried as a new attempt.
RespondTaskCompleted(t) ==
    /\ hist[t].req # NoReq /\ ~hist[t].closed
    /\ hist' = [hist EXCEPT ![t].closed = TRUE]
    /\ UNCHANGED <<outbox, backlog, polled, starts, nextReq>>

RetryTask(t) ==
    /\ hist[t].req # NoReq /\ ~hist[t].closed
    /\ hist[t].attempt < MaxAttempts
    /\ hist' = [hist EXCEPT ![t].attempt = @ + 1, ![t].req = NoReq]
    /\ outbox' = outbox \cup {<<t, hist[t].attempt + 1>>}
    /\ UNCHANGED <<backlog, polled, starts, nextReq>>

Next ==
    \/ \E x \in outbox : AddTask(x) \/ AckTransferTask(x)
    \/ \E x \in backlog : PollTaskQueue(x)
    \/ \E d \in polled : RecordTaskStarted(d) \/ PollResponseLost(d)
    \/ \E t \in Tasks : RespondTaskCompleted(t) \/ RetryTask(t)

Spec == Init /\ [][Next]_vars


\* A scheduled attempt that has not started is still on its way: in the outbox or in
\* matching's backlog (from where it will be delivered again).
INV_NO_LOST_TASK ==
    \A t \in Tasks :
        (~hist[t].closed /\ hist[t].req = NoReq) =>
            <<t, hist[t].attempt>> \in outbox \cup backlog

\* At-least-once delivery, at-most-once start: each attempt is started by one request.
INV_ATTEMPT_STARTED_ONCE ==
    \A d1, d2 \in starts : Key(d1) = Key(d2) => d1 = d2

=============================================================================
