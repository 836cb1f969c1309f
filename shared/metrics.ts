import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * Histogram buckets (seconds) for task times, shared so the gateway's and the workers' run-time
 * histograms can be compared bucket by bucket. They span a fast echo (a few ms) to a long OCR or
 * model run (the broker's consumer_timeout is 65 minutes) in steps of roughly ×2–2.5.
 */
export const TASK_SECONDS_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * prom-client's default gauges that end in `_total`: the Prometheus naming rules (and `promtool
 * check metrics`) keep that suffix for counters. Each total is the sum of its per-type gauge
 * (`nodejs_active_handles{type}` …), which stays: `sum(nodejs_active_handles)`.
 */
export const MISNAMED_DEFAULT_METRICS: readonly string[] = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** prom-client's process and Node.js metrics on `registry`, without the misnamed totals. */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(name);
}
