---------------------- MODULE MCMultiClusterReplication ----------------------
(* Model-checking wrapper for MultiClusterReplication: two clusters whose initial   *)
(* failover versions are 1 and 2 under an increment of 10; the rest comes from .cfg. *)
EXTENDS MultiClusterReplication
MCInitialVersion == [c \in {"A", "B"} |-> IF c = "A" THEN 1 ELSE 2]
=============================================================================
