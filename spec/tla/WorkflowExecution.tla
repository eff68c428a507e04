------------------------- MODULE WorkflowExecution -------------------------
(***************************************************************************)
(* One run of a workflow in Temporal's history service: its mutable state *)
(* and the `history` it writes.  Every action is a request handler or a    *)
(* timer task of the history service; its snake_case twin is the Python    *)
(* handler in core/statemachine/history/service/ (spec/tla/README.md).     *)
(*                                                                         *)
(* What is modelled, from docs/temporal-semantics.md (Batches and          *)
(* buffering to Workflow execution):                                       *)
(*  - batches: an action appends whole batches; while a workflow task is   *)
(*    started every input is buffered, and the buffer is flushed when the  *)
(*    task closes, completions moved last and their started_event_id wired *)
(*    to the ActivityTaskStarted of the same batch (event_store.go);       *)
(*  - workflow tasks: sticky queues, failure, start-to-close and           *)
(*    schedule-to-start timeouts, transient attempts (attempt > 1 writes   *)
(*    nothing until it succeeds), UNHANDLED_COMMAND, invalid commands;     *)
(*  - activities: ActivityTaskStarted written only at close (transient     *)
(*    start), invisible retries, timeouts, cancellation;                   *)
(*  - timers, with CancelTimer deleting a buffered TimerFired;             *)
(*  - signals, cancel requests, terminate, run timeout, worker crash;     *)
(*  - reset: a new run continues a prefix of its base run's history with   *)
(*    a WorkflowTaskFailed(RESET_WORKFLOW), the reapplied inputs and a    *)
(*    new attempt-1 task (ResetWorkflowExecution below).                  *)
(*                                                                         *)
(* An event is a record with the reference attributes of the protobuf     *)
(* event: `sched` is the id of the event that opened the entity            *)
(* (scheduled_event_id, or a timer's started_event_id), `started` the      *)
(* started_event_id, `wtc` workflow_task_completed_event_id, `latest`      *)
(* latest_cancel_requested_event_id, `eid` the activity or timer id,       *)
(* `attempt`, and `info` the task queue kind, the timeout type, or         *)
(* "ResetWorkflow" for a WorkflowTaskFailed written by a reset.            *)
(*                                                                         *)
(* Each BUG_* constant, when TRUE, reintroduces one bug; the revert        *)
(* configs (manifest.json) show that TLC then reports the invariant that   *)
(* guards against it.                                                       *)
(***************************************************************************)
EXTENDS Integers, Sequences, FiniteSets, TLC

CONSTANTS
    MaxActivities,   \* activities the workflow may schedule
    MaxTimers,       \* timers the workflow may start
    ActivityIds,     \* activity ids the workflow may use (fewer ids than slots = reuse)
    TimerIds,        \* timer ids the workflow may use
    MaxSignals,      \* signals clients may send
    MaxOtherInputs,  \* abstract non-command inputs (child / external results)
    MaxAttempts,     \* activity attempts allowed by the retry policy
    MaxWftAttempts,  \* workflow task attempts before the model stops failing it
    MaxCrashes,      \* worker crashes
    MaxResets,       \* resets in the run's history (a reset run can be reset again)
    MaxCommands,     \* commands in one RespondWorkflowTaskCompleted
    CloseCommands,   \* the close commands the workflow may issue
    OtherCommands,   \* may the workflow issue abstract commands (markers, ...)?
    EnvActions,      \* the client/environment/worker actions enabled (keeps configs small)
    ActivityTimeouts,  \* subset of {"StartToClose", "ScheduleToStart", "ScheduleToClose"}
    WftTimeouts,     \* subset of {"StartToClose", "ScheduleToStart"}
    BUG_EVENT_ID_AT_BUFFER,     \* H1: buffered events keep the id they had when buffered
    BUG_SIGNAL_BEFORE_START,    \* H2: signal-with-start writes the signal first
    BUG_FLUSH_AFTER_CLOSE,      \* H3: terminate flushes the buffer after Terminated
    BUG_NO_PENDING_WFT_CHECK,   \* H5: an input schedules a task when one is pending
    BUG_NO_BUFFERING,           \* H6: inputs are appended while a task is started
    BUG_FLUSH_BEFORE_COMMANDS,  \* H7: the buffer is flushed before command events
    BUG_CANCEL_CLOSES_RUN,      \* H8: a cancel request closes the run at once
    BUG_NO_TRANSIENT_STARTED,   \* H9: an activity closes without its Started event
    BUG_NO_ACTIVITY_ID_CHECK,   \* H10: SCHEDULE_ACTIVITY_DUPLICATE_ID not enforced
    BUG_KEEP_BUFFERED_FIRE,     \* H11: CancelTimer leaves a buffered TimerFired
    BUG_NO_TIMER_ID_CHECK,      \* H12: START_TIMER_DUPLICATE_ID not enforced
    BUG_NO_WIRE_IDS,            \* H16: flushed completions keep the placeholder id
    BUG_TERMINATE_CLOSED,       \* INV_RUN_CLOSES_ONCE: terminate a closed run
    BUG_NO_TOKEN_CHECK,         \* INV_RESULT_AT_MOST_ONCE: stale completion accepted
    BUG_UNBOUNDED_RETRY,        \* TypeOK: retry ignores the maximum attempts
    BUG_NO_WFT_TIMEOUT,         \* INV_EVENTUALLY_CLOSED: no start-to-close timer
    BUG_RESET_COUNTS_ATTEMPT    \* INV_RESET_FRESH_TASK: the reset's failure counts as an attempt

VARIABLES
    status,           \* "Unstarted", "Running" or "Closed"
    history,          \* the events written, a sequence of Event records
    buffer,           \* events held while a workflow task is started (ids not yet assigned)
    wft,              \* the one workflow task of mutable state
    stickyQueue,      \* does the next workflow task go to the worker's sticky queue?
    acts,             \* activity slots
    timers,           \* timer slots
    signals,          \* signals received so far
    others,           \* abstract inputs received so far
    cancelRequested,  \* has a cancel of the run been requested?
    crashes           \* worker crashes so far

\* Attempts >= 2 are transient (write nothing), so capping them keeps the model finite.
ASSUME MaxWftAttempts >= 2

vars == <<status, history, buffer, wft, stickyQueue, acts, timers, signals, others,
          cancelRequested, crashes>>

Max(S) == CHOOSE x \in S : \A y \in S : y <= x
Min(S) == CHOOSE x \in S : \A y \in S : x <= y

Acts == 1..MaxActivities
Tms == 1..MaxTimers

\* The server's placeholder id of a buffered event (common/constants.go, BufferedEventID).
BufferedEventID == -123

-----------------------------------------------------------------------------
(* Event types and events *)

WorkflowCloses == {"WorkflowExecutionCompleted", "WorkflowExecutionFailed",
                   "WorkflowExecutionCanceled", "WorkflowExecutionContinuedAsNew"}
CloseTypes == WorkflowCloses \cup {"WorkflowExecutionTimedOut", "WorkflowExecutionTerminated"}
WftCloses == {"WorkflowTaskCompleted", "WorkflowTaskFailed", "WorkflowTaskTimedOut"}
ActivityCloses == {"ActivityTaskCompleted", "ActivityTaskFailed", "ActivityTaskTimedOut",
                   "ActivityTaskCanceled"}
\* Events written from a command; "OtherCommandEvent" abstracts markers, search attributes,
\* properties, child starts and external signal/cancel initiations.
CommandEvents == {"ActivityTaskScheduled", "ActivityTaskCancelRequested", "TimerStarted",
                  "TimerCanceled", "OtherCommandEvent"} \cup WorkflowCloses
\* Moved to the end of a flushed batch (reorderBuffer).
CompletionTypes == ActivityCloses
EventTypes == CloseTypes \cup WftCloses \cup ActivityCloses \cup CommandEvents \cup
    {"WorkflowExecutionStarted", "WorkflowTaskScheduled", "WorkflowTaskStarted",
     "ActivityTaskStarted", "TimerFired", "WorkflowExecutionSignaled",
     "WorkflowExecutionCancelRequested", "OtherInput"}

Ev(type, sched, started, wtc, latest, eid, attempt, info) ==
    [id |-> 0, type |-> type, sched |-> sched, started |-> started, wtc |-> wtc,
     latest |-> latest, eid |-> eid, attempt |-> attempt, info |-> info]
Plain(type) == Ev(type, 0, 0, 0, 0, "", 0, "")
WftScheduledEv(attempt, sticky) ==
    Ev("WorkflowTaskScheduled", 0, 0, 0, 0, "", attempt, IF sticky THEN "Sticky" ELSE "Normal")
ActStartedEv(a) == Ev("ActivityTaskStarted", acts[a].sched, 0, 0, 0, "", acts[a].attempt, "")
\* A completion written with its Started gets the placeholder, wired at flush.
ActCloseEv(type, a, hasStarted) ==
    Ev(type, acts[a].sched, IF hasStarted THEN BufferedEventID ELSE 0, 0,
       IF type = "ActivityTaskCanceled" THEN acts[a].cancel ELSE 0, "", 0, "")

\* Assign ids base+1, base+2, ... to a sequence of events.
Stamp(evs, base) == [i \in 1..Len(evs) |-> [evs[i] EXCEPT !.id = base + i]]

\* The flush of a batch (event_store.go): completions moved to the end, ids assigned,
\* then wireEventIDs points each completion at the ActivityTaskStarted of its batch.
Flush(evs, base) ==
    LET firsts == SelectSeq(evs, LAMBDA e: e.type \notin CompletionTypes)
        lasts == SelectSeq(evs, LAMBDA e: e.type \in CompletionTypes)
        ordered == IF BUG_EVENT_ID_AT_BUFFER
                   THEN [i \in 1..Len(evs) |-> IF evs[i].id > 0 THEN evs[i]
                                                ELSE [evs[i] EXCEPT !.id = base + i]]
                   ELSE Stamp(firsts \o lasts, base)
        StartedOf(s) == {f.id : f \in {ordered[j] : j \in {j \in 1..Len(ordered) :
                             ordered[j].type = "ActivityTaskStarted" /\ ordered[j].sched = s}}}
        Wire(e) == IF e.started = BufferedEventID /\ ~BUG_NO_WIRE_IDS /\ StartedOf(e.sched) # {}
                   THEN [e EXCEPT !.started = Max(StartedOf(e.sched))]
                   ELSE e
    IN [i \in 1..Len(ordered) |-> Wire(ordered[i])]


-----------------------------------------------------------------------------
(* Mutable-state helpers *)

IsOpenAct(a) == acts[a].state \in {"Scheduled", "Started", "Backoff"}
Running(a) == acts[a].state = "Started"
NoWft == [state |-> "None", sched |-> 0, started |-> 0, attempt |-> 1, sticky |-> FALSE,
          lost |-> FALSE]
NewWft(sched, attempt, sticky) ==
    [state |-> "Scheduled", sched |-> sched, started |-> 0, attempt |-> attempt,
     sticky |-> sticky, lost |-> FALSE]
Transient == wft.sched = 0   \* an attempt > 1: its Scheduled/Started are not written
BufferedFire(t) == \E i \in 1..Len(buffer) :
    buffer[i].type = "TimerFired" /\ buffer[i].sched = timers[t].sched

\* Append events produced by an input: buffered while a task is started, otherwise
\* appended with a new workflow task if none is pending (update_workflow_util.go). A
\* pending transient task stays unwritten but becomes attempt 1: its Scheduled is
\* written with its Started when it starts (AddWorkflowTaskStartedEvent,
\* workflow_task_state_machine.go; RecordWorkflowTaskStarted below).
Emit(evs) ==
    IF wft.state = "Started" /\ ~BUG_NO_BUFFERING
    THEN /\ buffer' = buffer \o [i \in 1..Len(evs) |->
                                   [evs[i] EXCEPT !.id = Len(history) + Len(buffer) + i]]
         /\ UNCHANGED <<history, wft>>
    ELSE IF wft.state = "Scheduled" /\ Transient
    THEN /\ history' = history \o Flush(evs, Len(history))
         /\ wft' = [wft EXCEPT !.attempt = 1]
         /\ UNCHANGED buffer
    ELSE LET flushed == Flush(evs, Len(history))
             base == Len(history) + Len(evs)
             schedule == wft.state = "None"
                         \/ (BUG_NO_PENDING_WFT_CHECK /\ wft.state = "Scheduled")
             sticky == IF wft.state = "None" THEN stickyQueue ELSE FALSE
         IN IF schedule
            THEN /\ history' = history \o flushed \o Stamp(<<WftScheduledEv(1, sticky)>>, base)
                 /\ wft' = IF wft.state = "Started" THEN wft   \* only with BUG_NO_BUFFERING
                           ELSE NewWft(base + 1, 1, sticky)
                 /\ UNCHANGED buffer
            ELSE /\ history' = history \o flushed
                 /\ UNCHANGED <<buffer, wft>>

\* The workflow task closes without completing: the failure is written unless the attempt
\* is transient, the buffer is flushed, and the next attempt is scheduled (util.go,
\* failWorkflowTask). A sticky failure clears stickiness and keeps the attempt; flushed
\* events turn the next attempt into a written attempt 1.
FailWft(closeEv) ==
    LET failEvs == IF Transient THEN <<>>
                   ELSE Stamp(<<[closeEv EXCEPT !.sched = wft.sched, !.started = wft.started]>>,
                              Len(history))
        flushed == Flush(buffer, Len(history) + Len(failEvs))
        base == Len(history) + Len(failEvs) + Len(flushed)
        \* The model caps the attempt: past MaxWftAttempts the failing attempt repeats.
        attempt == IF Len(buffer) > 0 THEN 1
                   ELSE IF wft.sticky THEN wft.attempt ELSE Min({wft.attempt + 1, MaxWftAttempts})
    IN /\ buffer' = <<>>
       /\ stickyQueue' = FALSE
       /\ IF attempt = 1
          THEN /\ history' = history \o failEvs \o flushed
                                 \o Stamp(<<WftScheduledEv(1, FALSE)>>, base)
               /\ wft' = NewWft(base + 1, 1, FALSE)
          ELSE /\ history' = history \o failEvs \o flushed
               /\ wft' = NewWft(0, attempt, FALSE)

-----------------------------------------------------------------------------
(* Commands of RespondWorkflowTaskCompleted *)

FreeSlot(slots) == {i \in DOMAIN slots : slots[i].state = "Unused"}

Cmd(kind, slot, xid) == [kind |-> kind, slot |-> slot, xid |-> xid]

\* Ids whose close is still buffered: the worker has not seen the close, so an SDK never
\* reuses them (the server alone would accept it: the pending entry is already deleted,
\* and the history would then show the id twice among open entities, against H10/H12).
UnseenClosedIds ==
    {buffer[i].eid : i \in {j \in 1..Len(buffer) : buffer[j].type = "TimerFired"}}
    \cup {acts[a].aid : a \in {b \in Acts : \E i \in 1..Len(buffer) :
                                 buffer[i].type \in ActivityCloses /\ buffer[i].sched = acts[b].sched}}

\* The single commands the workflow may issue in the current state.
SingleCommands ==
    {Cmd("ScheduleActivityTask", 0, x) : x \in IF FreeSlot(acts) = {} THEN {}
                                               ELSE ActivityIds \ UnseenClosedIds}
    \cup {Cmd("StartTimer", 0, x) : x \in IF FreeSlot(timers) = {} THEN {}
                                         ELSE TimerIds \ UnseenClosedIds}
    \cup {Cmd("RequestCancelActivityTask", a, "") :
            a \in {b \in Acts : IsOpenAct(b) /\ acts[b].cancel = 0}}
    \cup {Cmd("CancelTimer", t, "") : t \in {u \in Tms : timers[u].state = "Started" \/ BufferedFire(u)}}
    \cup {Cmd(c, 0, "") : c \in {k \in CloseCommands : k # "CancelWorkflowExecution" \/ cancelRequested}}
    \cup (IF OtherCommands THEN {Cmd("Other", 0, "")} ELSE {})

IsCloseCmd(c) == c.kind \in {"CompleteWorkflowExecution", "FailWorkflowExecution",
                             "CancelWorkflowExecution", "ContinueAsNewWorkflowExecution"}
CloseEventOf(kind) ==
    CASE kind = "CompleteWorkflowExecution" -> "WorkflowExecutionCompleted"
      [] kind = "FailWorkflowExecution" -> "WorkflowExecutionFailed"
      [] kind = "CancelWorkflowExecution" -> "WorkflowExecutionCanceled"
      [] kind = "ContinueAsNewWorkflowExecution" -> "WorkflowExecutionContinuedAsNew"

\* Command lists: no repeated command, a close command only last (ValidateCommandSequence).
CommandChoices ==
    UNION {{cs \in [1..n -> SingleCommands] :
              /\ \A i, j \in 1..n : i # j => cs[i] # cs[j]
              /\ \A i \in 1..n : IsCloseCmd(cs[i]) => i = n} : n \in 0..MaxCommands}

OpenActIds(as) == {as[a].aid : a \in {b \in Acts : as[b].state \in {"Scheduled", "Started", "Backoff"}}}
OpenTimerIds(ts) == {ts[t].tid : t \in {u \in Tms : ts[u].state = "Started"}}

\* One command applied to the accumulated result `st` of the commands before it.
ApplyCmd(c, st, wtcId) ==
    LET id == st.next
        add(evs) == [st EXCEPT !.evs = st.evs \o Stamp(evs, id - 1), !.next = id + Len(evs)]
    IN CASE c.kind = "ScheduleActivityTask" ->
            IF FreeSlot(st.acts) = {} \/ (c.xid \in OpenActIds(st.acts) /\ ~BUG_NO_ACTIVITY_ID_CHECK)
            THEN [st EXCEPT !.bad = TRUE]
            ELSE LET a == Min(FreeSlot(st.acts)) IN
                 [add(<<Ev("ActivityTaskScheduled", 0, 0, wtcId, 0, c.xid, 0, "")>>)
                     EXCEPT !.acts[a] = [state |-> "Scheduled", sched |-> id, aid |-> c.xid,
                                         attempt |-> 1, cancel |-> 0, lost |-> FALSE]]
         [] c.kind = "RequestCancelActivityTask" ->
            LET a == c.slot
                s == st.acts[a].sched
                req == Ev("ActivityTaskCancelRequested", s, 0, wtcId, 0, "", 0, "")
            IN IF ~(st.acts[a].state \in {"Scheduled", "Started", "Backoff"}) \/ st.acts[a].cancel # 0
               THEN [st EXCEPT !.bad = TRUE]
               ELSE IF st.acts[a].state = "Started"
               THEN [add(<<req>>) EXCEPT !.acts[a].cancel = id]
               \* not running: cancelled at once, in this batch, and a new task follows
               ELSE [add(<<req, Ev("ActivityTaskCanceled", s, 0, 0, id, "", 0, "")>>)
                        EXCEPT !.acts[a].state = "Closed", !.acts[a].cancel = id,
                               !.force = TRUE]
         [] c.kind = "StartTimer" ->
            IF FreeSlot(st.timers) = {} \/ (c.xid \in OpenTimerIds(st.timers) /\ ~BUG_NO_TIMER_ID_CHECK)
            THEN [st EXCEPT !.bad = TRUE]
            ELSE LET t == Min(FreeSlot(st.timers)) IN
                 [add(<<Ev("TimerStarted", 0, 0, wtcId, 0, c.xid, 0, "")>>)
                     EXCEPT !.timers[t] = [state |-> "Started", sched |-> id, tid |-> c.xid]]
         [] c.kind = "CancelTimer" ->
            LET t == c.slot
                s == st.timers[t].sched
                fired == SelectSeq(st.buf, LAMBDA e: e.type = "TimerFired" /\ e.sched = s)
            IN IF st.timers[t].state = "Started" \/ Len(fired) > 0
               THEN [add(<<Ev("TimerCanceled", s, 0, wtcId, 0, st.timers[t].tid, 0, "")>>)
                        EXCEPT !.timers[t].state = "Closed",
                               \* GetAndRemoveTimerFireEvent: the buffered fire is deleted
                               !.buf = IF BUG_KEEP_BUFFERED_FIRE THEN st.buf
                                       ELSE SelectSeq(st.buf, LAMBDA e: ~(e.type = "TimerFired"
                                                                        /\ e.sched = s))]
               ELSE [st EXCEPT !.bad = TRUE]
         [] IsCloseCmd(c) ->
            [add(<<Ev(CloseEventOf(c.kind), 0, 0, wtcId, 0, "", 0, "")>>)
                EXCEPT !.close = TRUE]
         [] c.kind = "Other" ->
            add(<<Ev("OtherCommandEvent", 0, 0, wtcId, 0, "", 0, "")>>)

ApplyCmds(cmds, wtcId) ==
    LET RECURSIVE Step(_, _)
        Step(i, st) == IF i > Len(cmds) THEN st ELSE Step(i + 1, ApplyCmd(cmds[i], st, wtcId))
    IN Step(1, [evs |-> <<>>, acts |-> acts, timers |-> timers, buf |-> buffer,
                next |-> wtcId + 1, force |-> FALSE, bad |-> FALSE, close |-> FALSE])

-----------------------------------------------------------------------------
(* Actions: clients *)

StartWorkflowExecution ==
    /\ status = "Unstarted"
    /\ status' = "Running"
    /\ history' = Stamp(<<Plain("WorkflowExecutionStarted"), WftScheduledEv(1, FALSE)>>, 0)
    /\ wft' = NewWft(2, 1, FALSE)
    /\ UNCHANGED <<buffer, stickyQueue, acts, timers, signals, others, cancelRequested, crashes>>

SignalWithStartWorkflowExecution ==
    /\ status = "Unstarted"
    /\ signals < MaxSignals
    /\ status' = "Running"
    /\ signals' = signals + 1
    /\ history' = Stamp(IF BUG_SIGNAL_BEFORE_START
                        THEN <<Plain("WorkflowExecutionSignaled"), Plain("WorkflowExecutionStarted"),
                               WftScheduledEv(1, FALSE)>>
                        ELSE <<Plain("WorkflowExecutionStarted"), Plain("WorkflowExecutionSignaled"),
                               WftScheduledEv(1, FALSE)>>, 0)
    /\ wft' = NewWft(3, 1, FALSE)
    /\ UNCHANGED <<buffer, stickyQueue, acts, timers, others, cancelRequested, crashes>>

SignalWorkflowExecution ==
    /\ status = "Running"
    /\ signals < MaxSignals
    /\ signals' = signals + 1
    /\ Emit(<<Plain("WorkflowExecutionSignaled")>>)
    /\ UNCHANGED <<status, stickyQueue, acts, timers, others, cancelRequested, crashes>>

\* An input the model does not interpret (a child's or an external workflow's result).
OtherExternalInput ==
    /\ status = "Running"
    /\ others < MaxOtherInputs
    /\ others' = others + 1
    /\ Emit(<<Plain("OtherInput")>>)
    /\ UNCHANGED <<status, stickyQueue, acts, timers, signals, cancelRequested, crashes>>

RequestCancelWorkflowExecution ==
    /\ status = "Running"
    /\ ~cancelRequested
    /\ cancelRequested' = TRUE
    /\ IF BUG_CANCEL_CLOSES_RUN
       THEN /\ history' = history \o Stamp(<<Plain("WorkflowExecutionCanceled")>>, Len(history))
            /\ status' = "Closed"
            /\ UNCHANGED <<buffer, wft>>
       ELSE /\ Emit(<<Plain("WorkflowExecutionCancelRequested")>>)
            /\ UNCHANGED status
    /\ UNCHANGED <<stickyQueue, acts, timers, signals, others, crashes>>

\* Terminate and the run timeout first fail a started task (FORCE_CLOSE_COMMAND), flush
\* the buffer, then write the close (util.go, TerminateWorkflow / TimeoutWorkflow).
ForceClose(closeType) ==
    LET failEvs == IF wft.state = "Started" /\ ~Transient
                   THEN <<Ev("WorkflowTaskFailed", wft.sched, wft.started, 0, 0, "", 0, "")>>
                   ELSE <<>>
        n == Len(history) + Len(failEvs)
        closeEv == Plain(closeType)
    IN /\ history' = IF BUG_FLUSH_AFTER_CLOSE
                     THEN history \o Stamp(failEvs \o <<closeEv>>, Len(history))
                                  \o Flush(buffer, n + 1)
                     ELSE history \o Stamp(failEvs, Len(history)) \o Flush(buffer, n)
                                  \o Stamp(<<closeEv>>, n + Len(buffer))
       /\ status' = "Closed"
       /\ buffer' = <<>>
       /\ wft' = NoWft
       /\ UNCHANGED <<stickyQueue, acts, timers, signals, others, cancelRequested, crashes>>

TerminateWorkflowExecution ==
    /\ status = "Running" \/ (BUG_TERMINATE_CLOSED /\ status = "Closed")
    /\ ForceClose("WorkflowExecutionTerminated")

WorkflowRunTimeout ==
    /\ status = "Running"
    /\ ForceClose("WorkflowExecutionTimedOut")

\* ResetWorkflowExecution (service/history/ndc/workflow_resetter.go; the Python twin is
\* core/statemachine/history/service/reset.py). A reset starts a new run whose history is
\* a prefix of its base run's, cut where a batch ends with a workflow task pending, and
\* then the reset's own batch: the pending task (first started by the history service if
\* it had not started) fails with RESET_WORKFLOW, the signals and child results the base
\* received after the cut are reapplied as new events, and a new task is scheduled. The
\* reset's failure clears the attempt counter (workflow_task_state_machine.go: "always
\* clear workflow task attempt for reset"), so the new task is attempt 1, written at once,
\* on the normal queue.
\*
\* The spec takes the reset as a step at the cut: a behaviour that writes the prefix
\* reaches the mutable state the server rebuilds from it, except for what no event
\* records. The buffer is empty where a batch ends; an activity's start and retries are
\* written only when it closes, so every open activity is rebuilt as scheduled, attempt 1.
\* A transient attempt's Scheduled and Started are written as a batch of their own before
\* its completion, so a cut can fall after them: they are written first.
Resets == Len(SelectSeq(history, LAMBDA e: e.type = "WorkflowTaskFailed" /\ e.info = "ResetWorkflow"))
Count(seq, x) == Cardinality({i \in DOMAIN seq : seq[i] = x})
ReapplyChoices ==
    {re \in UNION {[1..n -> {"WorkflowExecutionSignaled", "OtherInput"}] :
                    n \in 0..(MaxSignals - signals) + (MaxOtherInputs - others)} :
        Count(re, "WorkflowExecutionSignaled") <= MaxSignals - signals
        /\ Count(re, "OtherInput") <= MaxOtherInputs - others}

\* The reset that reapplies `re`, a sequence of "WorkflowExecutionSignaled" and "OtherInput".
Reset(re) ==
    /\ status = "Running"
    /\ MaxResets > 0 /\ Resets < MaxResets
    /\ buffer = <<>>
    /\ wft.state = "Started" \/ (wft.state = "Scheduled" /\ ~Transient)
    /\ LET n == Len(history)
           pre == CASE Transient -> <<WftScheduledEv(wft.attempt, wft.sticky),
                                      Ev("WorkflowTaskStarted", n + 1, 0, 0, 0, "", 0, "")>>
                    [] wft.state = "Scheduled" -> <<Ev("WorkflowTaskStarted", wft.sched, 0, 0, 0, "", 0, "")>>
                    [] OTHER -> <<>>
           schedId == IF Transient THEN n + 1 ELSE wft.sched
           startedId == IF pre = <<>> THEN wft.started ELSE n + Len(pre)
           failed == Ev("WorkflowTaskFailed", schedId, startedId, 0, 0, "", 0, "ResetWorkflow")
           evs == pre \o <<failed>> \o [i \in 1..Len(re) |-> Plain(re[i])]
           base == n + Len(evs)
           attempt == IF BUG_RESET_COUNTS_ATTEMPT THEN Min({wft.attempt + 1, MaxWftAttempts}) ELSE 1
       IN /\ history' = history \o Stamp(evs, n)
                        \o (IF attempt = 1 THEN Stamp(<<WftScheduledEv(1, FALSE)>>, base) ELSE <<>>)
          /\ wft' = IF attempt = 1 THEN NewWft(base + 1, 1, FALSE) ELSE NewWft(0, attempt, FALSE)
          /\ signals' = signals + Count(re, "WorkflowExecutionSignaled")
          /\ others' = others + Count(re, "OtherInput")
    /\ acts' = [a \in Acts |-> IF IsOpenAct(a)
                              THEN [acts[a] EXCEPT !.state = "Scheduled", !.attempt = 1, !.lost = FALSE]
                              ELSE acts[a]]
    /\ stickyQueue' = FALSE
    /\ UNCHANGED <<status, buffer, timers, cancelRequested, crashes>>

ResetWorkflowExecution == \E re \in ReapplyChoices : Reset(re)

-----------------------------------------------------------------------------
(* Actions: workflow tasks *)

RecordWorkflowTaskStarted ==
    /\ status = "Running"
    /\ wft.state = "Scheduled"
    /\ IF Transient /\ wft.attempt = 1   \* events came since it failed: written now
       THEN /\ history' = history \o Stamp(<<WftScheduledEv(1, wft.sticky),
                                             Ev("WorkflowTaskStarted", Len(history) + 1, 0, 0, 0,
                                                "", 0, "")>>, Len(history))
            /\ wft' = [wft EXCEPT !.state = "Started", !.sched = Len(history) + 1,
                                  !.started = Len(history) + 2, !.lost = FALSE]
       ELSE IF Transient
       THEN /\ wft' = [wft EXCEPT !.state = "Started", !.lost = FALSE]
            /\ UNCHANGED history
       ELSE /\ history' = history \o Stamp(<<Ev("WorkflowTaskStarted", wft.sched, 0, 0, 0, "", 0, "")>>,
                                           Len(history))
            /\ wft' = [wft EXCEPT !.state = "Started", !.started = Len(history) + 1,
                                  !.lost = FALSE]
    /\ UNCHANGED <<status, buffer, stickyQueue, acts, timers, signals, others, cancelRequested,
                   crashes>>

