"""The SDK side: workflow code re-run against its history (deterministic replay).

`driver.replay` replays a whole history; `driver.answer_task` is a live worker's step
with a sticky cache; `engine.Execution` is the run being replayed; the entity machines
(activity, timer, child, signal_external, cancel_external, marker, update, execution)
are transition tables as data, like the server side's.
"""
