"""Workflow definitions: the decorators, the options and the errors workflow code sees.

A workflow is a class, as in Temporal's Python SDK (temporalio `workflow.py`):

```python
@workflow.defn
class Greeting:
    @workflow.run
    async def run(self, wf: workflow.Context, name: str) -> str:
        return await wf.execute_activity("greet", name, start_to_close_timeout=10 * SECOND)

    @workflow.signal
    def approve(self, wf: workflow.Context, who: str) -> None: ...
```

One deliberate difference: the SDK reaches the running workflow through a context
variable, so `workflow.sleep()` is a module function. Core keeps no ambient state, so
every decorated method is handed the run's `Context` (``wf``) as its first argument
after ``self``; the operations keep the SDK's names (`execute_activity`, `sleep`,
`wait_condition`, `patched`, `now`, `random`, `uuid4`, ...).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar, overload

from core.errors import InvalidDefinition
from core.fastenum import Enum
from core.fastinit import fast_init_all
from core.opaque import JsonValue, Opaque
from core.statemachine.replay.scheduler import CancelledError

F = TypeVar("F", bound=Callable[..., object])
C = TypeVar("C", bound=type)

SECOND = 1_000_000_000
MINUTE = 60 * SECOND


# --- options -----------------------------------------------------------------------


class ActivityCancellationType(Enum):
    """What cancelling a scheduled activity does (temporalio `workflow.py`)."""

    TRY_CANCEL = "TRY_CANCEL"  # ask the server, resolve at once
    WAIT_CANCELLATION_COMPLETED = "WAIT_CANCELLATION_COMPLETED"  # ask, wait for the answer
    ABANDON = "ABANDON"  # resolve at once, tell nobody


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`temporal.api.common.v1.RetryPolicy`; intervals in nanoseconds, 0 = server default."""

    initial_interval: int = 0
    backoff_coefficient: float = 0.0
    maximum_interval: int = 0
    maximum_attempts: int = 0
    non_retryable_error_types: tuple[str, ...] = ()
    # The encoding, made at the first `to_opaque` and kept by the policy itself: a
    # policy is frozen, so it never changes (equal policies may encode apart: 2 and 2.0).
    _opaque: Opaque | None = field(default=None, init=False, repr=False, compare=False)

    def to_opaque(self) -> Opaque:
        opaque = self._opaque
        if opaque is None:
            opaque = _retry_opaque(self)
            object.__setattr__(self, "_opaque", opaque)  # frozen: set once, as in __init__
        return opaque


def _retry_opaque(policy: RetryPolicy) -> Opaque:
    """The policy as Temporal's JSON `RetryPolicy`."""
    body: dict[str, JsonValue] = {}
    if policy.initial_interval:
        body["initialInterval"] = _duration(policy.initial_interval)
    if policy.backoff_coefficient:
        body["backoffCoefficient"] = policy.backoff_coefficient
    if policy.maximum_interval:
        body["maximumInterval"] = _duration(policy.maximum_interval)
    if policy.maximum_attempts:
        body["maximumAttempts"] = policy.maximum_attempts
    if policy.non_retryable_error_types:
        body["nonRetryableErrorTypes"] = list(policy.non_retryable_error_types)
    return Opaque.of(body)


def _duration(ns: int) -> str:
    seconds, rest = divmod(ns, SECOND)
    return f"{seconds}s" if not rest else f"{seconds}.{rest:09d}".rstrip("0") + "s"


# --- errors workflow code raises or catches -------------------------------------------


class WorkflowError(Exception):
    """Base of the errors the workflow API raises into workflow code."""


