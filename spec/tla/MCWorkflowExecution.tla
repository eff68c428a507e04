------------------------ MODULE MCWorkflowExecution ------------------------
(* Model-checking wrapper for WorkflowExecution: the constants come from the .cfg files
   (MCWorkflowExecution.cfg and its revert variants); nothing is redefined here, so a
   config checks exactly the specification in WorkflowExecution.tla. *)
EXTENDS WorkflowExecution
=============================================================================
