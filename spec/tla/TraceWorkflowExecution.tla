----------------------- MODULE TraceWorkflowExecution -----------------------
(***************************************************************************)
(* Trace validation of recorded histories against WorkflowExecution, by   *)
(* the method of Cirstea, Kuppe, Loillier and Merz (2024): the logged     *)
(* events constrain the specification's actions, and TLC searches for a   *)
(* behaviour of the specification that writes exactly the logged history. *)
(*                                                                         *)
(* `Logs` comes from the generated module TraceLog (adapters/tlc_trace.py *)
(* writes it from Temporal histories): a tuple of logs, each a tuple of   *)
(* event records in the format of WorkflowExecution's `history`. A        *)
(* behaviour follows one log, `Followed` (Logs[logIndex], set at Init),  *)
(* so one TLC run validates a whole batch of histories. Every step of     *)
(* TraceNext                                                               *)
(* is a step of Next, except that the commands of a workflow task         *)
(* completion are read from the log instead of chosen freely. `history`   *)
(* is always a prefix of the log, so its length `l` is the log index of   *)
(* the usual trace-validation pattern: a step that writes must write      *)
(* Followed[l+1], Followed[l+2], ...                                       *)
(*                                                                         *)
(* Two kinds of steps write nothing, and the log fixes them only lazily:  *)
(*  - buffering: while a workflow task is in flight, an input goes to the *)
(*    buffer and is written when the task closes. The log says which      *)
(*    events that flush writes (`FlushBlock`), so a buffered event must be *)
(*    the next of them still missing (completions and other events each   *)
(*    in their logged order; the flush puts completions last);           *)
(*  - invisible steps (an activity's dispatch, a retry, a transient       *)
(*    workflow-task attempt). An activity's invisible steps commute with  *)
(*    every step that does not look at that activity, so a behaviour can  *)
(*    always take them just before the step that does: the one writing or *)
(*    buffering its next event, or the completion whose commands cancel  *)
(*    it. TraceNext allows them only then (`Needed`).                      *)
(* Both rules only remove behaviours that cannot write the log, or that   *)
(* another behaviour writing the same log replaces; they keep TLC from    *)
(* enumerating every order in which concurrent activities could have been *)
(* dispatched, retried and buffered, which grew exponentially with their  *)
(* number.                                                                 *)
(*                                                                         *)
(* A log is matched iff TLC reaches a state with l = Len(Followed); TLC  *)
(* registers keep, per log, the longest prefix matched so far, and        *)
(* TraceProgress prints each new one (<<"matched", n, l>>). Once every log *)
(* is matched, the invariant TraceNotMatched is violated, which the       *)
(* adapter reads as "all accepted"; otherwise TLC ends after exploring    *)
(* everything and the prints say which logs stopped where.                *)
(***************************************************************************)
EXTENDS WorkflowExecution, TraceLog

VARIABLE logIndex  \* which of the logs this behaviour follows

N == Len(Logs)

\* The log this behaviour follows, and the number of its events matched so far.
Followed == Logs[logIndex]
l == Len(history)

-----------------------------------------------------------------------------
(* Tables over the logs, one entry per log. They mention no variable, so TLC     *)
(* computes them once.                                                           *)

WtcPositions(n) == {k \in 1..Len(Logs[n]) : Logs[n][k].type = "WorkflowTaskCompleted"}

\* The command events of each logged WorkflowTaskCompleted, in order.
CommandEventsOf ==
    [n \in 1..N |-> [k \in WtcPositions(n) |->
        SelectSeq(Logs[n], LAMBDA e: e.wtc = k /\ e.type \in CommandEvents)]]

\* The first WorkflowTaskCompleted after position i (0: none).
NextWtc ==
    [n \in 1..N |-> [i \in 0..Len(Logs[n]) |->
        LET later == {k \in WtcPositions(n) : k > i}
        IN IF later = {} THEN 0 ELSE Min(later)]]

\* The activities (by scheduled id) that the commands of that completion cancel.
CancelsNext ==
    [n \in 1..N |-> [i \in 0..Len(Logs[n]) |->
        IF NextWtc[n][i] = 0 THEN {}
        ELSE LET evs == CommandEventsOf[n][NextWtc[n][i]]
             IN {evs[j].sched : j \in {j \in 1..Len(evs) :
                                          evs[j].type = "ActivityTaskCancelRequested"}}]]

\* While a task is in flight, the log goes on with the events its close writes: the
\* transient attempt's Scheduled and Started, the close, the command events (and an
\* activity cancelled before it started) and then the flushed buffer, which ends at
\* the next workflow task or the run's close.
Skippable(e) ==
    \/ e.type \in {"WorkflowTaskStarted"} \cup WftCloses
    \/ e.type = "WorkflowTaskScheduled" /\ e.attempt > 1
    \/ e.wtc # 0
    \/ e.type = "ActivityTaskCanceled" /\ e.started = 0
Bufferable(e) ==
    e.type \in {"WorkflowExecutionSignaled", "OtherInput", "WorkflowExecutionCancelRequested",
                "TimerFired", "ActivityTaskStarted"} \cup ActivityCloses
RECURSIVE SkipFrom(_, _), TakeFrom(_, _)
SkipFrom(n, i) == IF i <= Len(Logs[n]) /\ Skippable(Logs[n][i]) THEN SkipFrom(n, i + 1) ELSE i
TakeFrom(n, i) == IF i <= Len(Logs[n]) /\ Bufferable(Logs[n][i]) THEN TakeFrom(n, i + 1) ELSE i
FlushBlock(n, i) == LET s == SkipFrom(n, i + 1) IN SubSeq(Logs[n], s, TakeFrom(n, s) - 1)

\* The inputs the next logged reset reapplies: the signals and child results after its
\* WorkflowTaskFailed (read from the log rather than enumerated).
ReapplyInputs == {"WorkflowExecutionSignaled", "OtherInput"}
RECURSIVE InputsFrom(_, _)
InputsFrom(n, i) == IF i <= Len(Logs[n]) /\ Logs[n][i].type \in ReapplyInputs
                    THEN <<Logs[n][i].type>> \o InputsFrom(n, i + 1) ELSE <<>>
ResetFailures(n) ==
    {k \in 1..Len(Logs[n]) : Logs[n][k].type = "WorkflowTaskFailed" /\ Logs[n][k].info = "ResetWorkflow"}
LogReapplies ==
    [n \in 1..N |-> [i \in 0..Len(Logs[n]) |->
        LET later == {k \in ResetFailures(n) : k > i}
        IN IF later = {} THEN {} ELSE {InputsFrom(n, Min(later) + 1)}]]

Firsts(evs) == SelectSeq(evs, LAMBDA e: e.type \notin CompletionTypes)
Lasts(evs) == SelectSeq(evs, LAMBDA e: e.type \in CompletionTypes)
FlushFirsts == [n \in 1..N |-> [i \in 0..Len(Logs[n]) |-> Firsts(FlushBlock(n, i))]]
FlushLasts == [n \in 1..N |-> [i \in 0..Len(Logs[n]) |-> Lasts(FlushBlock(n, i))]]

-----------------------------------------------------------------------------
(* The trace spec *)

\* The slot holding the activity / timer opened by event `s` (0 if none).
SlotOf(slots, s) ==
    IF \E i \in DOMAIN slots : slots[i].sched = s /\ slots[i].state # "Unused"
    THEN CHOOSE i \in DOMAIN slots : slots[i].sched = s /\ slots[i].state # "Unused"
    ELSE 0

LogCmd(e) ==
    CASE e.type = "ActivityTaskScheduled" -> Cmd("ScheduleActivityTask", 0, e.eid)
      [] e.type = "ActivityTaskCancelRequested" -> Cmd("RequestCancelActivityTask", SlotOf(acts, e.sched), "")
      [] e.type = "TimerStarted" -> Cmd("StartTimer", 0, e.eid)
      [] e.type = "TimerCanceled" -> Cmd("CancelTimer", SlotOf(timers, e.sched), "")
      [] e.type = "OtherCommandEvent" -> Cmd("Other", 0, "")
      [] e.type = "WorkflowExecutionCompleted" -> Cmd("CompleteWorkflowExecution", 0, "")
      [] e.type = "WorkflowExecutionFailed" -> Cmd("FailWorkflowExecution", 0, "")
      [] e.type = "WorkflowExecutionCanceled" -> Cmd("CancelWorkflowExecution", 0, "")
      [] e.type = "WorkflowExecutionContinuedAsNew" -> Cmd("ContinueAsNewWorkflowExecution", 0, "")

NeedsSlot(c) == c.kind \in {"RequestCancelActivityTask", "CancelTimer"}

\* The commands of the next logged WorkflowTaskCompleted: its command events, in order.
LogCommands ==
    IF NextWtc[logIndex][l] = 0 THEN {}
    ELSE LET evs == CommandEventsOf[logIndex][NextWtc[logIndex][l]]
             cmds == [i \in 1..Len(evs) |-> LogCmd(evs[i])]
         IN IF \E i \in 1..Len(cmds) : NeedsSlot(cmds[i]) /\ cmds[i].slot = 0
            THEN {} ELSE {cmds}

\* A step that writes writes the next logged events.
MatchesLog ==
    /\ Len(history') <= Len(Followed)
    /\ \A i \in l+1..Len(history') : history'[i] = Followed[i]

\* The buffer holds the next missing events of the flush the log shows, in order (ids
\* and the wired started_event_id are assigned by the flush itself).
Bare(e) == [e EXCEPT !.id = 0, !.started = 0]
Fits(bs, es) == Len(bs) <= Len(es) /\ \A i \in 1..Len(bs) : Bare(bs[i]) = Bare(es[i])
BufferFits ==
    buffer' = buffer
    \/ (Fits(Firsts(buffer'), FlushFirsts[logIndex][l])
        /\ Fits(Lasts(buffer'), FlushLasts[logIndex][l]))

\* Is the next step that looks at activity `a` due? (See the header.)
Needed(a) ==
    LET s == acts[a].sched
        k == Len(Lasts(buffer))
        lasts == FlushLasts[logIndex][l]
    IN IF wft.state = "Started"
       THEN \/ k < Len(lasts) /\ lasts[k + 1].sched = s
            \/ s \in CancelsNext[logIndex][l]
       ELSE l < Len(Followed) /\ Followed[l + 1].sched = s
            /\ Followed[l + 1].type \in ActFollowTypes

Writes == history' # history \/ buffer' # buffer

\* Every step of TraceNext follows the log: it writes the next logged events, keeps
\* the buffer a prefix of the logged flush, and stays on its log.
Follows == MatchesLog /\ BufferFits /\ UNCHANGED logIndex

\* TraceNext is Next, action by action, each step following the log. Each action of
\* Next is a named disjunct here that, the first time it takes a step, prints
\* <<"action", name>> (TLC register k, below the logs' registers, remembers it):
\* adapters/tlc_link.py reads the prints to name the actions of the specification no
\* validated history exercises. A test keeps this list equal to the actions Next is
\* made of.
Took(k, name) ==
    IF TLCGet(k) = 0 THEN TLCSet(k, 1) /\ PrintT(<<"action", name>>) ELSE TRUE
ASSUME \A k \in 1..21 : TLCSet(k, 0)
TStartWorkflowExecution ==
    StartWorkflowExecution /\ Follows
    /\ Took(1, "StartWorkflowExecution")
TSignalWithStartWorkflowExecution ==
    Env("SignalWithStartWorkflowExecution") /\ SignalWithStartWorkflowExecution /\ Follows
    /\ Took(2, "SignalWithStartWorkflowExecution")
TSignalWorkflowExecution ==
    SignalWorkflowExecution /\ Follows
    /\ Took(3, "SignalWorkflowExecution")
TOtherExternalInput ==
    OtherExternalInput /\ Follows
    /\ Took(4, "OtherExternalInput")
TRequestCancelWorkflowExecution ==
    Env("RequestCancelWorkflowExecution") /\ RequestCancelWorkflowExecution /\ Follows
    /\ Took(5, "RequestCancelWorkflowExecution")
TTerminateWorkflowExecution ==
    Env("TerminateWorkflowExecution") /\ TerminateWorkflowExecution /\ Follows
    /\ Took(6, "TerminateWorkflowExecution")
TWorkflowRunTimeout ==
    Env("WorkflowRunTimeout") /\ WorkflowRunTimeout /\ Follows
    /\ Took(7, "WorkflowRunTimeout")
TWorkerCrash ==
    WorkerCrash /\ Follows
    /\ Took(8, "WorkerCrash")
TRespondWorkflowTaskFailed ==
    Env("RespondWorkflowTaskFailed") /\ RespondWorkflowTaskFailed /\ Follows
    /\ Took(9, "RespondWorkflowTaskFailed")
\* A reset takes the inputs the log shows it reapplied.
TResetWorkflowExecution ==
    \E re \in LogReapplies[logIndex][l] : Reset(re) /\ Follows
    /\ Took(10, "ResetWorkflowExecution")
\* An activity's steps that write nothing are taken only when due (see the header).
Due(a) == (Writes \/ Needed(a)) /\ Follows
TRecordActivityTaskStarted ==
    \E a \in Acts : RecordActivityTaskStarted(a) /\ Due(a)
    /\ Took(11, "RecordActivityTaskStarted")
TRespondActivityTaskCompleted ==
    \E a \in Acts : RespondActivityTaskCompleted(a) /\ Due(a)
    /\ Took(12, "RespondActivityTaskCompleted")
TRespondActivityTaskFailed ==
    \E a \in Acts : RespondActivityTaskFailed(a) /\ Due(a)
    /\ Took(13, "RespondActivityTaskFailed")
TRespondActivityTaskCanceled ==
    \E a \in Acts : RespondActivityTaskCanceled(a) /\ Due(a)
    /\ Took(14, "RespondActivityTaskCanceled")
TActivityTaskTimeout ==
    \E a \in Acts, k \in ActivityTimeouts : ActivityTaskTimeout(a, k) /\ Due(a)
    /\ Took(15, "ActivityTaskTimeout")
TActivityRetryTimerFired ==
    \E a \in Acts : ActivityRetryTimerFired(a) /\ Due(a)
    /\ Took(16, "ActivityRetryTimerFired")
TRecordWorkflowTaskStarted ==
    RecordWorkflowTaskStarted /\ Follows
    /\ Took(17, "RecordWorkflowTaskStarted")
TWorkflowTaskTimeout ==
    \E k \in WftTimeouts : WorkflowTaskTimeout(k) /\ Follows
    /\ Took(18, "WorkflowTaskTimeout")
TUserTimerFired ==
    \E t \in Tms : UserTimerFired(t) /\ Follows
    /\ Took(19, "UserTimerFired")
\* A completion's commands are read from the log.
TRespondWorkflowTaskCompleted ==
    \E cmds \in LogCommands, force \in ForceChoices, sticky \in StickyChoices :
        RespondWorkflowTaskCompleted(cmds, force, sticky) /\ Follows
    /\ Took(20, "RespondWorkflowTaskCompleted")
TDone ==
    Done /\ Follows
    /\ Took(21, "Done")

TraceNext ==
    \/ TStartWorkflowExecution \/ TSignalWithStartWorkflowExecution
    \/ TSignalWorkflowExecution \/ TOtherExternalInput \/ TRequestCancelWorkflowExecution
    \/ TTerminateWorkflowExecution \/ TWorkflowRunTimeout \/ TWorkerCrash
    \/ TRespondWorkflowTaskFailed \/ TResetWorkflowExecution
    \/ TRecordActivityTaskStarted \/ TRespondActivityTaskCompleted
    \/ TRespondActivityTaskFailed \/ TRespondActivityTaskCanceled \/ TActivityTaskTimeout
    \/ TActivityRetryTimerFired \/ TRecordWorkflowTaskStarted \/ TWorkflowTaskTimeout
    \/ TUserTimerFired \/ TRespondWorkflowTaskCompleted \/ TDone

TraceSpec == Init /\ logIndex \in 1..N /\ [][TraceNext]_<<vars, logIndex>>

\* TLC register Reg(n) holds the longest prefix of log n matched so far.
Reg(n) == 100 + n
ASSUME \A n \in 1..N : TLCSet(Reg(n), 0)

\* Violated exactly when every log has been reproduced.
TraceNotMatched == \E n \in 1..N : TLCGet(Reg(n)) < Len(Logs[n])

\* Reports each new longest matched prefix of a log, so a rejected log says where it
\* stopped.
TraceProgress ==
    IF l > TLCGet(Reg(logIndex))
    THEN TLCSet(Reg(logIndex), l) /\ PrintT(<<"matched", logIndex, l>>)
    ELSE TRUE

=============================================================================
