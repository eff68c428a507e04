------------------------------- MODULE Replay -------------------------------
(***************************************************************************)
(* THM-3.1, replay determinism (docs/theorems.md; the rules of replay      *)
(* are in docs/temporal-semantics.md#replay).                              *)
(*                                                                         *)
(* A live worker runs a workflow for `Steps` workflow tasks while signals *)
(* arrive; each task's code sees the events up to its WorkflowTaskStarted  *)
(* and issues one command, which the history records after                *)
(* WorkflowTaskCompleted; signals that arrived meanwhile are flushed after *)
(* the command.  Then a replayer runs the same code over the recorded     *)
(* history, cutting it at each WorkflowTaskStarted, and compares each      *)
(* produced command with the recorded command event.                       *)
(*                                                                         *)
(* The code's command depends on the signals seen.  With NONDET the code  *)
(* of task 2 also reads a value that is not in the history (a clock, a     *)
(* random number), and the replayer may read a different one.             *)
(***************************************************************************)
EXTENDS Integers, Sequences

CONSTANTS
    Steps,        \* workflow tasks in the run
    MaxSignals,
    NONDET,       \* the workflow has a nondeterministic step
    BUG_NO_ATTRIBUTE_MATCH,  \* the replayer compares command types only
    BUG_LOOKAHEAD            \* the replayer feeds events recorded after WorkflowTaskStarted

VARIABLES
    history,    \* <<[type, cmd]>>: "WorkflowTaskStarted", "Command", "WorkflowExecutionSignaled"
    inFlight,   \* a workflow task is started
    buffered,   \* signals buffered while it is
    step,       \* workflow tasks completed
    signals,
    verdict,    \* "live", then "ok" or "nondeterminism"
    replayed    \* the commands the replayer produced

vars == <<history, inFlight, buffered, step, signals, verdict, replayed>>

Coins == {"x", "y"}
Signal == [type |-> "WorkflowExecutionSignaled", cmd |-> <<>>]
Started == [type |-> "WorkflowTaskStarted", cmd |-> <<>>]

\* The workflow code: task k, having seen `seen` signals, with `coin` from outside.
Code(k, seen, coin) ==
    [kind |-> IF k = Steps THEN "CompleteWorkflowExecution" ELSE "ScheduleActivityTask",
     name |-> IF NONDET /\ k = 2 THEN coin ELSE IF seen > 0 THEN "y" ELSE "x"]

SignalsBefore(h, p) == Len(SelectSeq(SubSeq(h, 1, p - 1), LAMBDA e: e.type = Signal.type))
StartedAt(h) == SelectSeq([i \in 1..Len(h) |-> i], LAMBDA i: h[i].type = "WorkflowTaskStarted")
Recorded(h) == [i \in 1..Len(SelectSeq(h, LAMBDA e: e.type = "Command")) |->
                    SelectSeq(h, LAMBDA e: e.type = "Command")[i].cmd]

Init ==
    /\ history = <<>> /\ inFlight = FALSE /\ buffered = 0 /\ step = 0 /\ signals = 0
    /\ verdict = "live" /\ replayed = <<>>

SignalWorkflowExecution ==
    /\ verdict = "live" /\ step < Steps /\ signals < MaxSignals
    /\ signals' = signals + 1
    /\ IF inFlight THEN buffered' = buffered + 1 /\ UNCHANGED history
       ELSE history' = Append(history, Signal) /\ UNCHANGED buffered
    /\ UNCHANGED <<inFlight, step, verdict, replayed>>

RecordWorkflowTaskStarted ==
    /\ verdict = "live" /\ step < Steps /\ ~inFlight
    /\ inFlight' = TRUE
    /\ history' = Append(history, Started)
    /\ UNCHANGED <<buffered, step, signals, verdict, replayed>>

\* The live worker's code sees the signals recorded before its WorkflowTaskStarted.
RespondWorkflowTaskCompleted(coin) ==
    /\ verdict = "live" /\ inFlight
    /\ LET c == Code(step + 1, SignalsBefore(history, Len(history)), coin)
       IN history' = history \o <<[type |-> "Command", cmd |-> c]>>
                     \o [i \in 1..buffered |-> Signal]
    /\ inFlight' = FALSE /\ buffered' = 0 /\ step' = step + 1
    /\ UNCHANGED <<signals, verdict, replayed>>

\* The replayer: task k sees the events before its WorkflowTaskStarted (with
\* BUG_LOOKAHEAD, everything before the next one); it stops at the first mismatch.
ReplayHistory(coins) ==
    /\ verdict = "live" /\ step = Steps
    /\ LET starts == StartedAt(history)
           rec == Recorded(history)
           Upto(k) == IF BUG_LOOKAHEAD /\ k < Len(starts) THEN starts[k + 1] ELSE starts[k]
           produced == [k \in 1..Steps |-> Code(k, SignalsBefore(history, Upto(k)), coins[k])]
           Same(a, b) == IF BUG_NO_ATTRIBUTE_MATCH THEN a.kind = b.kind ELSE a = b
           bad == {k \in 1..Steps : ~Same(produced[k], rec[k])}
           first == IF bad = {} THEN Steps + 1
                    ELSE CHOOSE k \in bad : \A j \in bad : k <= j
       IN /\ verdict' = IF bad = {} THEN "ok" ELSE "nondeterminism"
          /\ replayed' = SubSeq(produced, 1, IF first > Steps THEN Steps ELSE first)
    /\ UNCHANGED <<history, inFlight, buffered, step, signals>>

Next ==
    \/ SignalWorkflowExecution \/ RecordWorkflowTaskStarted
    \/ \E c \in Coins : RespondWorkflowTaskCompleted(c)
    \/ \E coins \in [1..Steps -> Coins] : ReplayHistory(coins)

Spec == Init /\ [][Next]_vars


\* THM-3.1: the replayer accepts a history only if it reproduced every recorded command,
\* and a deterministic workflow always replays without a nondeterminism error.
THM_3_1 ==
    /\ verdict = "ok" => replayed = Recorded(history)
    /\ ~NONDET => verdict # "nondeterminism"

\* Non-vacuity probe: with NONDET, TLC must find a history whose replay is rejected.
PROBE_NONDETERMINISM_NEVER_DETECTED == verdict # "nondeterminism"

=============================================================================
