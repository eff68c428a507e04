"""The replay scheduler's futures: a done future lets go of its cancel hook."""

from __future__ import annotations

import pytest

from core.statemachine.replay.scheduler import CancelledError, Future


def _hooked() -> tuple[Future[int], list[str]]:
    calls: list[str] = []
    future: Future[int] = Future()
    future.on_cancel = lambda: calls.append("cancel")
    return future, calls


@pytest.mark.parametrize("how", ["result", "exception"])
def test_a_done_future_drops_its_cancel_hook(how: str) -> None:
    # The hook's closure holds the future's owner (the engine's entity and context),
    # which holds the future: kept after the future is done, that cycle is left for
    # the garbage collector. A done future is never cancelled, so the hook is dropped.
    future, calls = _hooked()
    if how == "result":
        future.set_result(1)
    else:
        future.set_exception(ValueError("x"))
    assert future.on_cancel is None
    assert future.cancel() is False
    assert calls == []


def test_a_pending_future_still_cancels_through_its_hook() -> None:
    future, calls = _hooked()
    assert future.cancel() is True
    assert calls == ["cancel"]
    assert not future.done()  # the hook's owner decides how it ends
    future.set_exception(CancelledError())
    assert future.cancelled()
