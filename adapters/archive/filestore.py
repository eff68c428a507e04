"""Histories archived as Temporal's file-system archiver writes them.

`common/archiver/filestore/history_archiver.go` Archive writes one file per closed run
into the archival directory, named by `util.go` constructHistoryFilename: the decimal
FarmHash Fingerprint64 of the namespace id, the workflow id and the run id,
concatenated, then "_" and the close failover version (0 for a namespace that is not
global), then ".history". The file holds the run's history batches as a JSON array of
`History` messages in protojson (`common/codec/jsonpb.go` EncodeHistories). Here the
whole history is one batch. `Get` reads the same file back.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from core.errors import BadInput
from core.events import HistoryEvent
from core.opaque import JsonValue

from ..temporal_json import decode_history
from .farm64 import fingerprint64

MAX_FILE = 256 * 2**20  # an archived history this big is refused on read


def _hash(text: str) -> str:
    return str(fingerprint64(text.encode()))


def history_filename(namespace_id: str, workflow_id: str, run_id: str, version: int = 0) -> str:
    """util.go constructHistoryFilename."""
    return f"{_hash(namespace_id)}{_hash(workflow_id)}{_hash(run_id)}_{version}.history"


class FileArchive:
    """An archival directory (created if missing)."""

    def __init__(self, directory: str) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        if not os.access(self.dir, os.W_OK):
            raise OSError(f"archive directory {directory} is not writable")

    def path(self, namespace_id: str, workflow_id: str, run_id: str) -> Path:
        return self.dir / history_filename(namespace_id, workflow_id, run_id)

    def put(
        self, namespace_id: str, workflow_id: str, run_id: str, events: list[JsonValue]
    ) -> None:
        """Write the run's events (protojson objects) as one history batch, atomically:
        a reader sees the whole file or none."""
        text = json.dumps([{"events": events}], separators=(",", ":"))
        target = self.path(namespace_id, workflow_id, run_id)
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".archiving-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)

    def get_json(self, namespace_id: str, workflow_id: str, run_id: str) -> list[JsonValue] | None:
        """The archived events as protojson objects; None if the run is not archived.
        BadInput if the file is not an archived history."""
        target = self.path(namespace_id, workflow_id, run_id)
        try:
            if target.stat().st_size > MAX_FILE:
                raise BadInput(f"{target}: archived history larger than {MAX_FILE} bytes")
            batches = json.loads(target.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadInput(f"{target}: not an archived history: {exc}") from None
        if not isinstance(batches, list):
            raise BadInput(f"{target}: not an archived history: expected a list of batches")
        events: list[JsonValue] = []
        for batch in batches:
            found = batch.get("events") if isinstance(batch, dict) else None
            if not isinstance(found, list):
                raise BadInput(f"{target}: not an archived history: a batch without events")
            events.extend(found)
        return events

    def get(self, namespace_id: str, workflow_id: str, run_id: str) -> list[HistoryEvent] | None:
        """The archived history as the model's events (None if not archived)."""
        events = self.get_json(namespace_id, workflow_id, run_id)
        if events is None:
            return None
        return list(decode_history({"events": events}).events)
