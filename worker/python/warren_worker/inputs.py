"""A local path for every input file (worker/inputs.ts). Volume inputs are on disk already;
``s3://`` inputs (UPLOAD_STORE=s3:<name>) are streamed into a per-run directory under
DATA_DIR/inputs/ — the data directory rather than /tmp, often a small tmpfs — removed when the
run ends, whatever its outcome. boto3 (Debian's python3-boto3) is needed only for those."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from typing import Any, Callable

from .destinations import S3Destination
from .errors import Cancelled, PermanentError, WarrenError
from .volume import resolve_location, safe_file_name

_S3_LOCATION = re.compile(r"^s3://([^/]+)/(.+)$", re.S)
_CHUNK = 1024 * 1024


class TaskInputs:
    """The files of one run: their local paths, and what to remove afterwards."""

    def __init__(self, data_dir: str, downloaded: dict[str, str], directory: str | None) -> None:
        self._data_dir = data_dir
        self._downloaded = downloaded
        self._directory = directory

    def path_of(self, file: dict[str, Any]) -> str:
        location = file["location"]
        return self._downloaded.get(location) or resolve_location(self._data_dir, location)

    def release(self) -> None:
        if self._directory:
            shutil.rmtree(self._directory, ignore_errors=True)


class InputFetcher:
    """Fetches the inputs of each run; one per worker, sharing one S3 client."""

    def __init__(self, data_dir: str, upload_store: S3Destination | None) -> None:
        self._data_dir = data_dir
        self._store = upload_store
        self._client: Any = None

    def fetch(self, task_id: str, files: list[dict[str, Any]], cancelled: Callable[[], bool]) -> TaskInputs:
        remote = [(i, f, m) for i, f in enumerate(files) if (m := _S3_LOCATION.match(f["location"]))]
        if not remote:
            return TaskInputs(self._data_dir, {}, None)
        if self._store is None:
            raise PermanentError(
                f'input "{remote[0][1]["name"]}" is in S3, but this worker\'s UPLOAD_STORE is volume; give it the gateway\'s UPLOAD_STORE',
                code="upload_store_mismatch",
            )
        client = self._s3_client()
        os.makedirs(os.path.join(self._data_dir, "inputs"), exist_ok=True)
        directory = tempfile.mkdtemp(prefix=f"{task_id}-", dir=os.path.join(self._data_dir, "inputs"))
        downloaded: dict[str, str] = {}
        try:
            for index, file, match in remote:
                target = os.path.join(directory, f"{index}-{safe_file_name(file['name'])}")
                self._download(client, task_id, match.group(1), match.group(2), target, cancelled)
                downloaded[file["location"]] = target
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return TaskInputs(self._data_dir, downloaded, directory)

    def _s3_client(self) -> Any:
        if self._client is None:
            self._client = make_s3_client(self._store)  # type: ignore[arg-type]
        return self._client

    def _download(self, client: Any, task_id: str, bucket: str, key: str, target: str, cancelled: Callable[[], bool]) -> None:
        store = self._store
        assert store is not None
        where = f"s3://{bucket}/{key}"
        # A message may only name this task's own uploads in this worker's upload store.
        if bucket != store.bucket or not key.startswith(store.upload_key_prefix(task_id)):
            raise PermanentError(f"input {where} is not an upload of this task in {store.describe()}", code="unsafe_location")
        try:
            answer = client.get_object(Bucket=bucket, Key=key)
            with open(target, "xb") as handle:
                for chunk in iter(lambda: answer["Body"].read(_CHUNK), b""):
                    if cancelled():
                        raise Cancelled("run stopped while downloading its inputs")
                    handle.write(chunk)
        except (Cancelled, PermanentError):
            raise
        except Exception as error:
            status = getattr(error, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = getattr(error, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404") or (status == 404 and code != "NoSuchBucket"):
                raise PermanentError(f"input {where} does not exist (expired or removed); submit the file again", code="input_missing") from error
            # Anything else (unreachable, 5xx, throttled) may pass on a retry.
            raise WarrenError(f"reading input {where} from {store.describe()} failed: {type(error).__name__}: {error}", code="upload_store_unavailable") from error


def boto3_available() -> bool:
    try:
        import boto3  # noqa: F401
    except ImportError:
        return False
    return True


def make_s3_client(store: S3Destination) -> Any:
    """A boto3 client for the upload store, with the Node side's timeouts; a clear permanent
    failure of the task when boto3 is not installed (one worker's missing package cannot be
    retried away on the same worker)."""
    try:
        import boto3
        from botocore.config import Config as BotoConfig
    except ImportError:
        raise PermanentError(
            f"inputs are in {store.describe()}, but this worker cannot read S3: install Debian's python3-boto3",
            code="upload_store_unsupported",
        ) from None
    credentials = store.credentials
    return boto3.client(
        "s3",
        region_name=store.region,
        endpoint_url=store.endpoint,
        aws_access_key_id=credentials[0] if credentials else None,
        aws_secret_access_key=credentials[1] if credentials else None,
        aws_session_token=credentials[2] if credentials else None,
        config=BotoConfig(connect_timeout=10, read_timeout=60, s3={"addressing_style": "path" if store.force_path_style else "auto"}),
    )
