"""What a processor is to the Python SDK: a name, a version and ``run(input, ctx)`` — a function
under ``@processor`` or a ``Processor`` subclass — and how a worker finds them in modules. A
processor knows nothing of RabbitMQ, HTTP or the store. Its fields are described to gateways by
data (a JSON descriptor, or a Node module of the same name), never by loading this code."""

from __future__ import annotations

import importlib
import inspect
import re
from types import ModuleType
from typing import Any, Callable

from .errors import ConfigError

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class Processor:
    """Subclass it for a processor with state, e.g. a model loaded once per process::

        class Categorizer(Processor):
            name = "categorize-torch"; version = "1.0.0"
            concurrency = 2
            def setup(self): self.model = load_weights()
            def run(self, input, ctx): return {"category": self.model(input["fields"]["item_a"])}
    """

    name: str = ""
    version: str = ""
    #: Tasks of it one worker runs at once (its queue's prefetch, its thread pool); default and cap WORKER_CONCURRENCY.
    concurrency: int | None = None
    #: Longest run before it fails as ``timed_out`` (default TASK_TIMEOUT_MS).
    timeout_ms: int | None = None
    #: Runs before a transient failure is final (default TASK_MAX_ATTEMPTS); 1: never retry.
    max_attempts: int | None = None
    #: Batched inference: ``{"max_size": 16, "max_wait_ms": 20}`` and a ``run_batch(inputs, ctxs)``
    #: method. Up to max_size tasks that arrive within max_wait_ms of the first share one call, which
    #: returns one result per input, in order; an exception *in a slot* fails that task alone, one
    #: raised fails every task of the call. Each task keeps its own events, timeout, cancel, retries
    #: and ack; the queue's prefetch is at least max_size. ``run`` is not needed then.
    batch: dict[str, int] | None = None

    def setup(self) -> None:
        """Once per process, before the first task: load weights here, not per run."""

    def teardown(self) -> None:
        """On shutdown, after the last run: release what setup took."""

    def run(self, input: dict[str, Any], ctx: Any) -> Any:  # noqa: A002 - the API's name
        raise NotImplementedError(f"{type(self).__name__}.run")


class FunctionProcessor(Processor):
    """A ``@processor`` function, served as a Processor."""

    def __init__(self, function: Callable[[dict[str, Any], Any], Any], name: str, version: str, concurrency: int | None, timeout_ms: int | None, max_attempts: int | None) -> None:
        self.function = function
        self.name, self.version = name, version
        self.concurrency, self.timeout_ms, self.max_attempts = concurrency, timeout_ms, max_attempts

    def run(self, input: dict[str, Any], ctx: Any) -> Any:  # noqa: A002
        return self.function(input, ctx)


def processor(name: str, version: str, concurrency: int | None = None, timeout_ms: int | None = None, max_attempts: int | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Marks ``run(input, ctx)`` as a processor. The function itself is returned unchanged (still
    callable in tests); the worker serves every marked function of the modules it is given."""

    def mark(function: Callable[..., Any]) -> Callable[..., Any]:
        definition = FunctionProcessor(function, name, version, concurrency, timeout_ms, max_attempts)
        check(definition, f"@processor on {function.__qualname__}")
        function.__warren_processor__ = definition  # type: ignore[attr-defined]
        return function

    return mark


def check(definition: Processor, where: str) -> None:
    """Refuse what the queues and the contracts cannot carry, where the processor is defined."""
    if not isinstance(definition.name, str) or not _NAME.match(definition.name):
        raise ValueError(f'{where}: name must match {_NAME.pattern} (it is the queue suffix and routing key), got {definition.name!r}')
    if not isinstance(definition.version, str) or not definition.version:
        raise ValueError(f"{where}: version must be a non-empty string")
    for option, low in (("concurrency", 1), ("timeout_ms", 1), ("max_attempts", 1)):
        value = getattr(definition, option)
        if value is not None and not _whole(value, low):
            raise ValueError(f"{where}: {option} must be a whole number >= {low}")
    batch = definition.batch
    if batch is not None:
        if not isinstance(batch, dict) or set(batch) != {"max_size", "max_wait_ms"} or not _whole(batch["max_size"], 1) or not _whole(batch["max_wait_ms"], 0):
            raise ValueError(f'{where}: batch must be {{"max_size": n >= 1, "max_wait_ms": n >= 0}}')
        if not callable(getattr(definition, "run_batch", None)):
            raise ValueError(f"{where}: a processor with batch needs a run_batch(inputs, ctxs) method")


def _whole(value: Any, low: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value >= low


def found_in(module: ModuleType) -> list[Processor]:
    """Every ``@processor`` function and Processor subclass defined in ``module`` (not those it
    imports; a subclass without a name is taken for a base class and not served)."""
    found: list[Processor] = []
    for value in vars(module).values():
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(value) and isinstance(getattr(value, "__warren_processor__", None), Processor):
            found.append(value.__warren_processor__)
        elif inspect.isclass(value) and issubclass(value, Processor) and value not in (Processor, FunctionProcessor):
            if not value.name:
                continue  # a base class of the module's own processors, not one to serve
            instance = value()
            check(instance, f"class {value.__qualname__}")
            found.append(instance)
    return found


def load_processors(module_names: list[str], wanted: list[str] | str, concurrency_names: list[str]) -> list[Processor]:
    """Import the modules and pick the processors to serve: all of them, or WORKER_PROCESSORS.
    A module that does not import, a name defined twice or an unknown name in WORKER_PROCESSORS or
    PROCESSOR_CONCURRENCY is a configuration error: the worker must not start half right."""
    available: dict[str, Processor] = {}
    for module_name in module_names:
        try:
            module = importlib.import_module(module_name)
        except Exception as error:  # the module's own failure, whatever it is
            raise ConfigError("modules", f'"{module_name}" could not be imported: {type(error).__name__}: {error}') from error
        try:
            definitions = found_in(module)
        except ValueError as error:
            raise ConfigError("modules", str(error)) from None
        for definition in definitions:
            other = available.get(definition.name)
            if other is not None and other is not definition:
                raise ConfigError("modules", f'processor "{definition.name}" is defined twice')
            available[definition.name] = definition
    if not available:
        raise ConfigError("modules", f"no @processor function or Processor subclass in {', '.join(module_names)}")
    known = ", ".join(available)
    for name in concurrency_names:
        if name not in available:
            raise ConfigError("PROCESSOR_CONCURRENCY", f'unknown processor "{name}"; known: {known}')
    if wanted == "all":
        return list(available.values())
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ConfigError("WORKER_PROCESSORS", f'unknown processor "{missing[0]}"; known: {known}')
    return [available[name] for name in wanted]