\* WorkflowTaskCompleted, the command events, the flushed buffer, and a new task if
\* buffered events existed, a not-started activity was cancelled, or the worker asked
\* for one with `force` (force_create_new_workflow_task: the SDK's workflow-task
\* heartbeat while a local activity runs) (workflow_task_completed_handler.go). The
\* worker's next tasks go to its sticky queue if the completion names one (`sticky`), and
\* to the normal queue if not (a worker without a workflow cache): the handler sets or
\* clears the run's sticky queue with every completion. A transient attempt writes its
\* Scheduled and Started first. An invalid command fails the task; a close command while
\* events are buffered fails it with UNHANDLED_COMMAND.
RespondWorkflowTaskCompleted(cmds, force, sticky) ==
    /\ status = "Running"
    /\ wft.state = "Started"
    /\ ~wft.lost
    /\ LET pre == IF Transient
                  THEN <<WftScheduledEv(wft.attempt, wft.sticky),
                         Ev("WorkflowTaskStarted", Len(history) + 1, 0, 0, 0, "", 0, "")>>
                  ELSE <<>>
           schedId == IF Transient THEN Len(history) + 1 ELSE wft.sched
           startedId == IF Transient THEN Len(history) + 2 ELSE wft.started
           wtcId == Len(history) + Len(pre) + 1
           done == Ev("WorkflowTaskCompleted", schedId, startedId, 0, 0, "", 0, "")
           r == ApplyCmds(cmds, wtcId)
           flushBase == r.next - 1
           flushed == IF r.close THEN <<>> ELSE Flush(r.buf, flushBase)
           early == Flush(r.buf, wtcId)    \* BUG_FLUSH_BEFORE_COMMANDS: buffer first
           cmdEvs == IF BUG_FLUSH_BEFORE_COMMANDS
                     THEN Stamp(r.evs, wtcId + Len(r.buf))
                     ELSE r.evs
           more == Len(r.buf) > 0 \/ r.force \/ force
           nextBase == r.next - 1 + Len(flushed)
       IN IF r.bad
          THEN FailWft(Ev("WorkflowTaskFailed", 0, 0, 0, 0, "", 0, ""))
               /\ UNCHANGED <<status, acts, timers>>
          ELSE IF r.close /\ Len(r.buf) > 0
          THEN FailWft(Ev("WorkflowTaskFailed", 0, 0, 0, 0, "", 0, ""))
               /\ UNCHANGED <<status, acts, timers>>
          ELSE /\ history' = history \o Stamp(pre \o <<done>>, Len(history))
                             \o (IF BUG_FLUSH_BEFORE_COMMANDS /\ ~r.close
                                 THEN early \o cmdEvs ELSE cmdEvs \o flushed)
                             \o (IF more /\ ~r.close
                                 THEN Stamp(<<WftScheduledEv(1, sticky)>>, nextBase) ELSE <<>>)
               /\ status' = IF r.close THEN "Closed" ELSE "Running"
               /\ wft' = IF more /\ ~r.close THEN NewWft(nextBase + 1, 1, sticky) ELSE NoWft
               /\ buffer' = <<>>
               /\ stickyQueue' = sticky
               /\ acts' = r.acts
               /\ timers' = r.timers
    /\ UNCHANGED <<signals, others, cancelRequested, crashes>>

