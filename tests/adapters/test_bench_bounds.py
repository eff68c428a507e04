"""`tmodel bench`: every count option has a documented upper bound; above it the
command is refused at once, in one line, exit 2 (not a benchmark that runs for ever)."""

from __future__ import annotations

import pytest

from adapters import bench
from adapters.cli import main


@pytest.mark.parametrize(
    ("option", "limit"),
    [("--events", bench.MAX_EVENTS), ("--e2e-events", bench.MAX_E2E_EVENTS),
     ("--repeat", bench.MAX_REPEAT), ("--workflows", bench.MAX_WORKFLOWS),
     ("--jobs", bench.MAX_JOBS), ("--replay-events", bench.MAX_REPLAY_EVENTS),
     ("--sdk-events", bench.MAX_SDK_EVENTS)],
)  # fmt: skip
def test_a_count_above_its_bound_is_one_line_and_exit_2(
    option: str, limit: int, capsys: pytest.CaptureFixture[str]
) -> None:
    for value in (str(limit + 1), "9" * 30):
        with pytest.raises(SystemExit) as exit_:
            main(["bench", "validate", option, value])
        err = capsys.readouterr().err.strip().splitlines()
        assert exit_.value.code == 2 and len(err) == 1, err
        assert f"must be at most {limit:,}" in err[0]
