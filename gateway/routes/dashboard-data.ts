import type { TaskStatus } from '../../shared/index.js';
import type { DeadLetter, QueueStat } from './dashboard-operations.js';

/** What the dashboard shows: gathered by routes/dashboard.ts, rendered by pages/dashboard-page.ts, served as /dashboard.json. */
export interface DashboardFilters {
  status: TaskStatus | null;
  processor: string | null;
  /** Epoch ms: only tasks created before it (the next page). */
  before: number | null;
  limit: number;
}

export interface DashboardTask {
  task_id: string;
  processor: string;
  status: TaskStatus;
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** Run time, started → finished. */
  duration_ms: number | null;
  error: { code: string; message: string } | null;
  page_url: string;
}

export interface DashboardDelivery {
  task_id: string;
  target: string;
  state: string;
  attempts: number;
  last_error: { code: string; message: string } | null;
  last_http_status: number | null;
  next_attempt_at: string | null;
  updated_at: string;
  page_url: string;
}

export type BrokerSection =
  | { reachable: true; queues: QueueStat[]; dead_letters: { queue: string; count: number | null; messages: DeadLetter[] } }
  | { reachable: false; problem: string };

export interface DashboardData {
  generated_at: string;
  filters: DashboardFilters;
  counts: {
    by_status: Record<TaskStatus, number>;
    finished_last_minute: Record<TaskStatus, number>;
    finished_last_hour: Record<TaskStatus, number>;
  };
  /** Tasks that reached a terminal state in the last five minutes, per minute. */
  rate: { window_seconds: number; finished: number; per_minute: number };
  broker: BrokerSection;
  /** Delivery targets that failed for good or are retrying after a failure, newest first. */
  delivery_problems: DashboardDelivery[];
  tasks: DashboardTask[];
  /** `before` for the next (older) page; null on the last page. */
  next_before: number | null;
}
