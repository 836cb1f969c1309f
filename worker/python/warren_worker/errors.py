"""The error family, as shared/errors.ts has it: a stable machine-readable ``code`` (what task
events carry) and a message for people. The runner decides retry or fail from the class alone."""

from __future__ import annotations


class WarrenError(Exception):
    """Base of every error warren itself raises."""

    code = "internal_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class PermanentError(WarrenError):
    """Bad input, or a request that can never succeed: the task fails now and is never retried.

    Any other exception a processor raises is transient: the task is retried (RETRY) until
    TASK_MAX_ATTEMPTS, then fails.
    """

    code = "permanent_error"


class Cancelled(WarrenError):
    """Raised by ``ctx.check_cancelled()`` once cancel, timeout or shutdown asked the run to stop.

    What happens to the task then depends on why, not on this exception: a cancelled task is acked
    with nothing published, a timed-out one fails as ``timed_out``, one interrupted by shutdown goes
    back to its queue.
    """

    code = "cancelled"


class ConfigError(WarrenError):
    """A configuration value is missing or wrong; the process must not start (exit 2)."""

    code = "config_error"

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


class ContractError(WarrenError):
    """A message from the broker does not match its contract: it is dead-lettered, never crashes us."""

    code = "contract_violation"


class PublishError(WarrenError):
    """The broker did not take a message (no connection, a nack, or no confirm in time)."""

    code = "broker_unavailable"


class MessageTooLargeError(PermanentError):
    """Larger than this process publishes (MAX_RESULT_BYTES + 1 MiB): refused before it can close
    the channel and fail every publish in flight on it."""

    code = "message_too_large"


def is_permanent(error: BaseException) -> bool:
    """PermanentError, or any exception that says ``permanent = True`` (processors that do not want
    to import this package may mark their own errors so, as Node processors may)."""
    return isinstance(error, PermanentError) or getattr(error, "permanent", False) is True


def describe(error: BaseException) -> tuple[str, str]:
    """(code, message) of anything raised, wrapped once at the boundary like coerceError: our own
    errors keep their code and message; anything else is ``internal_error`` and its message names
    the exception's type, since a bare ``str(KeyError('x'))`` says little on a task page."""
    if isinstance(error, WarrenError):
        return error.code, error.message
    text = str(error)
    name = type(error).__name__
    return "internal_error", f"{name}: {text}" if text else name
