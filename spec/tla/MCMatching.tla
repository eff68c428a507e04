----------------------------- MODULE MCMatching -----------------------------
(* Model-checking wrapper for Matching; constants come from the MCMatching*.cfg files. *)
EXTENDS Matching
=============================================================================
