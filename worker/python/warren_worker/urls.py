"""AMQP_URL: checked at start, shown without its password, and turned into pika's parameters.

The rules are shared/url-secrets.ts's: a URL whose password holds a raw ``/``, ``?`` or ``#`` is
refused (every parser would read pieces of it as host or path, and they would turn up in errors),
and redaction hides everything up to the *last* ``@``, since ``@`` and ``:`` are legal in a password.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
from urllib.parse import parse_qs, unquote, urlsplit

import pika

from .errors import ConfigError

_SCHEME_AND_REST = re.compile(r"^([a-z][a-z0-9+.-]*:)(//)?(.*)$", re.I | re.S)
#: Node's amqp-connection-manager beats every 10 s; a URL may ask for another (``?heartbeat=2``).
DEFAULT_HEARTBEAT_S = 10


def userinfo_problem(url: str) -> str | None:
    """Why the user name or password cannot be trusted to parse as written, or None. Never quotes the URL."""
    if re.search(r"\s", url):
        return "holds whitespace; percent-encode it in the user name or password (a space is %20)"
    match = re.match(r"^[a-z][a-z0-9+.-]*://(.*)$", url, re.I | re.S)
    if not match:
        return None
    rest = match.group(1)
    end = re.search(r"[/?#]", rest)
    if end and "@" in rest[end.start():]:
        return 'has an "@" after the host; if the user name or password holds "/", "?" or "#", percent-encode them (%2F, %3F, %23)'
    return None


def check_amqp_url(url: str, index: int, count: int) -> None:
    """Raise ConfigError('AMQP_URL', …) for an entry that is not a usable amqp(s):// URL."""
    which = f"entry {index + 1} of {count} " if count > 1 else ""
    if not re.match(r"^amqps?://", url):
        hint = " (URLs are comma-separated: write a comma in a password as %2C)" if which else ""
        raise ConfigError("AMQP_URL", f"{which}is not an amqp:// or amqps:// URL{hint}")
    problem = userinfo_problem(url)
    if problem is None:
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises ValueError for a port that is not a number in range
            if not parts.hostname:
                raise ValueError("no host")
        except ValueError:
            problem = "is not a valid URL (check the host and port)"
    if problem is not None:
        raise ConfigError("AMQP_URL", f"{which}{problem}")


def redact_url(url: str) -> str:
    """The URL with its password (and a ``password=`` query parameter onwards) replaced by ``***``."""
    parts = _SCHEME_AND_REST.match(url)
    if not parts:
        return "***" if "@" in url else url
    scheme, slashes, rest = parts.group(1), parts.group(2) or "", parts.group(3) or ""
    hidden: list[tuple[int, int]] = []
    at = rest.rfind("@")
    if at >= 0:
        colon = rest[:at].find(":")
        user = rest[:at] if colon < 0 else rest[:colon]
        if not re.match(r"^[^/?#@\s]*$", user):
            hidden.append((0, at))
        elif colon >= 0:
            hidden.append((colon + 1, at))
    query = re.search(r"[?&;][^=&#?]*password=", rest, re.I)
    if query:
        hidden.append((query.end(), len(rest)))
    shown, start_from = "", 0
    for start, end in sorted(hidden):
        if start >= start_from:
            shown += rest[start_from:start] + "***"
            start_from = end
        else:
            start_from = max(start_from, end)
    return f"{scheme}{slashes}{shown}{rest[start_from:]}"


def connection_parameters(url: str, connection_name: str) -> pika.ConnectionParameters:
    """pika's parameters for a checked AMQP_URL. Built by hand rather than by pika.URLParameters,
    which refuses query parameters amqplib accepts (``frameMax``…): one AMQP_URL must serve both
    workers. ``heartbeat`` is honoured; other query parameters are amqplib's business."""
    parts = urlsplit(url)
    secure = parts.scheme.lower() == "amqps"
    query = parse_qs(parts.query)
    heartbeat = DEFAULT_HEARTBEAT_S
    if "heartbeat" in query:
        try:
            heartbeat = int(query["heartbeat"][0])
        except ValueError:
            raise ConfigError("AMQP_URL", "heartbeat must be a whole number of seconds") from None
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    host = parts.hostname or "127.0.0.1"
    return pika.ConnectionParameters(
        host=host,
        port=parts.port or (5671 if secure else 5672),
        virtual_host=vhost,
        credentials=pika.PlainCredentials(unquote(parts.username or "guest"), unquote(parts.password or "guest")),
        heartbeat=heartbeat,
        ssl_options=pika.SSLOptions(ssl.create_default_context(), server_hostname=host) if secure else None,
        client_properties={"connection_name": connection_name},
        connection_attempts=1,
        socket_timeout=10,
        # A dead address must fail the attempt, so the next URL in AMQP_URL gets its turn.
        stack_timeout=15,
    )


def worker_id() -> str:
    """``host:pid``, as the Node worker names itself in events and sync markers."""
    return f"{socket.gethostname()}:{os.getpid()}"
