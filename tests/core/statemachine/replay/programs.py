"""Workflow programs as data, and the one workflow that interprets them.

A program is a JSON list of steps, so Hypothesis can generate it and it can travel as
the workflow's input (and through continue-as-new and child starts unchanged). The
interpreter logs what each step saw; that log is the workflow state THM-3.1 compares.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import strategies as st

from core import workflow
from core.workflow import (
    ActivityError,
    ChildWorkflowError,
    Context,
    RetryPolicy,
)

RETRY = RetryPolicy(initial_interval=workflow.SECOND // 10, maximum_attempts=2)
Step = list[Any]


@workflow.defn(name="Program")
class Program:
    def __init__(self) -> None:
        self.log: list[Any] = []
        self.signals = 0

    @workflow.signal
    def poke(self, wf: Context, n: int) -> None:
        self.signals += 1
        self.log.append(["signal", n])

    @workflow.query
    def progress(self, wf: Context) -> int:
        return len(self.log)

    @workflow.run
    async def run(self, wf: Context, steps: list[Step], generation: int) -> list[Any]:
        for index, step in enumerate(steps):
            await self.do(wf, index, step)
        if generation > 0:
            wf.continue_as_new(steps, generation - 1)
        return self.log

    async def activity(self, wf: Context, name: str, arg: Any) -> Any:
        try:
            return await wf.execute_activity(
                name, arg, start_to_close_timeout=5, retry_policy=RETRY
            )
        except ActivityError:
            return "failed"

    async def do(self, wf: Context, index: int, step: Step) -> None:
        kind = step[0]
        if kind == "activity":
            self.log.append(await self.activity(wf, f"act{step[1]}", index))
        elif kind == "timer":
            await wf.sleep(step[1])
            self.log.append(["timer", index])
        elif kind == "fanout":
            calls = [self.activity(wf, f"fan{i}", index) for i in range(step[1])]
            self.log.append(await wf.gather(*calls))
        elif kind == "signal":
            try:
                await wf.wait_condition(lambda: self.signals >= step[1], timeout=30)
                self.log.append(["signalled", step[1]])
            except TimeoutError:
                self.log.append(["no signal", step[1]])
        elif kind == "child":
            child_id = f"{wf.info().workflow_id}/{wf.info().run_id}/{index}"
            try:
                result = await wf.execute_child_workflow("Program", step[1], 0, id=child_id)
                self.log.append(["child", result])
            except ChildWorkflowError:
                self.log.append(["child failed"])
        elif kind == "race":
            await self.race(wf, index, step[1])
        elif kind == "random":
            self.log.append([wf.random().randint(0, 1000), wf.uuid4()])
        elif kind == "side_effect":
            self.log.append(wf.side_effect(lambda: index * 7))
        elif kind == "local":
            try:
                self.log.append(
                    await wf.execute_local_activity(step[1], index, start_to_close_timeout=5)
                )
            except ActivityError:
                self.log.append("local failed")

    async def race(self, wf: Context, index: int, seconds: float) -> None:
        timer = wf.create_task(wf.sleep(seconds))
        handle = wf.start_activity(
            f"racer{index}", index, start_to_close_timeout=5, retry_policy=RETRY
        )
        await wf.wait([timer, handle])
        if handle.done():
            timer.cancel()
            self.log.append(["activity won", handle.exception() is None])
        else:
            handle.cancel()
            self.log.append(["timer won"])
        with contextlib.suppress(ActivityError):
            await handle


def _leaf_steps() -> st.SearchStrategy[Step]:
    return st.one_of(
        st.tuples(st.just("activity"), st.integers(0, 3)).map(list),
        st.tuples(st.just("timer"), st.sampled_from([0.5, 1, 5])).map(list),
        st.tuples(st.just("fanout"), st.integers(1, 3)).map(list),
        st.tuples(st.just("signal"), st.integers(1, 2)).map(list),
        st.tuples(st.just("race"), st.sampled_from([0.5, 3])).map(list),
        st.just(["random"]),
        st.just(["side_effect"]),
        st.tuples(st.just("local"), st.sampled_from(["greet", "fail"])).map(list),
    )


def programs() -> st.SearchStrategy[list[Step]]:
    """Programs of up to five steps; a child runs a program of leaf steps."""
    child = st.tuples(st.just("child"), st.lists(_leaf_steps(), max_size=3)).map(list)
    return st.lists(st.one_of(_leaf_steps(), child), min_size=1, max_size=5)


PROGRAMS = {"Program": workflow.definition(Program)}