RespondWorkflowTaskFailed ==
    /\ status = "Running"
    /\ wft.state = "Started"
    /\ ~wft.lost
    /\ wft.sticky \/ wft.attempt < MaxWftAttempts   \* bounds the worker's failures
    /\ FailWft(Ev("WorkflowTaskFailed", 0, 0, 0, 0, "", 0, ""))
    /\ UNCHANGED <<status, acts, timers, signals, others, cancelRequested, crashes>>

\* START_TO_CLOSE: like a failure. SCHEDULE_TO_START: only for a sticky task; the
\* attempt is kept and the task moves to the normal queue (timer_queue_active_task_executor.go).
WorkflowTaskTimeout(kind) ==
    /\ status = "Running"
    /\ \/ /\ kind = "StartToClose"
          /\ wft.state = "Started"
          /\ ~BUG_NO_WFT_TIMEOUT
          /\ FailWft(Ev("WorkflowTaskTimedOut", 0, 0, 0, 0, "", 0, "StartToClose"))
       \/ /\ kind = "ScheduleToStart"
          /\ wft.state = "Scheduled"
          /\ wft.sticky
          /\ history' = history \o Stamp(<<Ev("WorkflowTaskTimedOut", wft.sched, 0, 0, 0, "", 0,
                                              "ScheduleToStart"),
                                           WftScheduledEv(wft.attempt, FALSE)>>, Len(history))
          /\ wft' = NewWft(Len(history) + 2, wft.attempt, FALSE)
          /\ stickyQueue' = FALSE
          /\ UNCHANGED buffer
    /\ UNCHANGED <<status, acts, timers, signals, others, cancelRequested, crashes>>

