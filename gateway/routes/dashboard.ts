import express, { Router, type Request } from 'express';
import { coerceError, isTerminal, TASK_STATUSES, type Broker, type Logger, type TaskStatus } from '../../shared/index.js';
import type { TaskRecord, TaskStore } from '../store/index.js';
import type { ErrorCode } from '../http/error-codes.js';
import { HttpError } from '../http/http-errors.js';
import { renderDashboardPage } from '../pages/dashboard-page.js';
import { peekDeadLetters, queueStats, redriveDeadLetters, type RedriveResult } from './dashboard-operations.js';
import type { BrokerSection, DashboardData, DashboardFilters, DashboardTask } from './dashboard-data.js';
import type { Links } from '../links.js';

/**
 * The operator's dashboard: task counts and recent tasks from the store, queue depths and the
 * dead-letter queue from the broker. Every replica answers the same, because nothing here lives in
 * a process's memory.
 *
 * SECURITY: with API_KEYS set only ADMIN_KEYS open it (app.ts mounts requireAdmin before it);
 * without keys anyone who can reach the gateway can, redrive included — keep it private then, or
 * set DASHBOARD=off. Browsers may not post a redrive from another site (http/cross-site.ts).
 */
export interface DashboardDeps {
  links: Links;
  store: TaskStore;
  broker: Broker;
  /** Known processor names, for the filter's choices. */
  processors: readonly string[];
  logger: Logger;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
const DEAD_LETTER_PEEK = 20;
const DELIVERY_PROBLEMS = 20;
const DEFAULT_REDRIVE = 100;
const MAX_REDRIVE = 10_000;
const RATE_WINDOW_MS = 5 * 60_000;
/** A broker that does not answer in time is shown as unreachable rather than stalling the page. */
const BROKER_TIMEOUT_MS = 3000;
const PROCESSOR_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

export function dashboardRoutes({ links, store, broker, processors, logger }: DashboardDeps): Router {
  const router = Router();
  const dashboardUrl = links.to('/dashboard');

  const gather = async (filters: DashboardFilters): Promise<DashboardData> => {
    const now = Date.now();
    const [counts, records, brokerSection, troubled] = await Promise.all([
      store.counts([now - 60_000, now - 3_600_000, now - RATE_WINDOW_MS]),
      store.list({
        limit: filters.limit,
        ...(filters.status ? { status: filters.status } : {}),
        ...(filters.processor ? { processor: filters.processor } : {}),
        ...(filters.before !== null ? { before: filters.before } : {}),
      }),
      brokerState(broker, logger),
      store.deliveries.troubled(DELIVERY_PROBLEMS),
    ]);
    const [lastMinute, lastHour, rateWindow] = counts.finishedSince as [Record<TaskStatus, number>, Record<TaskStatus, number>, Record<TaskStatus, number>];
    const finished = sum(rateWindow);
    return {
      generated_at: new Date(now).toISOString(),
      filters,
      counts: { by_status: counts.byStatus, finished_last_minute: lastMinute, finished_last_hour: lastHour },
      rate: { window_seconds: RATE_WINDOW_MS / 1000, finished, per_minute: Math.round((finished / (RATE_WINDOW_MS / 60_000)) * 10) / 10 },
      broker: brokerSection,
      delivery_problems: troubled.map((d) => ({
        task_id: d.taskId,
        target: d.targetId,
        state: d.state,
        attempts: d.attempts,
        last_error: d.lastError,
        last_http_status: d.lastHttpStatus,
        next_attempt_at: d.nextAttemptAt === null ? null : new Date(d.nextAttemptAt).toISOString(),
        updated_at: new Date(d.updatedAt).toISOString(),
        page_url: links.page(d.taskId),
      })),
      tasks: records.map((record) => toDashboardTask(record, links)),
      next_before: records.length === filters.limit ? records.at(-1)!.createdAt : null,
    };
  };

  router.get('/dashboard.json', async (req, res) => {
    const data = await gather(parseFilters(req));
    res.setHeader('Cache-Control', 'no-store');
    res.json(data);
  });

  router.get('/dashboard', async (req, res) => {
    const filters = parseFilters(req);
    const notice = parseNotice(req);
    const data = await gather(filters);
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(renderDashboardPage({ links, data, processors, notice }));
  });

  router.post(
    '/dashboard/dead-letters/redrive',
    express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 }),
    express.json({ limit: '4kb' }),
    async (req, res) => {
      const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
      const limit = intParam(body.limit, 'limit', 1, MAX_REDRIVE, 'invalid_body') ?? DEFAULT_REDRIVE;
      if (!broker.isConnected()) throw unavailable(broker.problem() ?? 'not connected to the broker');
      let result: RedriveResult;
      try {
        const finishedStatus = async (taskId: string): Promise<string | undefined> => {
          const task = await store.get(taskId);
          return task && isTerminal(task.status) ? task.status : undefined;
        };
        result = await redriveDeadLetters(broker, { limit, finishedStatus });
      } catch (err) {
        throw unavailable(coerceError(err).message);
      }
      logger.info({ limit, redriven: result.redriven, skipped: result.skipped.length, stopped: result.stopped }, 'dead letters redriven');
      if (result.stopped !== undefined) {
        throw unavailable(`redrive stopped after ${result.redriven} message(s): ${result.stopped}`, { redriven: result.redriven, skipped: result.skipped });
      }
      if (req.accepts(['html', 'json']) === 'json') {
        res.json(result);
        return;
      }
      res.redirect(303, `${dashboardUrl}?${new URLSearchParams({ redriven: String(result.redriven), skipped: String(result.skipped.length) }).toString()}`);
    },
  );

  return router;
}

