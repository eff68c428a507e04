------------------------------ MODULE MCReplay ------------------------------
(* Model-checking wrapper for Replay; constants come from the MCReplay*.cfg files. *)
EXTENDS Replay
=============================================================================
