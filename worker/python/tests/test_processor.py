"""Finding processors in modules: the decorator, the class form, WORKER_PROCESSORS."""

import os
import sys
import tempfile
import textwrap
import unittest
import uuid

from warren_worker import Processor, processor
from warren_worker.errors import ConfigError
from warren_worker.processor import load_processors


class ModulesTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        sys.path.insert(0, self.dir.name)

    def tearDown(self) -> None:
        sys.path.remove(self.dir.name)
        self.dir.cleanup()

    def module(self, source: str) -> str:
        name = f"m_{uuid.uuid4().hex}"
        with open(os.path.join(self.dir.name, f"{name}.py"), "w") as handle:
            handle.write(textwrap.dedent(source))
        return name

    def test_functions_and_classes_defined_in_a_module_are_served_and_imported_ones_are_not(self) -> None:
        first = self.module(
            """
            from warren_worker import Processor, processor

            @processor(name="one", version="1.0.0", concurrency=2, timeout_ms=500, max_attempts=1)
            def one(input, ctx):
                return 1

            class Base(Processor):
                def run(self, input, ctx):
                    return self.name

            class Two(Base):
                name = "two"; version = "2.0.0"

            def helper():
                pass
            """
        )
        second = self.module(f"from {first} import one, Two\n")
        served = load_processors([first, second], "all", [])
        self.assertEqual([p.name for p in served], ["one", "two"])
        self.assertEqual((served[0].concurrency, served[0].timeout_ms, served[0].max_attempts), (2, 500, 1))
        self.assertEqual(served[0].run({"fields": {}, "files": []}, None), 1)
        self.assertEqual(served[1].run({}, None), "two")
        self.assertEqual([p.name for p in load_processors([first], ["two"], [])], ["two"])

    def test_a_decorated_function_stays_callable(self) -> None:
        @processor(name="plain", version="1")
        def plain(input, ctx):  # noqa: A002
            return input

        self.assertEqual(plain(3, None), 3)

    def test_what_cannot_be_served_stops_the_worker_naming_why(self) -> None:
        good = self.module('from warren_worker import processor\n@processor(name="good", version="1")\ndef good(i, c): pass\n')
        cases = [
            ([good], ["nope"], [], 'WORKER_PROCESSORS: unknown processor "nope"; known: good'),
            ([good], "all", ["nope"], 'PROCESSOR_CONCURRENCY: unknown processor "nope"; known: good'),
            ([self.module("x = 1\n")], "all", [], "no @processor function or Processor subclass in"),
            ([self.module("raise RuntimeError('no GPU')\n")], "all", [], "could not be imported: RuntimeError: no GPU"),
            ([good, self.module('from warren_worker import processor\n@processor(name="good", version="2")\ndef again(i, c): pass\n')], "all", [], 'processor "good" is defined twice'),
            ([self.module("from warren_worker import Processor\nclass Bad(Processor):\n    name = 'Bad Name'; version = '1'\n")], "all", [], "name must match"),
        ]
        for modules, wanted, concurrency, message in cases:
            with self.subTest(message=message), self.assertRaises(ConfigError) as caught:
                load_processors(modules, wanted, concurrency)
            self.assertIn(message, str(caught.exception))

    def test_the_decorator_refuses_a_bad_definition_where_it_is_written(self) -> None:
        with self.assertRaises(ValueError):
            processor(name="ok", version="1", concurrency=0)(lambda i, c: None)
        with self.assertRaises(ValueError):
            processor(name="ok", version="")(lambda i, c: None)

    def test_the_class_form_has_no_op_setup_and_teardown(self) -> None:
        class Model(Processor):
            name = "m"
            version = "1"

        Model().setup()
        Model().teardown()
        with self.assertRaises(NotImplementedError):
            Model().run({}, None)


if __name__ == "__main__":
    unittest.main()