async function brokerState(broker: Broker, logger: Logger): Promise<BrokerSection> {
  if (!broker.isConnected()) return { reachable: false, problem: broker.problem() ?? 'not connected to the broker' };
  const deadLetterQueue = broker.topology.queues.deadLetters;
  try {
    return await withTimeout(
      (async (): Promise<BrokerSection> => {
        // Stats first: messages held by the peek would be missing from the DLQ's count.
        const queues = await queueStats(broker);
        const messages = await peekDeadLetters(broker, DEAD_LETTER_PEEK);
        const count = queues.find((q) => q.name === deadLetterQueue)?.messages ?? null;
        return { reachable: true, queues, dead_letters: { queue: deadLetterQueue, count, messages } };
      })(),
      BROKER_TIMEOUT_MS,
    );
  } catch (err) {
    const problem = coerceError(err).message;
    logger.warn({ err: problem }, 'dashboard could not query the broker');
    return { reachable: false, problem };
  }
}

function toDashboardTask(record: TaskRecord, links: Links): DashboardTask {
  const duration = record.startedAt !== null && record.finishedAt !== null ? record.finishedAt - record.startedAt : null;
  return {
    task_id: record.id,
    processor: record.processor,
    status: record.status,
    attempts: record.attempt,
    created_at: new Date(record.createdAt).toISOString(),
    started_at: record.startedAt === null ? null : new Date(record.startedAt).toISOString(),
    finished_at: record.finishedAt === null ? null : new Date(record.finishedAt).toISOString(),
    duration_ms: duration !== null && duration >= 0 ? duration : null,
    error: record.error,
    page_url: links.page(record.id),
  };
}

function parseFilters(req: Request): DashboardFilters {
  const status = stringParam(req.query.status, 'status')?.toUpperCase();
  if (status !== undefined && !(TASK_STATUSES as readonly string[]).includes(status)) {
    throw new HttpError(400, 'invalid_query', `status must be one of ${TASK_STATUSES.join(', ')}`);
  }
  const processor = stringParam(req.query.processor, 'processor');
  if (processor !== undefined && !PROCESSOR_PATTERN.test(processor)) {
    throw new HttpError(400, 'invalid_query', 'processor must be a processor name (lower-case letters, digits, "_" and "-")');
  }
  return {
    status: (status as TaskStatus | undefined) ?? null,
    processor: processor ?? null,
    before: intParam(req.query.before, 'before', 1, Number.MAX_SAFE_INTEGER) ?? null,
    limit: intParam(req.query.limit, 'limit', 1, MAX_LIMIT) ?? DEFAULT_LIMIT,
  };
}

/** What the redrive form's redirect reports, so the operator sees the outcome without a session. */
function parseNotice(req: Request): { redriven: number; skipped: number } | undefined {
  const redriven = intParam(req.query.redriven, 'redriven', 0, Number.MAX_SAFE_INTEGER);
  if (redriven === undefined) return undefined;
  return { redriven, skipped: intParam(req.query.skipped, 'skipped', 0, Number.MAX_SAFE_INTEGER) ?? 0 };
}

/** An empty value counts as absent: a GET form sends `status=` for "all". */
function stringParam(value: unknown, name: string, code: ErrorCode = 'invalid_query'): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, code, `${name} must be given once`);
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function intParam(value: unknown, name: string, min: number, max: number, code: ErrorCode = 'invalid_query'): number | undefined {
  const raw = typeof value === 'number' ? String(value) : stringParam(value, name, code);
  if (raw === undefined) return undefined;
  if (!/^\d{1,16}$/.test(raw)) throw new HttpError(400, code, `${name} must be a whole number`);
  const n = Number(raw);
  if (n < min || n > max) throw new HttpError(400, code, `${name} must be between ${min} and ${max}`);
  return n;
}

function unavailable(message: string, details: Record<string, unknown> = {}): HttpError {
  return new HttpError(503, 'broker_unavailable', message, details, { 'Retry-After': '5' });
}

function sum(counts: Record<TaskStatus, number>): number {
  return Object.values(counts).reduce((total, n) => total + n, 0);
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the broker did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
