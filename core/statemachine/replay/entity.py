"""What the engine keeps per command-backed entity, and what one task produces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.commands import Command
from core.enums import EventType
from core.fastenum import Enum
from core.fastinit import fast_init_all
from core.requests import UpdateMessage
from core.statemachine import fsm
from core.statemachine.replay.scheduler import Future


@dataclass(slots=True, eq=False)
class Entity:
    """One thing the code started (activity, timer, ...) and the machine tracking it."""

    kind: str
    table: fsm.Table[Enum, Enum]
    state: Enum
    inputs: Mapping[EventType, Enum]  # the machine's input for each event about it
    key: str = ""
    future: Future[object] | None = None
    start_future: Future[object] | None = None
    event_id: int = 0  # the event that recorded its command
    name: str = ""  # activity or child workflow type
    seq: int = 0  # a local activity's sequence number
    args: list[object] | None = None  # a local activity's arguments (none: no list made)
    scheduled: int = 0  # an activity's Scheduled event id, which its cancel command names


@dataclass(frozen=True, slots=True)
class Activation:
    """What one workflow task produced: its commands and update messages, or a failure."""

    commands: tuple[Command, ...]
    messages: tuple[UpdateMessage, ...]
    failure: str | None = None  # the task must fail: a bug in the code


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
