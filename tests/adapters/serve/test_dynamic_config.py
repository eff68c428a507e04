"""`tmodel serve --dynamic-config-value KEY=VALUE` takes the settings SDK test suites
start the dev server with: the limits serve applies reach the served history service,
settings serve always behaves as are accepted (their opposite refused), other keys are
noted on stderr and ignored; malformed pairs are bad input (one line, exit 2)."""

from __future__ import annotations

import argparse
import asyncio

import pytest
from temporalio.client import Client

from adapters import serve_cmd
from adapters.limit_args import limit_setting
from adapters.serve_dynamic_config import ALWAYS, APPLIED, notes, parse_pair, settle
from core.errors import BadInput
from core.statemachine.history.limits import BOOL_KEYS, DEFAULT_LIMITS, with_settings
from tests.adapters.serve.eager_activity_drive import Run, _schedule
from tests.adapters.serve.serving import serve
from tests.adapters.serve.test_nexus_standalone_dev import DEV_CONFIG
from tests.adapters.serve.test_serve_options import refusal

# the dynamic config of sdk-python's own tests/conftest.py, the values as it gives them
SDK_PYTHON_CONFTEST = DEV_CONFIG


def options_of(*argv: str) -> serve_cmd.Options:
    parser = argparse.ArgumentParser()
    serve_cmd.add_parser(parser.add_subparsers())
    return serve_cmd._options(parser.parse_args(["serve", *argv]))


def test_the_sdk_tests_list_is_taken_with_its_limit_applied(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [word for pair in SDK_PYTHON_CONFTEST for word in ("--dynamic-config-value", pair)]
    options = options_of(*argv)
    assert options.limits == (("limit.historyCount.suggestContinueAsNew", 50),)
    noted = capsys.readouterr().err.splitlines()
    # each key neither applied nor always so is noted, once, by name
    expected = [
        pair.partition("=")[0]
        for pair in SDK_PYTHON_CONFTEST
        if pair.partition("=")[0] not in ALWAYS and pair.partition("=")[0] not in APPLIED
    ]
    assert len(noted) == len(expected) == 10
    for line, key in zip(noted, expected, strict=True):
        assert line == f"tmodel serve: --dynamic-config-value {key}: not modelled here; ignored"


def test_the_flag_and_limit_give_the_same_setting_and_the_last_value_wins() -> None:
    key = "limit.historySize.suggestContinueAsNew"
    by_flag = options_of("--dynamic-config-value", f"{key}=7", "--dynamic-config-value", f"{key}=9")
    assert by_flag.limits == ((key, 9),)
    assert options_of("--limit", f"{key}=9").limits == by_flag.limits


@pytest.mark.parametrize(
    ("pair", "said"),
    [
        ("system.enableEagerWorkflowStart=false", "always behaves as"),
        ('frontend.activityAPIsEnabled="true"', "always behaves as"),  # a string, not a bool
        ("limit.historyCount.suggestContinueAsNew=-3", "a whole number"),
        ("limit.historyCount.suggestContinueAsNew=1.5", "a whole number"),
        ("limit.historyCount.suggestContinueAsNew=true", "a whole number"),
        (f"limit.historyCount.suggestContinueAsNew={1 << 63}", "at most"),
        ("system.somethingElse=yes", "must be JSON"),
        ("system.somethingElse", "not KEY=VALUE"),
        ("=1", "not KEY=VALUE"),
        ("system.somethingElse=[1]", "list or object"),
        ("system.enableActivityEagerExecution=2", "true or false"),
        ('system.enableActivityEagerExecution="yes"', "true or false"),
    ],
)
def test_a_pair_serve_cannot_take_is_bad_input(
    capsys: pytest.CaptureFixture[str], pair: str, said: str
) -> None:
    assert said in refusal(capsys, "--dynamic-config-value", pair)


def test_parse_reads_json_values() -> None:
    assert parse_pair("a.b=true") == ("a.b", True)
    assert parse_pair("a.b=12") == ("a.b", 12)
    assert parse_pair('a.b="0s"') == ("a.b", "0s")
    with pytest.raises(BadInput):
        parse_pair("a.b=0s")


def test_eager_activities_are_a_switch_serve_applies() -> None:
    key = "system.enableActivityEagerExecution"
    assert set(APPLIED) >= BOOL_KEYS  # every switch the core has, serve applies
    assert options_of("--dynamic-config-value", f"{key}=false").limits == ((key, False),)
    # a string is read as Go's strconv.ParseBool reads it, as the server converts it
    assert options_of("--dynamic-config-value", f'{key}="T"').limits == ((key, True),)
    # and it reaches the history service the served model runs
    runtime_limits = with_settings(
        DEFAULT_LIMITS, dict(options_of("--dynamic-config-value", f"{key}=false").limits)
    )
    assert runtime_limits.activity_eager_execution is False


def test_a_switch_is_not_a_limit_of_limit() -> None:
    # `--limit` (serve's, and validate's and lint's) takes whole-number limits only
    with pytest.raises(argparse.ArgumentTypeError, match="unknown limit"):
        limit_setting("system.enableActivityEagerExecution=0")


def test_every_always_key_is_accepted_with_its_value_and_changes_nothing() -> None:
    config = settle([(key, value) for key, value in ALWAYS.items()])
    assert config.applied == () and config.ignored == () and notes(config) == []


@pytest.mark.parametrize(("setting", "handed_back"), [(None, 1), ("false", 0), ('"true"', 1)])
def test_the_switch_reaches_a_running_server(setting: str | None, handed_back: int) -> None:
    """A completion asking for an eager activity gets it back unless serve was started
    with the switch off."""
    key = "system.enableActivityEagerExecution"
    args = () if setting is None else ("--dynamic-config-value", f"{key}={setting}")

    async def completion_reply(address: str) -> int:
        client = await Client.connect(address)
        run = Run(client, "switch")
        await run.start()
        reply = await run.complete(_schedule(run.queue))
        return len(reply.activity_tasks)

    with serve(*args) as address:
        assert asyncio.run(completion_reply(address)) == handed_back
