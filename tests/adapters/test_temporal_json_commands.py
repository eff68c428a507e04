"""Commands <-> protojson: a round trip through the official protobuf classes, and bad
commands rejected as BadInput naming the problem."""

from __future__ import annotations

import pytest
from google.protobuf import json_format
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_type_pb

from adapters.temporal_json.commands import decode_command, encode_command
from core.commands import ScheduleActivityTaskCommandAttributes
from core.enums import CommandType
from core.errors import BadInput


def _activity() -> command_pb.Command:
    command = command_pb.Command(command_type=command_type_pb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK)
    a = command.schedule_activity_task_command_attributes
    a.activity_id = "1"
    a.activity_type.name = "greet"
    a.task_queue.name = "q"
    a.start_to_close_timeout.FromSeconds(10)
    a.input.payloads.add(data=b'"x"').metadata["encoding"] = b"json/plain"
    a.request_eager_execution = True
    command.user_metadata.summary.data = b'"hello"'
    return command


def _continue() -> command_pb.Command:
    command = command_pb.Command(
        command_type=command_type_pb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION
    )
    a = command.continue_as_new_workflow_execution_command_attributes
    a.workflow_type.name = "Flow"
    a.memo.fields["k"].data = b"1"
    return command


def _nexus() -> command_pb.Command:  # kept opaque by the model
    command = command_pb.Command(command_type=command_type_pb.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION)
    command.schedule_nexus_operation_command_attributes.endpoint = "e"
    return command


@pytest.mark.parametrize("make", [_activity, _continue, _nexus])
def test_round_trip_through_protobuf(make: object) -> None:
    assert callable(make)
    proto = make()
    data = json_format.MessageToDict(proto)
    command = decode_command(data)
    assert encode_command(command) == data
    again = json_format.ParseDict(encode_command(command), command_pb.Command())
    assert again == proto


def test_typed_attributes_are_decoded() -> None:
    command = decode_command(json_format.MessageToDict(_activity()))
    assert command.command_type is CommandType.SCHEDULE_ACTIVITY_TASK
    a = command.attributes
    assert isinstance(a, ScheduleActivityTaskCommandAttributes)
    assert (a.activity_id, a.start_to_close_timeout, a.request_eager_execution) == (
        "1",
        10_000_000_000,
        True,
    )


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ([], "expected a command object"),
        ({"commandType": "COMMAND_TYPE_NOPE"}, "command"),
        ({"commandType": "COMMAND_TYPE_START_TIMER", "cancelTimerCommandAttributes": {}}, "key"),
        (
            {
                "commandType": "COMMAND_TYPE_START_TIMER",
                "startTimerCommandAttributes": {"timerId": 5},
            },
            "timerId",
        ),
    ],
)
def test_bad_commands_are_bad_input(raw: object, says: str) -> None:
    with pytest.raises(BadInput, match=says):
        decode_command(raw)