\* The worker process dies: the tasks it holds will never be answered.
WorkerCrash ==
    /\ status = "Running"
    /\ crashes < MaxCrashes
    /\ wft.state = "Started" \/ \E a \in Acts : Running(a)
    /\ crashes' = crashes + 1
    /\ wft' = IF wft.state = "Started" THEN [wft EXCEPT !.lost = TRUE] ELSE wft
    /\ acts' = [a \in Acts |-> IF Running(a) THEN [acts[a] EXCEPT !.lost = TRUE] ELSE acts[a]]
    /\ UNCHANGED <<status, history, buffer, stickyQueue, timers, signals, others,
                   cancelRequested>>

-----------------------------------------------------------------------------
(* Actions: activities. Dispatch and retries write no events; the close writes the
   transient ActivityTaskStarted (with the final attempt) and the close together. *)

UnchangedForAct == UNCHANGED <<status, stickyQueue, timers, signals, others, cancelRequested,
                               crashes>>

RecordActivityTaskStarted(a) ==
    /\ status = "Running"
    /\ acts[a].state = "Scheduled"
    /\ acts' = [acts EXCEPT ![a].state = "Started", ![a].lost = FALSE]
    /\ UNCHANGED <<history, buffer, wft>>
    /\ UnchangedForAct

CloseActivity(a, type, withStarted) ==
    /\ acts' = [acts EXCEPT ![a].state = "Closed"]
    /\ Emit(IF withStarted /\ ~BUG_NO_TRANSIENT_STARTED
            THEN <<ActStartedEv(a), ActCloseEv(type, a, TRUE)>>
            ELSE <<ActCloseEv(type, a, FALSE)>>)

