"""`tmodel serve` and `tmodel-test-server` refuse bad options before serving: one line
on stderr, exit 2, nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters import serve_cmd
from adapters.cli import main
from tests.adapters.serve.serving import ROOT, refused


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run `tmodel serve --address 127.0.0.1:0 ARGV` here: it must exit 2 with one line
    (argparse's own refusals exit through SystemExit)."""
    try:
        code = main(["serve", "--address", "127.0.0.1:0", *argv])
    except SystemExit as exit:
        code = exit.code  # type: ignore[assignment]
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("port", ["²", "١٢", "65536", "99999", "-1", "", "7233x", "9" * 5000])
def test_a_port_is_ascii_digits_up_to_65535(capsys: pytest.CaptureFixture[str], port: str) -> None:
    assert "expected HOST:PORT" in refusal(capsys, "--address", f"127.0.0.1:{port}")


@pytest.mark.parametrize("port", ["²", "99999", "0", "65536", "-5", "x"])
def test_the_test_server_takes_a_port_from_1_to_65535(
    capsys: pytest.CaptureFixture[str], port: str
) -> None:
    assert serve_cmd.test_server_main([port]) == 2
    out, err = capsys.readouterr()
    assert (
        out == ""
        and err.startswith("tmodel-test-server: PORT must be")
        and len(err.splitlines()) == 1
    )


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (("--seed", "-1"), "a seed is not negative"),
        (("--limit", f"limit.historyCount.suggestContinueAsNew={10**40}"), "at most"),
    ],
)
def test_a_negative_seed_or_a_huge_limit_is_refused(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], said: str
) -> None:
    assert said in refusal(capsys, *argv)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (("--search-attribute", "WorkflowId=Keyword"), "reserved by the system"),
        (("--search-attribute", "A=Keyword", "--search-attribute", "A=Int"), "two types"),
        (("--namespace", "n" * 100_000), "longer than 1000 characters"),
    ],
)
def test_nonsense_namespaces_and_search_attributes_are_refused(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], said: str
) -> None:
    assert said in refusal(capsys, *argv)


def test_the_same_search_attribute_twice_is_taken_once() -> None:
    given = [("A", "KEYWORD"), ("A", "KEYWORD"), ("B", "INT")]
    assert serve_cmd._search_attributes(given) == (("A", "KEYWORD"), ("B", "INT"))


def test_a_json_report_that_cannot_be_written_is_refused_at_start(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)  # no reader: writing would wait for ever
    for path in (tmp_path, tmp_path / "missing" / "r.json", fifo):
        assert "--json-report" in refusal(capsys, "--json-report", str(path))
    fresh = tmp_path / "r.json"
    serve_cmd._check_writable(str(fresh))
    assert not fresh.exists()  # the file made to check is gone


def test_a_refused_start_leaves_no_report_file(tmp_path: Path) -> None:
    not_a_store = tmp_path / "notes.txt"
    not_a_store.write_text("hello", encoding="utf-8")
    report = tmp_path / "report.json"
    refused("--store", str(not_a_store), "--json-report", str(report))
    assert not report.exists()


FAILING_START = """
import sys
from adapters.cli import main
from adapters.serve import server
class Broken(server.Server):
    def __init__(self, *args, **kwargs):
        raise RuntimeError("broken")
server.Server = Broken
sys.exit(main(["serve", "--address", "127.0.0.1:0"]))
"""


def test_a_failed_start_leaves_no_grpc_server_to_complain(tmp_path: Path) -> None:
    """A bug while the model starts is exit 3 in one line: the listener is stopped, so
    no gRPC server prints a traceback of its own when it is collected at exit."""
    done = subprocess.run(
        [sys.executable, "-c", FAILING_START],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert done.returncode == 3
    assert len(done.stderr.splitlines()) == 1 and "internal error" in done.stderr, done.stderr
