"""The shared volume: safe names, locations that cannot leave DATA_DIR, atomic artifacts."""

import os
import tempfile
import unittest

from warren_worker.artifacts import ArtifactWriter
from warren_worker.errors import WarrenError
from warren_worker.volume import resolve_location, safe_file_name


class SafeNameTest(unittest.TestCase):
    def test_names_are_cleaned_as_the_node_side_cleans_them(self) -> None:
        cases = {
            "report.pdf": "report.pdf",
            "../../etc/passwd": "passwd",
            "C:\\Users\\x\\a b.txt": "a_b.txt",
            ".hidden": "hidden",
            "__init__.py": "init__.py",
            "Café déjà.txt": "Cafe_de_ja_.txt",  # NFKD: the accents are split off, then replaced
            "日本語": "file",
            "": "file",
            "x" * 150 + ".txt": ("x" * 150 + ".txt")[-100:],
        }
        for raw, safe in cases.items():
            self.assertEqual(safe_file_name(raw), safe, raw)
        self.assertEqual(safe_file_name("///", "artifact"), "artifact")


class LocationTest(unittest.TestCase):
    def test_a_location_resolves_inside_the_data_dir_only(self) -> None:
        self.assertEqual(resolve_location("/data", "volume:uploads/t/0-a.txt"), "/data/uploads/t/0-a.txt")
        for location in ("volume:../etc/passwd", "volume:/etc/passwd", "volume:uploads/../../x"):
            with self.assertRaises(WarrenError) as caught:
                resolve_location("/data", location)
            self.assertEqual(caught.exception.code, "unsafe_location")
        with self.assertRaises(WarrenError) as caught:
            resolve_location("/data", "s3://bucket/key")
        self.assertEqual(caught.exception.code, "unsupported_location")


class ArtifactTest(unittest.TestCase):
    def test_an_artifact_is_written_whole_under_its_task_and_described(self) -> None:
        with tempfile.TemporaryDirectory() as data_dir:
            writer = ArtifactWriter(data_dir, "task-1")
            ref = writer.write("../out put.txt", "héllo", "text/plain")
            self.assertEqual(ref, {"name": "out_put.txt", "content_type": "text/plain", "size": 6, "location": "volume:artifacts/task-1/out_put.txt"})
            writer.write("out put.txt", b"again", "text/plain")
            folder = os.path.join(data_dir, "artifacts", "task-1")
            self.assertEqual(os.listdir(folder), ["out_put.txt"])  # replaced; no temporary file left
            with open(os.path.join(folder, "out_put.txt"), "rb") as handle:
                self.assertEqual(handle.read(), b"again")
            self.assertEqual(writer.written(), [{"name": "out_put.txt", "content_type": "text/plain", "size": 5, "location": "volume:artifacts/task-1/out_put.txt"}])


if __name__ == "__main__":
    unittest.main()