\* RetryActivity (activity.go): no event, the attempt goes up, a retry timer is set.
RetryActivity(a) ==
    /\ acts[a].attempt < MaxAttempts \/ BUG_UNBOUNDED_RETRY
    /\ acts[a].cancel = 0
    /\ acts' = [acts EXCEPT ![a].state = "Backoff", ![a].attempt = @ + 1]
    /\ UNCHANGED <<history, buffer, wft>>

RespondActivityTaskCompleted(a) ==
    /\ status = "Running"
    /\ (Running(a) /\ ~acts[a].lost) \/ (BUG_NO_TOKEN_CHECK /\ acts[a].state = "Closed")
    /\ CloseActivity(a, "ActivityTaskCompleted", TRUE)
    /\ UnchangedForAct

\* A retryable failure retries while the policy allows; otherwise the failure is final.
RespondActivityTaskFailed(a) ==
    /\ status = "Running"
    /\ Running(a) /\ ~acts[a].lost
    /\ \/ RetryActivity(a)
       \/ CloseActivity(a, "ActivityTaskFailed", TRUE)
    /\ UnchangedForAct

RespondActivityTaskCanceled(a) ==
    /\ status = "Running"
    /\ Running(a) /\ ~acts[a].lost /\ acts[a].cancel # 0
    /\ CloseActivity(a, "ActivityTaskCanceled", TRUE)
    /\ UnchangedForAct

