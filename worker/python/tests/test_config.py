"""Configuration: the Node worker's variables, defaults and refusals, and never a secret in a message."""

import os
import subprocess
import sys
import unittest

from warren_worker.config import load_config
from warren_worker.errors import ConfigError

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def refusal(env: dict) -> ConfigError:
    with unittest.TestCase().assertRaises(ConfigError) as caught:
        load_config(env)
    return caught.exception


class DefaultsTest(unittest.TestCase):
    def test_an_empty_environment_gives_the_node_workers_defaults(self) -> None:
        config = load_config({})
        self.assertEqual(config.amqp_urls, ["amqp://guest:guest@127.0.0.1:5672"])
        self.assertEqual(config.amqp_prefix, "warren")
        self.assertEqual(config.data_dir, os.path.abspath("./data"))
        self.assertEqual((config.worker_concurrency, config.task_max_attempts, config.delivery_limit), (16, 3, 5))
        self.assertEqual(config.retry_delays_ms, [1000, 10_000, 60_000, 300_000])
        self.assertEqual((config.task_queue_max_length, config.task_queue_ttl_ms), (100_000, 86_400_000))
        self.assertEqual((config.max_result_bytes, config.task_timeout_ms, config.shutdown_grace_ms), (8 * 1024 * 1024, 3_600_000, 30_000))
        self.assertEqual((config.log_level, config.log_format, config.worker_processors, config.upload_store), ("info", "json", "all", None))

    def test_blank_values_count_as_absent(self) -> None:
        self.assertEqual(load_config({"WORKER_CONCURRENCY": "  ", "AMQP_PREFIX": ""}).worker_concurrency, 16)

    def test_lists_and_maps_are_parsed(self) -> None:
        config = load_config({"RETRY_DELAYS_MS": "500, 2000", "PROCESSOR_CONCURRENCY": "echo:2, flaky : 3", "WORKER_PROCESSORS": "echo, flaky", "AMQP_URL": "amqp://a:5672,amqps://b"})
        self.assertEqual(config.retry_delays_ms, [500, 2000])
        self.assertEqual(config.processor_concurrency, {"echo": 2, "flaky": 3})
        self.assertEqual(config.worker_processors, ["echo", "flaky"])
        self.assertEqual(config.amqp_urls, ["amqp://a:5672", "amqps://b"])


class RefusalTest(unittest.TestCase):
    def test_a_bad_number_names_its_variable(self) -> None:
        self.assertEqual(str(refusal({"WORKER_CONCURRENCY": "lots"})), 'WORKER_CONCURRENCY: "lots" is not a whole number')
        self.assertEqual(str(refusal({"SHUTDOWN_GRACE_MS": "-1"})), "SHUTDOWN_GRACE_MS: -1 is outside 0..3600000")
        self.assertEqual(refusal({"RETRY_DELAYS_MS": "1000,x"}).variable, "RETRY_DELAYS_MS")
        self.assertEqual(refusal({"MAX_RESULT_BYTES": "12"}).variable, "MAX_RESULT_BYTES")
        # Unicode digits are not digits to the Node side's /^-?\d+$/ either.
        self.assertEqual(refusal({"TASK_MAX_ATTEMPTS": "٣"}).variable, "TASK_MAX_ATTEMPTS")

    def test_enumerations_and_names_are_checked(self) -> None:
        self.assertEqual(str(refusal({"LOG_LEVEL": "loud"})), "LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent")
        self.assertEqual(refusal({"LOG_FORMAT": "xml"}).variable, "LOG_FORMAT")
        self.assertEqual(refusal({"AMQP_PREFIX": "has space"}).variable, "AMQP_PREFIX")
        self.assertEqual(str(refusal({"PROCESSOR_CONCURRENCY": "echo"})), 'PROCESSOR_CONCURRENCY: "echo" must be processor:n (e.g. document:2)')
        self.assertEqual(str(refusal({"PROCESSOR_CONCURRENCY": "echo:1,echo:2"})), "PROCESSOR_CONCURRENCY: names echo twice")
        self.assertEqual(refusal({"UPLOAD_STORE": "s3:nowhere"}).variable, "UPLOAD_STORE")

    def test_an_amqp_url_is_refused_without_being_quoted(self) -> None:
        secret = "pa55word"
        for url in (f"http://user:{secret}@host", f"amqp://user:{secret}/x@host", f"amqp://user:{secret} @host", f"amqp://user:{secret}@host:99999"):
            error = refusal({"AMQP_URL": url})
            self.assertEqual(error.variable, "AMQP_URL")
            self.assertNotIn(secret, str(error))
        self.assertIn("entry 2 of 2", str(refusal({"AMQP_URL": f"amqp://h,ftp://u:{secret}@h"})))
        self.assertEqual(str(refusal({"AMQP_URL": "amqp://h/?heartbeat=often"})), "AMQP_URL: heartbeat must be a whole number of seconds")

    def test_s3_destinations_are_refused_naming_the_field_never_the_value(self) -> None:
        secret = "wJalrXUtnFEMI"
        error = refusal({"S3_DESTINATIONS": f'{{"archive": {{"bucket": "results", "secretAccesKey": "{secret}"}}}}'})
        self.assertEqual(str(error), 'S3_DESTINATIONS: destination "archive": secretAccesKey: is not a known field')
        error = refusal({"S3_DESTINATIONS": f'{{"archive": {{"bucket": "results", "secretAccessKey": "{secret}"'})
        self.assertNotIn(secret, str(error))
        error = refusal({"S3_DESTINATIONS": f'{{"archive": {{"bucket": "results", "secretAccessKey": "{secret}"}}}}'})
        self.assertIn("accessKeyId and secretAccessKey go together", str(error))
        self.assertNotIn(secret, str(error))

    def test_the_upload_store_names_a_destination_and_hides_its_credentials(self) -> None:
        config = load_config({"S3_DESTINATIONS": '{"up": {"bucket": "uploads", "accessKeyId": "AKIA", "secretAccessKey": "hush", "prefix": "/w/x/"}}', "UPLOAD_STORE": "s3:up"})
        assert config.upload_store is not None
        self.assertEqual((config.upload_store.bucket, config.upload_store.prefix), ("uploads", "w/x"))
        self.assertEqual(config.upload_store.upload_key_prefix("t1"), "w/x/uploads/t1/")
        self.assertNotIn("hush", repr(config))


class ProcessExitTest(unittest.TestCase):
    def test_the_worker_exits_2_naming_the_variable(self) -> None:
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": PACKAGE_ROOT, "PYTHONDONTWRITEBYTECODE": "1", "AMQP_URL": "amqp://me:t0ps3cret@host:70000"}
        done = subprocess.run([sys.executable, "-m", "warren_worker", "some_module"], env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 2)
        self.assertEqual(done.stderr.strip(), "warren worker: bad configuration: AMQP_URL: is not a valid URL (check the host and port)")
        self.assertNotIn("t0ps3cret", done.stdout + done.stderr)

    def test_modules_without_processors_stop_the_worker(self) -> None:
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": PACKAGE_ROOT, "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run([sys.executable, "-m", "warren_worker", "json"], env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 2)
        self.assertIn("no @processor function or Processor subclass in json", done.stderr)


if __name__ == "__main__":
    unittest.main()
