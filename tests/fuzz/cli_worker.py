"""The fuzz suite's child process: runs `tmodel` commands in-process, one per request.

Started by `tests.fuzz.harness.CliWorker` with a memory limit (``RLIMIT_AS``); reads one
JSON line per request (``{"argv": [...]}``) from stdin and answers with one JSON line
(exit code, stdout, stderr, seconds) on the stdout it was started with. The command's
own output goes to UTF-8 text streams with strict errors, as a pipe's would, so output
that a terminal could not take fails here too. Anything that escapes `main` - which
the CLI contract forbids - is answered with code -1 and its traceback.
"""

from __future__ import annotations

import io
import json
import os
import resource
import sys
import time
import traceback


def _strict_text() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)


def _run(argv: list[str]) -> dict[str, object]:
    from adapters.cli import main

    out, err = _strict_text(), _strict_text()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    start = time.perf_counter()
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 2
    except BaseException:
        code = -1
        err.write(traceback.format_exc())
    finally:
        sys.stdout, sys.stderr = saved
    seconds = time.perf_counter() - start
    return {
        "code": code,
        "out": _text(out),
        "err": _text(err),
        "seconds": seconds,
    }


def _text(stream: io.TextIOWrapper) -> str:
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8", errors="backslashreplace")


def serve(memory_bytes: int) -> None:
    """Answer requests until stdin closes; `memory_bytes` > 0 caps the address space."""
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing else reaches it
    for line in sys.stdin:
        reply = _run(json.loads(line)["argv"])
        reply["max_rss_kib"] = max(  # this process, and the largest child (TLC's java)
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