\* StartToClose (or heartbeat) retries while allowed; ScheduleToStart and ScheduleToClose
\* are never retried (RETRY_STATE_TIMEOUT).
ActivityTaskTimeout(a, kind) ==
    /\ status = "Running"
    /\ \/ /\ kind = "StartToClose" /\ Running(a)
          /\ \/ RetryActivity(a)
             \/ CloseActivity(a, "ActivityTaskTimedOut", TRUE)
       \/ /\ kind = "ScheduleToStart" /\ acts[a].state = "Scheduled"
          /\ CloseActivity(a, "ActivityTaskTimedOut", FALSE)
       \/ /\ kind = "ScheduleToClose" /\ IsOpenAct(a)
          /\ CloseActivity(a, "ActivityTaskTimedOut", Running(a))
    /\ UnchangedForAct

ActivityRetryTimerFired(a) ==
    /\ status = "Running"
    /\ acts[a].state = "Backoff"
    /\ acts' = [acts EXCEPT ![a].state = "Scheduled"]
    /\ UNCHANGED <<history, buffer, wft>>
    /\ UnchangedForAct

-----------------------------------------------------------------------------
(* Actions: timers *)

UserTimerFired(t) ==
    /\ status = "Running"
    /\ timers[t].state = "Started"
    /\ timers' = [timers EXCEPT ![t].state = "Closed"]
    /\ Emit(<<Ev("TimerFired", timers[t].sched, 0, 0, 0, timers[t].tid, 0, "")>>)
    /\ UNCHANGED <<status, stickyQueue, acts, signals, others, cancelRequested, crashes>>

