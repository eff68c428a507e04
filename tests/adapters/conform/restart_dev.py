"""The restart command the live-mode test gives `tmodel conform --restart-command`: it
restarts the real dev server with its state kept (a database file), as a user's script
would restart a durable deployment.

    python restart_dev.py STATE

STATE is a JSON file the test writes: the server's pid, its command line (which names
its database file) and its log. The server is stopped (SIGTERM; SIGKILL if it lingers)
and the same command started again in a session of its own; STATE gets the new pid and
the count of restarts. The command exits once the new process runs; `tmodel conform`
waits until the server answers again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

GRACE = 15.0


def gone(pid: int) -> bool:
    """Exited (a zombie still waiting for its parent counts as exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def stop(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while not gone(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + GRACE
        time.sleep(0.1)


def main(state_path: str) -> int:
    path = Path(state_path)
    state = json.loads(path.read_text())
    stop(int(state["pid"]))
    with open(state["log"], "ab") as log:
        proc = subprocess.Popen(
            state["command"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    state.update(pid=proc.pid, restarts=int(state.get("restarts", 0)) + 1)
    path.write_text(json.dumps(state))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
