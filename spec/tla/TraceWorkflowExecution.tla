----------------------- MODULE TraceWorkflowExecution -----------------------
(***************************************************************************)
(* Trace validation of recorded histories against WorkflowExecution, by   *)
(* the method of Cirstea, Kuppe, Loillier and Merz (2024): the logged     *)
(* events constrain the specification's actions, and TLC searches for a   *)
(* behaviour of the specification that writes exactly the logged history. *)
(*                                                                         *)
(* `Log` comes from the generated module TraceLog (adapters/tlc.py writes *)
(* it from a Temporal JSON history): a tuple of event records in the       *)
(* format of WorkflowExecution's `history`. Every step of TraceNext is a  *)
(* step of Next, except that the commands of a workflow task completion   *)
(* are read from the log instead of chosen freely, and a step may only    *)
(* append events equal to the next logged ones. Steps that write nothing  *)
(* (a dispatch, an invisible retry, a transient attempt) are unconstrained *)
(* but bounded by the constants taken from the log.                        *)
(*                                                                         *)
(* The whole log is matched iff TLC reaches a state with                   *)
(* Len(history) = Len(Log): TLC reports that as a violation of the        *)
(* invariant TraceNotMatched, which the adapter reads as "accepted".      *)
(***************************************************************************)
EXTENDS WorkflowExecution, TraceLog

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
    LET later == {k \in Len(history)+1..Len(Log) : Log[k].type = "WorkflowTaskCompleted"}
    IN IF later = {} THEN {}
       ELSE LET k == Min(later)
                evs == SelectSeq(Log, LAMBDA e: e.wtc = k /\ e.type \in CommandEvents)
                cmds == [i \in 1..Len(evs) |-> LogCmd(evs[i])]
            IN IF \E i \in 1..Len(cmds) : NeedsSlot(cmds[i]) /\ cmds[i].slot = 0
               THEN {} ELSE {cmds}

MatchesLog ==
    /\ Len(history') <= Len(Log)
    /\ \A i \in Len(history)+1..Len(history') : history'[i] = Log[i]

TraceNext ==
    /\ \/ Environment \/ System \/ Done
       \/ \E cmds \in LogCommands : RespondWorkflowTaskCompleted(cmds)
    /\ MatchesLog

TraceSpec == Init /\ [][TraceNext]_vars

\* Violated exactly when the whole log has been reproduced.
TraceNotMatched == Len(history) < Len(Log)

\* Reports each new longest matched prefix, so a rejected log says where it stopped.
ASSUME TLCSet(1, 0)
TraceProgress ==
    IF Len(history) > TLCGet(1)
    THEN TLCSet(1, Len(history)) /\ PrintT(<<"matched", Len(history)>>)
    ELSE TRUE

=============================================================================