\* A closed run stays closed.
Done == status = "Closed" /\ UNCHANGED vars

-----------------------------------------------------------------------------
(* The specification *)

Init ==
    /\ status = "Unstarted"
    /\ history = <<>>
    /\ buffer = <<>>
    /\ wft = NoWft
    /\ stickyQueue = FALSE
    /\ acts = [a \in Acts |-> [state |-> "Unused", sched |-> 0, aid |-> "", attempt |-> 1,
                               cancel |-> 0, lost |-> FALSE]]
    /\ timers = [t \in Tms |-> [state |-> "Unused", sched |-> 0, tid |-> ""]]
    /\ signals = 0
    /\ others = 0
    /\ cancelRequested = FALSE
    /\ crashes = 0

\* What clients and the environment do; never assumed to happen.
Env(name) == name \in EnvActions
\* Everything but reset, which trace validation takes with the reapplied inputs it logged.
EnvironmentButReset ==
    \/ StartWorkflowExecution
    \/ Env("SignalWithStartWorkflowExecution") /\ SignalWithStartWorkflowExecution
    \/ SignalWorkflowExecution \/ OtherExternalInput
    \/ Env("RequestCancelWorkflowExecution") /\ RequestCancelWorkflowExecution
    \/ Env("TerminateWorkflowExecution") /\ TerminateWorkflowExecution
    \/ Env("WorkflowRunTimeout") /\ WorkflowRunTimeout
    \/ WorkerCrash
    \/ Env("RespondWorkflowTaskFailed") /\ RespondWorkflowTaskFailed
Environment == EnvironmentButReset \/ ResetWorkflowExecution

ActivityStep(a) ==
    \/ RecordActivityTaskStarted(a) \/ RespondActivityTaskCompleted(a)
    \/ RespondActivityTaskFailed(a) \/ RespondActivityTaskCanceled(a)
    \/ \E k \in ActivityTimeouts : ActivityTaskTimeout(a, k)
    \/ ActivityRetryTimerFired(a)

\* The history service's own steps on the workflow task and the timers.
ServiceSteps ==
    \/ RecordWorkflowTaskStarted
    \/ \E k \in WftTimeouts : WorkflowTaskTimeout(k)
    \/ \E t \in Tms : UserTimerFired(t)

\* The history service's own steps and the workers' activity steps.
System == ServiceSteps \/ \E a \in Acts : ActivityStep(a)

\* The model's workflow is well behaved: after a completion it either closed or still
\* waits for something (a task, an activity or a timer). A workflow that waits for a
\* signal that never comes would never close, and that is not the server's fault.
WaitsOrCloses ==
    \/ status = "Closed"
    \/ wft.state # "None"
    \/ \E a \in Acts : IsOpenAct(a)
    \/ \E t \in Tms : timers[t].state = "Started"

\* May the worker ask for a new task with its completion (a workflow-task heartbeat)?
ForceChoices == IF Env("WorkflowTaskHeartbeat") THEN BOOLEAN ELSE {FALSE}

\* May a completion name no sticky queue (a worker that keeps no workflow cache)?
StickyChoices == IF Env("NonStickyCompletion") THEN BOOLEAN ELSE {TRUE}

WorkerCompletes ==
    \E cmds \in CommandChoices, force \in ForceChoices, sticky \in StickyChoices :
        RespondWorkflowTaskCompleted(cmds, force, sticky) /\ WaitsOrCloses'

Next == Environment \/ System \/ WorkerCompletes \/ Done

Fairness ==
    /\ WF_vars(StartWorkflowExecution)
    /\ WF_vars(RecordWorkflowTaskStarted)
    /\ SF_vars(WorkerCompletes)   \* a task retried forever eventually completes
    /\ WF_vars(\E k \in WftTimeouts : WorkflowTaskTimeout(k))
    /\ \A a \in Acts : WF_vars(ActivityStep(a))
    /\ \A t \in Tms : WF_vars(UserTimerFired(t))

Spec == Init /\ [][Next]_vars
FairSpec == Spec /\ Fairness

-----------------------------------------------------------------------------
(* Invariants. The H-rules are those of spec/history.md that can be stated on the
   events this model writes. *)

EventOK(e) ==
    /\ e.type \in EventTypes
    /\ e.id \in Nat /\ e.sched \in Nat /\ e.started \in Int /\ e.wtc \in Nat /\ e.latest \in Nat
    /\ e.attempt \in 0..MaxWftAttempts \cup 0..MaxAttempts

TypeOK ==
    /\ status \in {"Unstarted", "Running", "Closed"}
    /\ \A i \in 1..Len(history) : EventOK(history[i])
    /\ wft.state \in {"None", "Scheduled", "Started"} /\ wft.attempt \in 1..MaxWftAttempts
    /\ \A a \in Acts : /\ acts[a].state \in {"Unused", "Scheduled", "Started", "Backoff", "Closed"}
                       /\ acts[a].attempt \in 1..MaxAttempts
    /\ \A t \in Tms : timers[t].state \in {"Unused", "Started", "Closed"}
    /\ signals \in 0..MaxSignals /\ others \in 0..MaxOtherInputs /\ crashes \in 0..MaxCrashes

Hn == Len(history)
H(i) == history[i]
Ids == 1..Hn
TypeAt(i) == H(i).type

H1_EventIds == \A i \in Ids : H(i).id = i

H2_StartFirst == \A i \in Ids : (TypeAt(i) = "WorkflowExecutionStarted") <=> (i = 1)

H3_CloseLast == \A i \in Ids : TypeAt(i) \in CloseTypes => i = Hn

\* Scheduled -> Started -> {Completed | Failed | TimedOut(StartToClose)} or
\* Scheduled -> TimedOut(ScheduleToStart); at most one task open at a time.
WftClosedBy(s, k) == TypeAt(k) \in WftCloses /\ H(k).sched = s
H5_WorkflowTaskLifecycle ==
    /\ \A i \in Ids : TypeAt(i) = "WorkflowTaskStarted" =>
           /\ H(i).sched \in 1..i-1 /\ TypeAt(H(i).sched) = "WorkflowTaskScheduled"
           /\ \A j \in 1..i-1 : TypeAt(j) = "WorkflowTaskStarted" => H(j).sched # H(i).sched
    /\ \A i \in Ids : TypeAt(i) \in WftCloses =>
           /\ H(i).sched \in 1..i-1 /\ TypeAt(H(i).sched) = "WorkflowTaskScheduled"
           /\ IF H(i).started = 0
              THEN TypeAt(i) = "WorkflowTaskTimedOut" /\ H(i).info = "ScheduleToStart"
              ELSE H(i).started \in 1..i-1 /\ TypeAt(H(i).started) = "WorkflowTaskStarted"
                   /\ H(H(i).started).sched = H(i).sched
           /\ \A j \in 1..i-1 : WftClosedBy(H(i).sched, j) => FALSE
    /\ \A j \in Ids : TypeAt(j) = "WorkflowTaskScheduled" =>
           \A i \in 1..j-1 : TypeAt(i) = "WorkflowTaskScheduled" =>
               \E k \in i+1..j-1 : WftClosedBy(i, k)