class ApplicationError(WorkflowError):
    """Raise it to fail the workflow (or read it as the cause of an activity failure)."""

    def __init__(self, message: str, *, type: str = "", non_retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.type = type
        self.non_retryable = non_retryable


class TimeoutFailure(WorkflowError):
    """An activity or child timed out; `timeout_type` names the timeout."""

    def __init__(self, timeout_type: str) -> None:
        super().__init__(f"timed out ({timeout_type})")
        self.timeout_type = timeout_type


class ActivityError(WorkflowError):
    """An activity did not complete; `cause` says why (ApplicationError, TimeoutFailure,
    or CancelledError)."""

    def __init__(self, activity_type: str, activity_id: str, cause: BaseException) -> None:
        super().__init__(f"activity {activity_type} ({activity_id}) ended: {cause!r}")
        self.activity_type = activity_type
        self.activity_id = activity_id
        self.cause = cause


class ChildWorkflowError(WorkflowError):
    """A child workflow did not complete; `cause` says why."""

    def __init__(self, workflow_type: str, workflow_id: str, cause: BaseException) -> None:
        super().__init__(f"child {workflow_type} ({workflow_id}) ended: {cause!r}")
        self.workflow_type = workflow_type
        self.workflow_id = workflow_id
        self.cause = cause


class ExternalWorkflowError(WorkflowError):
    """Signalling or cancelling another workflow failed (it was not found)."""


class ContinueAsNewError(BaseException):
    """Raised by `Context.continue_as_new`; ends the run with ContinueAsNew."""

    def __init__(
        self,
        args: tuple[object, ...],
        workflow_type: str,
        backoff: int,
        memo: Opaque | None = None,
        search_attributes: Opaque | None = None,
    ) -> None:
        super().__init__("continue as new")
        self.args = args
        self.workflow_type = workflow_type
        self.backoff = backoff
        self.memo = memo
        self.search_attributes = search_attributes


def is_cancellation(error: BaseException) -> bool:
    """True for a CancelledError, or an activity/child error caused by one."""
    if isinstance(error, CancelledError):
        return True
    if isinstance(error, ActivityError | ChildWorkflowError):
        return isinstance(error.cause, CancelledError)
    return False


# --- decorators and the definition they build ------------------------------------------

_ROLE = "__tmodel_role__"


@dataclass(frozen=True, slots=True)
class Handler:
    role: str  # run | signal | query | update
    name: str
    method: str
    validator: str | None = None


def run(fn: F) -> F:
    """Mark the workflow's entry point: ``async def run(self, wf, *args)``."""
    marked: F = fn  # iscoroutinefunction narrows `fn`; keep the caller's type
    if not inspect.iscoroutinefunction(fn):
        raise InvalidDefinition(f"@workflow.run {fn.__qualname__} must be an async def")
    setattr(marked, _ROLE, Handler("run", "run", marked.__name__))
    return marked


def _mark(role: str, fn: F, name: str | None) -> F:
    setattr(fn, _ROLE, Handler(role, name or fn.__name__, fn.__name__))
    return fn


@overload
def signal(fn: F, *, name: str | None = None) -> F: ...


@overload
def signal(fn: None = None, *, name: str | None = None) -> Callable[[F], F]: ...


def signal(fn: F | None = None, *, name: str | None = None) -> F | Callable[[F], F]:
    """Mark a signal handler: ``def name(self, wf, *args)`` (sync or async)."""
    if fn is not None:
        return _mark("signal", fn, name)
    return lambda f: _mark("signal", f, name)


@overload
def query(fn: F, *, name: str | None = None) -> F: ...


@overload
def query(fn: None = None, *, name: str | None = None) -> Callable[[F], F]: ...


def query(fn: F | None = None, *, name: str | None = None) -> F | Callable[[F], F]:
    """Mark a query handler: ``def name(self, wf, *args)``; it may not change anything."""
    if fn is not None:
        return _mark("query", fn, name)
    return lambda f: _mark("query", f, name)


class _UpdateMethod:
    """What `@workflow.update` returns: the method, plus `.validator` to attach one."""

    def __init__(self, fn: Callable[..., object], name: str) -> None:
        self.fn = fn
        self.name = name
        setattr(self, _ROLE, Handler("update", name, fn.__name__))

    def validator(self, fn: F) -> F:
        setattr(self, _ROLE, Handler("update", self.name, self.fn.__name__, fn.__name__))
        return fn

    def __get__(self, obj: object, owner: type | None = None) -> object:
        return self.fn.__get__(obj, owner)


@overload
def update(fn: Callable[..., object], *, name: str | None = None) -> _UpdateMethod: ...


@overload
def update(
    fn: None = None, *, name: str | None = None
) -> Callable[[Callable[..., object]], _UpdateMethod]: ...


def update(fn: Callable[..., object] | None = None, *, name: str | None = None) -> object:
    """Mark an update handler; ``@handler.validator`` marks its validator."""

    def mark(f: Callable[..., object]) -> _UpdateMethod:
        return _UpdateMethod(f, name or f.__name__)

    return mark(fn) if fn is not None else mark


@dataclass(frozen=True, slots=True)
class Definition:
    """A validated workflow class: its type name and its handlers by name."""

    name: str
    cls: type
    run_method: str
    signals: dict[str, str] = field(default_factory=dict)
    queries: dict[str, str] = field(default_factory=dict)
    updates: dict[str, Handler] = field(default_factory=dict)


_DEFINITIONS = "__tmodel_definition__"


@overload
def defn(cls: C, *, name: str | None = None) -> C: ...


@overload
def defn(cls: None = None, *, name: str | None = None) -> Callable[[C], C]: ...


def defn(cls: C | None = None, *, name: str | None = None) -> C | Callable[[C], C]:
    """Mark a class as a workflow definition (checked at once: one @run, unique names)."""

    def mark(c: C) -> C:
        setattr(c, _DEFINITIONS, _build(c, name or c.__name__))
        return c

    return mark(cls) if cls is not None else mark


def _build(cls: type, name: str) -> Definition:
    runs: list[str] = []
    signals: dict[str, str] = {}
    queries: dict[str, str] = {}
    updates: dict[str, Handler] = {}
    for attr in sorted(vars(cls)):
        handler = getattr(vars(cls)[attr], _ROLE, None)
        if not isinstance(handler, Handler):
            continue
        if handler.role == "run":
            runs.append(attr)
            continue
        taken = {"signal": set(signals), "query": set(queries), "update": set(updates)}
        if handler.name in taken[handler.role]:
            raise InvalidDefinition(f"{name}: two {handler.role} handlers named {handler.name}")
        if handler.role == "update":
            updates[handler.name] = handler
        elif handler.role == "signal":
            signals[handler.name] = attr
        else:
            queries[handler.name] = attr
    if len(runs) != 1:
        raise InvalidDefinition(f"{name}: a workflow needs exactly one @workflow.run method")
    return Definition(name, cls, runs[0], signals, queries, updates)


def definition(cls: type) -> Definition:
    """The definition of a `@workflow.defn` class."""
    found = vars(cls).get(_DEFINITIONS)
    if not isinstance(found, Definition):
        raise InvalidDefinition(f"{cls.__qualname__} is not decorated with @workflow.defn")
    return found


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
