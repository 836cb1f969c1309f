"""Output files of one run, under DATA_DIR/artifacts/<task id>/ (worker/artifacts.ts)."""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

from .volume import artifact_dir, safe_file_name, to_location


class ArtifactWriter:
    """Writes each file atomically (a temporary name, then a rename), so a reader — the gateway
    serving task_result, a deliverer — never sees half a file; remembers what was written for the
    SUCCESS event. A processor may write from several threads of its own, hence the lock."""

    def __init__(self, data_dir: str, task_id: str) -> None:
        self._data_dir = data_dir
        self._dir = artifact_dir(data_dir, task_id)
        self._written: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def write(self, name: str, data: bytes | str, content_type: str) -> dict[str, Any]:
        """Write an output file; served by task_result with its content type and delivered with
        the result. ``name`` is sanitised; writing the same name twice replaces the file. Returns
        its FileRef."""
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        file_name = safe_file_name(name, "artifact")
        os.makedirs(self._dir, exist_ok=True)
        target = os.path.join(self._dir, file_name)
        temporary = os.path.join(self._dir, f".{file_name}.{uuid.uuid4()}.tmp")
        try:
            with open(temporary, "wb") as handle:
                handle.write(payload)
            os.replace(temporary, target)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        ref = {"name": file_name, "content_type": content_type, "size": len(payload), "location": to_location(self._data_dir, target)}
        with self._lock:
            self._written[file_name] = ref
        return dict(ref)

    def written(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(ref) for ref in self._written.values()]
