"""Input files: volume paths as they are, s3:// inputs only from this worker's upload store."""

import os
import tempfile
import unittest

from warren_worker.destinations import S3Destination
from warren_worker.errors import PermanentError
from warren_worker.inputs import InputFetcher, boto3_available

S3_FILE = {"name": "scan.png", "content_type": "image/png", "size": 3, "location": "s3://uploads/uploads/t1/0-scan.png"}


class InputsTest(unittest.TestCase):
    def test_volume_inputs_are_used_where_they_are(self) -> None:
        with tempfile.TemporaryDirectory() as data_dir:
            inputs = InputFetcher(data_dir, None).fetch("t1", [], lambda: False)
            path = inputs.path_of({"name": "a", "content_type": "text/plain", "size": 1, "location": "volume:uploads/t1/0-a"})
            self.assertEqual(path, os.path.join(data_dir, "uploads", "t1", "0-a"))
            inputs.release()

    def test_an_s3_input_on_a_volume_worker_fails_the_task_saying_what_to_set(self) -> None:
        with self.assertRaises(PermanentError) as caught:
            InputFetcher("/data", None).fetch("t1", [S3_FILE], lambda: False)
        self.assertEqual(caught.exception.code, "upload_store_mismatch")
        self.assertIn("UPLOAD_STORE", str(caught.exception))

    @unittest.skipIf(boto3_available(), "boto3 is installed here")
    def test_an_s3_input_without_boto3_fails_the_task_saying_what_to_install(self) -> None:
        with tempfile.TemporaryDirectory() as data_dir:
            store = S3Destination(name="up", bucket="uploads", credentials=("id", "secret", None))
            with self.assertRaises(PermanentError) as caught:
                InputFetcher(data_dir, store).fetch("t1", [S3_FILE], lambda: False)
            self.assertEqual(caught.exception.code, "upload_store_unsupported")
            self.assertIn("python3-boto3", str(caught.exception))
            self.assertNotIn("secret", str(caught.exception))
            self.assertEqual(os.listdir(data_dir), [])  # nothing left behind


if __name__ == "__main__":
    unittest.main()
