/**
 * Histogram buckets (seconds) for task times, shared so the gateway's and the workers' run-time
 * histograms can be compared bucket by bucket. They span a fast echo (a few ms) to a long OCR or
 * model run (the broker's consumer_timeout is 65 minutes) in steps of roughly ×2–2.5.
 */
export const TASK_SECONDS_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
