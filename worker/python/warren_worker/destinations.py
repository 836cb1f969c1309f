"""S3_DESTINATIONS and UPLOAD_STORE, as shared/destinations.ts reads them, for one purpose here:
reading a task's ``s3://`` inputs from the upload store. Unknown fields are refused (a misspelt
"secretAccesKey" must not fall back to no credentials) and messages name the destination and the
field, never a value."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_SEGMENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_REGION = re.compile(r"^[a-z0-9-]{1,32}$")
_FIELDS = {"bucket", "region", "endpoint", "forcePathStyle", "accessKeyId", "secretAccessKey", "sessionToken", "prefix"}


@dataclass(frozen=True)
class S3Destination:
    """One named destination. Its repr shows no credentials, so a logged config leaks nothing."""

    name: str
    bucket: str
    region: str = "us-east-1"
    endpoint: str | None = None
    force_path_style: bool = False
    #: (access key id, secret, session token or None); None: boto3's default credential chain.
    credentials: tuple[str, str, str | None] | None = field(default=None, repr=False)
    #: Safe segments joined by "/", no leading or trailing slash; "" for none.
    prefix: str = ""

    def describe(self) -> str:
        """One line for people, e.g. ``s3 "archive" (s3://results/warren at http://127.0.0.1:9000)``."""
        where = f"s3://{self.bucket}/{self.prefix}"
        return f's3 "{self.name}" ({where}{f" at {self.endpoint}" if self.endpoint else ""})'

    def upload_key_prefix(self, task_id: str) -> str:
        """Where a task's inputs live: ``<prefix>/uploads/<task id>/`` (shared/s3-client.ts)."""
        return f"{self.prefix + '/' if self.prefix else ''}uploads/{task_id}/"


def parse_s3_destinations(raw: str | None) -> dict[str, S3Destination]:
    """S3_DESTINATIONS: a JSON object keyed by destination name (default: none)."""
    if raw is None:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        # json's message quotes the input, which holds secrets: say only what is wrong.
        raise ConfigError("S3_DESTINATIONS", "is not valid JSON; expected an object keyed by destination name") from None
    if not isinstance(parsed, dict):
        raise ConfigError("S3_DESTINATIONS", "must be a JSON object keyed by destination name")
    return {name: _destination(name, value) for name, value in parsed.items()}


def _destination(name: str, value: Any) -> S3Destination:
    def fail(problem: str) -> ConfigError:
        return ConfigError("S3_DESTINATIONS", f'destination "{name}": {problem}')

    if not _NAME.match(name):
        raise ConfigError("S3_DESTINATIONS", f'destination name "{name[:64]}" must match {_NAME.pattern}')
    if not isinstance(value, dict):
        raise fail("the destination: must be an object")
    for key in value:
        if key not in _FIELDS:
            raise fail(f"{key}: is not a known field")
    bucket = value.get("bucket")
    if bucket is None:
        raise fail("bucket: is required")
    if not isinstance(bucket, str) or not 3 <= len(bucket) <= 63 or not _BUCKET.match(bucket):
        raise fail('bucket: must be a bucket name: 3 to 63 lower-case letters, digits, "." and "-"')
    strings = ("region", "endpoint", "accessKeyId", "secretAccessKey", "sessionToken", "prefix")
    for key in strings:
        if key in value and not isinstance(value[key], str):
            raise fail(f"{key}: must be a string")
        if key in ("endpoint", "accessKeyId", "secretAccessKey", "sessionToken") and value.get(key) == "":
            raise fail(f"{key}: must not be empty")
    if "region" in value and not _REGION.match(value["region"]):
        raise fail("region: must match ^[a-z0-9-]{1,32}$")
    if "forcePathStyle" in value and not isinstance(value["forcePathStyle"], bool):
        raise fail("forcePathStyle: must be true or false")
    key_id, secret, token = value.get("accessKeyId"), value.get("secretAccessKey"), value.get("sessionToken")
    if (key_id is None) != (secret is None):
        raise fail("accessKeyId and secretAccessKey go together: give both, or neither for the default credential chain")
    if token is not None and key_id is None:
        raise fail("sessionToken needs accessKeyId and secretAccessKey")
    endpoint = value.get("endpoint")
    if endpoint is not None and not _plain_http_url(endpoint):
        raise fail("endpoint must be an http:// or https:// URL without user name or password")
    segments = [s for s in value.get("prefix", "").split("/") if s != ""]
    if not all(_SEGMENT.match(s) for s in segments):
        raise fail('prefix must be "/"-separated segments of letters, digits, ".", "_" and "-" (no "." or "..")')
    return S3Destination(
        name=name,
        bucket=bucket,
        region=value.get("region", "us-east-1"),
        endpoint=endpoint,
        force_path_style=value.get("forcePathStyle", False),
        credentials=(key_id, secret, token) if key_id is not None and secret is not None else None,
        prefix="/".join(segments),
    )


def _plain_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.username is None and parts.password is None


def parse_upload_store(raw: str | None, destinations: dict[str, S3Destination]) -> S3Destination | None:
    """UPLOAD_STORE: ``volume`` (None) or ``s3:<name>`` of one of S3_DESTINATIONS (default volume)."""
    if raw is None or raw == "volume":
        return None
    if not raw.startswith("s3:"):
        raise ConfigError("UPLOAD_STORE", f'"{raw[:64]}" must be volume or s3:<destination>')
    name = raw[len("s3:"):]
    if name not in destinations:
        known = ", ".join(destinations) or "none configured"
        raise ConfigError("UPLOAD_STORE", f'"{name[:64]}" is not one of S3_DESTINATIONS ({known})')
    return destinations[name]
