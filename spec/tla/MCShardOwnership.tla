-------------------------- MODULE MCShardOwnership --------------------------
(* Model-checking wrapper for ShardOwnership; constants come from the .cfg files. *)
EXTENDS ShardOwnership
=============================================================================
