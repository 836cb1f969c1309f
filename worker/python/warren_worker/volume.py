"""The shared volume (DATA_DIR) as warren lays it out (shared/volume.ts). Messages carry
locations (``volume:<path relative to DATA_DIR>``), never absolute paths, so every process may
mount the volume anywhere."""

from __future__ import annotations

import os
import re
import unicodedata

from .errors import WarrenError

VOLUME_SCHEME = "volume:"


def safe_file_name(name: str, fallback: str = "file") -> str:
    """Letters, digits, ".", "-" and "_" only, no leading dot, at most 100 characters: the same
    name the Node side would give, so a file is found under one name whichever worker wrote it."""
    base = re.split(r"[\\/]", name)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", unicodedata.normalize("NFKD", base))
    cleaned = re.sub(r"^[._]+", "", cleaned)[-100:]
    return cleaned or fallback


def artifact_dir(data_dir: str, task_id: str) -> str:
    return os.path.join(data_dir, "artifacts", task_id)


def to_location(data_dir: str, absolute_path: str) -> str:
    return VOLUME_SCHEME + os.path.relpath(absolute_path, data_dir).replace(os.sep, "/")


def resolve_location(data_dir: str, location: str) -> str:
    """The absolute path of a volume location; refuses anything that would leave DATA_DIR."""
    if not location.startswith(VOLUME_SCHEME):
        raise WarrenError(f"not a volume location: {location}", code="unsupported_location")
    root = os.path.abspath(data_dir)
    resolved = os.path.abspath(os.path.join(root, location[len(VOLUME_SCHEME):]))
    if resolved != root and not resolved.startswith(root + os.sep):
        raise WarrenError("location leaves the data directory", code="unsafe_location")
    return resolved
