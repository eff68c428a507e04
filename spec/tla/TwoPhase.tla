------------------------------- MODULE TwoPhase -------------------------------
(***************************************************************************)
(* Two-phase commit as described by Gray and Lamport, "Consensus on        *)
(* Transaction Commit" (2006): a transaction manager (TM) collects         *)
(* Prepared messages from the resource managers (RMs) and broadcasts one   *)
(* decision.  Messages are modelled as a set that only grows, so any       *)
(* message can be received any number of times, in any order.             *)
(*                                                                         *)
(* This is the calibration spec of the explicit-state checker: its state   *)
(* counts (288 / 8,832 / 296,448 for 3 / 5 / 7 RMs) must equal those of    *)
(* proofs/models/two_phase_commit.py.  Action and invariant names are the  *)
(* same in both (snake case in Python).                                    *)
(***************************************************************************)
CONSTANT RM                 \* the set of resource managers

VARIABLES
  rmState,                  \* rmState[r]: the state of resource manager r
  tmState,                  \* the transaction manager's state
  tmPrepared,               \* the RMs from which the TM has received Prepared
  msgs                      \* every message ever sent

vars == <<rmState, tmState, tmPrepared, msgs>>

\* Prepared names its sender; the TM's decisions are broadcasts and name nobody.
Messages == [type : {"Prepared"}, rm : RM] \cup [type : {"Commit", "Abort"}]

TPTypeOK ==
  /\ rmState \in [RM -> {"working", "prepared", "committed", "aborted"}]
  /\ tmState \in {"init", "committed", "aborted"}
  /\ tmPrepared \subseteq RM
  /\ msgs \subseteq Messages

TPInit ==
  /\ rmState = [r \in RM |-> "working"]
  /\ tmState = "init"
  /\ tmPrepared = {}
  /\ msgs = {}

-----------------------------------------------------------------------------
(* The transaction manager's steps. *)

TMRcvPrepared(r) ==
  /\ tmState = "init"
  /\ [type |-> "Prepared", rm |-> r] \in msgs
  /\ tmPrepared' = tmPrepared \cup {r}
  /\ UNCHANGED <<rmState, tmState, msgs>>

\* The TM may commit only once every RM has told it that it is prepared.
TMCommit ==
  /\ tmState = "init"
  /\ tmPrepared = RM
  /\ tmState' = "committed"
  /\ msgs' = msgs \cup {[type |-> "Commit"]}
  /\ UNCHANGED <<rmState, tmPrepared>>

\* The TM may abort at any time before it has decided (e.g. on a timeout).
TMAbort ==
  /\ tmState = "init"
  /\ tmState' = "aborted"
  /\ msgs' = msgs \cup {[type |-> "Abort"]}
  /\ UNCHANGED <<rmState, tmPrepared>>

-----------------------------------------------------------------------------
(* A resource manager's steps. *)

RMPrepare(r) ==
  /\ rmState[r] = "working"
  /\ rmState' = [rmState EXCEPT ![r] = "prepared"]
  /\ msgs' = msgs \cup {[type |-> "Prepared", rm |-> r]}
  /\ UNCHANGED <<tmState, tmPrepared>>

\* A working RM may abort on its own: it has promised nothing yet.
RMChooseToAbort(r) ==
  /\ rmState[r] = "working"
  /\ rmState' = [rmState EXCEPT ![r] = "aborted"]
  /\ UNCHANGED <<tmState, tmPrepared, msgs>>

RMRcvCommitMsg(r) ==
  /\ [type |-> "Commit"] \in msgs
  /\ rmState' = [rmState EXCEPT ![r] = "committed"]
  /\ UNCHANGED <<tmState, tmPrepared, msgs>>

RMRcvAbortMsg(r) ==
  /\ [type |-> "Abort"] \in msgs
  /\ rmState' = [rmState EXCEPT ![r] = "aborted"]
  /\ UNCHANGED <<tmState, tmPrepared, msgs>>

-----------------------------------------------------------------------------
TPNext ==
  \/ TMCommit \/ TMAbort
  \/ \E r \in RM :
       TMRcvPrepared(r) \/ RMPrepare(r) \/ RMChooseToAbort(r)
         \/ RMRcvCommitMsg(r) \/ RMRcvAbortMsg(r)

TPSpec == TPInit /\ [][TPNext]_vars

\* The safety property of any transaction commit protocol.
TCConsistent ==
  \A r1, r2 \in RM : ~ /\ rmState[r1] = "aborted"
                       /\ rmState[r2] = "committed"

THEOREM TPSpec => [](TPTypeOK /\ TCConsistent)
=============================================================================