H6_NothingWhileInFlight ==
    \A i \in 1..Hn-1 : TypeAt(i) = "WorkflowTaskStarted" => TypeAt(i + 1) \in WftCloses

\* Written in the batch of the WorkflowTaskCompleted it names: after it and after only
\* command events of that batch (or an at-once ActivityTaskCanceled).
InCommandBatch(i) ==
    LET w == H(i).wtc
    IN /\ w \in 1..i-1 /\ TypeAt(w) = "WorkflowTaskCompleted"
       /\ \A k \in w+1..i-1 : \/ TypeAt(k) \in CommandEvents /\ H(k).wtc = w
                             \/ TypeAt(k) = "ActivityTaskCanceled"

H7_CommandBatch == \A i \in Ids : TypeAt(i) \in CommandEvents \ WorkflowCloses => InCommandBatch(i)

H8_CloseFromCompletedWft == \A i \in Ids : TypeAt(i) \in WorkflowCloses => InCommandBatch(i)

\* Per scheduled id, the follow-up types in order must be a prefix of a legal sequence.
ActFollowTypes == {"ActivityTaskStarted", "ActivityTaskCancelRequested"} \cup ActivityCloses
Follow(s, types) == SelectSeq(history, LAMBDA e: e.sched = s /\ e.type \in types)
TypesOf(es) == [j \in 1..Len(es) |-> es[j].type]
Closes3 == {"ActivityTaskCompleted", "ActivityTaskFailed", "ActivityTaskTimedOut"}
ActLegal ==
    {<<"ActivityTaskStarted", c>> : c \in Closes3}
    \cup {<<"ActivityTaskTimedOut">>}
    \cup {<<"ActivityTaskCancelRequested", c>> : c \in {"ActivityTaskCanceled", "ActivityTaskTimedOut"}}
    \cup {<<"ActivityTaskCancelRequested", "ActivityTaskStarted", c>> : c \in ActivityCloses}
    \cup {<<"ActivityTaskStarted", "ActivityTaskCancelRequested", c>> : c \in ActivityCloses}
IsPrefix(p, q) == Len(p) <= Len(q) /\ SubSeq(q, 1, Len(p)) = p
ActRefsOK(e, s) ==
    /\ e.type \in ActivityCloses =>
          IF e.started = 0
          THEN \A k \in 1..e.id-1 : ~(TypeAt(k) = "ActivityTaskStarted" /\ H(k).sched = s)
          ELSE e.started \in 1..e.id-1 /\ TypeAt(e.started) = "ActivityTaskStarted"
               /\ H(e.started).sched = s
    /\ e.type = "ActivityTaskCanceled" =>
          e.latest \in 1..e.id-1 /\ TypeAt(e.latest) = "ActivityTaskCancelRequested"
          /\ H(e.latest).sched = s
H9_ActivityLifecycle ==
    /\ \A i \in Ids : TypeAt(i) \in ActFollowTypes =>
          H(i).sched \in 1..i-1 /\ TypeAt(H(i).sched) = "ActivityTaskScheduled"
    /\ \A s \in Ids : TypeAt(s) = "ActivityTaskScheduled" =>
          LET f == Follow(s, ActFollowTypes)
          IN /\ \E p \in ActLegal : IsPrefix(TypesOf(f), p)
             /\ \A j \in 1..Len(f) : ActRefsOK(f[j], s)

ActClosedBefore(s, i) == \E k \in 1..i-1 : TypeAt(k) \in ActivityCloses /\ H(k).sched = s
H10_UniqueActivityIds ==
    \A i, j \in Ids : (j < i /\ TypeAt(i) = "ActivityTaskScheduled"
                       /\ TypeAt(j) = "ActivityTaskScheduled" /\ H(i).eid = H(j).eid)
                      => ActClosedBefore(j, i)

TimerEnds == {"TimerFired", "TimerCanceled"}
H11_TimerLifecycle ==
    \A i \in Ids : TypeAt(i) \in TimerEnds =>
        LET s == H(i).sched IN
        /\ s \in 1..i-1 /\ TypeAt(s) = "TimerStarted" /\ H(s).eid = H(i).eid
        /\ \A k \in 1..i-1 : ~(TypeAt(k) \in TimerEnds /\ H(k).sched = s)

H12_UniqueTimerIds ==
    \A i, j \in Ids : (j < i /\ TypeAt(i) = "TimerStarted" /\ TypeAt(j) = "TimerStarted"
                       /\ H(i).eid = H(j).eid)
                      => \E k \in j+1..i-1 : TypeAt(k) \in TimerEnds /\ H(k).sched = j

\* A nonzero reference names an earlier event (the placeholder -123 names none).
H16_ReferencesBackwards ==
    \A i \in Ids : \A r \in {H(i).sched, H(i).started, H(i).wtc, H(i).latest} :
        r # 0 => r \in 1..i-1

CloseCount == Cardinality({i \in Ids : TypeAt(i) \in CloseTypes})
INV_RUN_CLOSES_ONCE ==
    /\ CloseCount <= 1
    /\ (status = "Closed") <=> (CloseCount = 1)

\* A result is recorded at most once: per activity one Started and one close, per timer
\* one TimerFired.
INV_RESULT_AT_MOST_ONCE ==
    \A s \in Ids :
        /\ TypeAt(s) = "ActivityTaskScheduled" =>
              /\ Len(Follow(s, ActivityCloses)) <= 1
              /\ Len(Follow(s, {"ActivityTaskStarted"})) <= 1
        /\ TypeAt(s) = "TimerStarted" => Len(Follow(s, {"TimerFired"})) <= 1

\* A reset's WorkflowTaskFailed is followed, after the reapplied inputs only, by attempt 1
\* of a new task on the normal queue, in the same batch.
INV_RESET_FRESH_TASK ==
    \A i \in Ids : TypeAt(i) = "WorkflowTaskFailed" /\ H(i).info = "ResetWorkflow" =>
        \E j \in i+1..Hn :
            /\ TypeAt(j) = "WorkflowTaskScheduled" /\ H(j).attempt = 1 /\ H(j).info = "Normal"
            /\ \A k \in i+1..j-1 : TypeAt(k) \in {"WorkflowExecutionSignaled", "OtherInput"}

INV_EVENTUALLY_CLOSED == <>(status = "Closed")

=============================================================================
