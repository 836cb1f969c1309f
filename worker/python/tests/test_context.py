"""ctx in a run: the cancel flag, cancellable sleep, throttled progress, input paths."""

import logging
import threading
import time
import unittest

from warren_worker.artifacts import ArtifactWriter
from warren_worker.context import Context, ProgressThrottle
from warren_worker.errors import Cancelled


def timer_schedule(delay: float, callback) -> None:
    """Stands in for the I/O thread's call_later: a real timer, so the throttle sees real time."""
    threading.Timer(delay, callback).start()


class ThrottleTest(unittest.TestCase):
    def test_a_burst_sends_the_first_at_once_and_the_latest_last_at_most_once_per_interval(self) -> None:
        sent: list[tuple[float, float, str | None]] = []
        done = threading.Event()

        def send(fraction: float, message: str | None) -> None:
            sent.append((time.monotonic(), fraction, message))
            if fraction == 1.0:
                done.set()

        throttle = ProgressThrottle(0.2, timer_schedule, send)
        began = time.monotonic()
        for step in range(1, 101):
            throttle.report(step / 100, f"step {step}")
            time.sleep(0.004)  # 100 reports over ~0.4 s
        self.assertTrue(done.wait(2))
        time.sleep(0.3)  # nothing may follow the latest value
        self.assertEqual(sent[-1][1:], (1.0, "step 100"))
        self.assertLess(sent[0][0] - began, 0.1)
        self.assertLessEqual(len(sent), 4)
        gaps = [b[0] - a[0] for a, b in zip(sent, sent[1:])]
        self.assertTrue(all(gap >= 0.19 for gap in gaps), gaps)

    def test_a_closed_throttle_drops_what_waits(self) -> None:
        sent: list[float] = []
        throttle = ProgressThrottle(0.1, timer_schedule, lambda fraction, _m: sent.append(fraction))
        throttle.report(0.1, None)
        time.sleep(0.05)
        throttle.report(0.2, None)
        throttle.close()
        time.sleep(0.2)
        self.assertEqual(sent, [0.1])


def a_context(tmp: str = "/nonexistent") -> tuple[Context, list]:
    sent: list = []
    throttle = ProgressThrottle(0, lambda _d, callback: callback(), lambda f, m: sent.append((f, m)))
    return Context("t1", 1, 1024, logging.getLogger("test"), ArtifactWriter(tmp, "t1"), throttle), sent


class ContextTest(unittest.TestCase):
    def test_progress_is_clamped_and_a_bad_fraction_is_not_sent(self) -> None:
        ctx, sent = a_context()
        ctx.progress(1.5, "x" * 2000)
        ctx.progress(-1)
        with self.assertLogs("test", "WARNING"):
            ctx.progress(float("nan"))
            ctx.progress("half")  # type: ignore[arg-type]
        self.assertEqual(sent, [(1.0, "x" * 1000), (0.0, None)])

    def test_a_cancel_is_seen_by_the_flag_by_check_cancelled_and_by_a_sleep(self) -> None:
        ctx, _ = a_context()
        self.assertFalse(ctx.cancelled)
        ctx.check_cancelled()
        threading.Timer(0.1, lambda: ctx._cancel("revoked")).start()
        began = time.monotonic()
        with self.assertRaises(Cancelled):
            ctx.sleep(10)
        self.assertLess(time.monotonic() - began, 2)
        self.assertEqual((ctx.cancelled, ctx.cancel_reason), (True, "revoked"))
        ctx._cancel("timed_out")  # the first reason stays
        self.assertEqual(ctx.cancel_reason, "revoked")
        with self.assertRaises(Cancelled):
            ctx.check_cancelled()

    def test_input_paths_exist_only_during_the_run(self) -> None:
        ctx, _ = a_context()
        with self.assertRaises(RuntimeError):
            ctx.file_path({"name": "a", "content_type": "text/plain", "size": 1, "location": "volume:uploads/t1/0-a"})


if __name__ == "__main__":
    unittest.main()
