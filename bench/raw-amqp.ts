import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { TEST_AMQP_URL } from '../test/support/broker.js';
import { startBenchProcess } from './spawn.js';
import { brokerPid, cpuMeter, drive, percentiles, ratio, round } from './stats.js';
import { ROUND_TRIP_TIMEOUT_MS, runWarrenPipeline, type PipelineFigures, type PipelineOptions } from './warren-pipeline.js';

/**
 * The pipeline without HTTP, against its AMQP ceiling, in one run:
 * (a) raw amqplib request/reply between this process and bench/amqp-responder.ts — quorum queues,
 *     persistent messages, publisher confirms on both sides, the request acked after its reply is
 *     confirmed, prefetch = --prefetch (16, warren's WORKER_CONCURRENCY default); then again with a confirmed
 *     STARTED message before each reply ("+STARTED"), warren's three messages per task;
 * (b) warren's own pipeline (bench/warren-pipeline.ts): insertPending + publishTask here, a real
 *     worker process serving echo, the recorder here committing SUCCESS to SQLite.
 * Each is measured with W tasks in flight (throughput, and the latency under that load) and with
 * one in flight (the latency of one round trip).
 *   npm run bench -- pipeline [--tasks 3000 --in-flight 64 --latency-tasks 500 --warmup 300 --prefetch 16]
 */
type Row = Record<string, string | number | null>;

export async function runPipelineBench(options: PipelineOptions): Promise<Record<string, unknown>> {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-bench-logs-'));
  try {
    const raw = await runRawAmqp(options, logDir, 1);
    const rawTwoEvents = await runRawAmqp(options, logDir, 2);
    const warren = await runWarrenPipeline(options, logDir);
    const rows: Row[] = [];
    const cpuRows: Row[] = [];
    const sides = [
      ['raw amqp', raw],
      ['raw amqp +STARTED', rawTwoEvents],
      ['warren', warren],
    ] as const;
    for (const [name, figures] of sides) {
      for (const [mode, run, inFlight] of [
        ['loaded', figures.loaded, options.inFlight],
        ['single', figures.single, 1],
      ] as const) {
        const latency = percentiles(run.latencies);
        const rawLatency = percentiles(raw[mode].latencies);
        rows.push({
          case: `${name} W=${inFlight}`,
          tasks: run.latencies.length + run.errors,
          'tasks/s': round(run.latencies.length / run.seconds),
          errors: run.errors,
          lost: mode === 'loaded' ? figures.lost : null,
          'p50 ms': latency.p50,
          'p95 ms': latency.p95,
          'p99 ms': latency.p99,
          'tasks/s vs raw': name === 'raw amqp' ? null : ratio(run.latencies.length / run.seconds, raw[mode].latencies.length / raw[mode].seconds),
          'p50 vs raw': name === 'raw amqp' ? null : ratio(latency.p50, rawLatency.p50),
        });
      }
      cpuRows.push({ case: `${name} W=${options.inFlight}`, ...figures.cpu });
    }
    return {
      bench: 'pipeline',
      tasks: options.tasks,
      in_flight: options.inFlight,
      prefetch: options.prefetch,
      latency_tasks: options.latencyTasks,
      warmup: options.warmup,
      tables: { cases: rows, cpu_ms_per_task: cpuRows },
    };
  } finally {
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

/** `events` 2: the responder publishes a confirmed STARTED before the reply, warren's message count. */
export async function runRawAmqp(
  { tasks, inFlight, latencyTasks, warmup, prefetch }: PipelineOptions,
  logDir: string,
  events: 1 | 2,
): Promise<PipelineFigures> {
  const id = randomUUID().slice(0, 8);
  const queues = { requests: `bench-${id}.requests`, replies: `bench-${id}.replies` };
  const connection = await amqp.connect(TEST_AMQP_URL, { noDelay: true, clientProperties: { connection_name: `bench-requester:${process.pid}` } });
  try {
    const publisher = await connection.createConfirmChannel();
    for (const queue of Object.values(queues)) await publisher.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const responder = await startBenchProcess({
      entry: 'bench/amqp-responder.ts',
      env: { AMQP_URL: TEST_AMQP_URL, REQUESTS: queues.requests, REPLIES: queues.replies, PREFETCH: String(prefetch), EVENTS: String(events) },
      ready: [(line) => line.msg === 'responder consuming'],
      logDir,
    });
    try {
      // Replies are taken like warren's recorder takes events (prefetch = RECORDER_PREFETCH default).
      const consumer = await connection.createChannel();
      await consumer.prefetch(500);
      const waiting = new Map<string, () => void>();
      await consumer.consume(queues.replies, (message) => {
        if (!message) return;
        consumer.ack(message);
        if (message.properties.type === 'STARTED') return; // taken and acked, as the recorder does
        const correlationId = message.properties.correlationId as string;
        waiting.get(correlationId)?.();
        waiting.delete(correlationId);
      });

      // Done when the request is confirmed and its reply has arrived (either may come first).
      const roundTrip = (n: number): Promise<void> =>
        new Promise<void>((resolve, reject) => {
          const requestId = randomUUID();
          let pending = 2;
          const timer = setTimeout(() => {
            waiting.delete(requestId);
            reject(new Error(`no reply to ${requestId} within ${ROUND_TRIP_TIMEOUT_MS} ms`));
          }, ROUND_TRIP_TIMEOUT_MS);
          const step = (): void => {
            if (--pending > 0) return;
            clearTimeout(timer);
            resolve();
          };
          waiting.set(requestId, step);
          const body = Buffer.from(JSON.stringify({ id: requestId, fields: { item_a: `task-${n}`, item_b: 'raw' } }));
          publisher.sendToQueue(queues.requests, body, { persistent: true, contentType: 'application/json', correlationId: requestId }, (err) => {
            if (!err) return step();
            clearTimeout(timer);
            waiting.delete(requestId);
            reject(err instanceof Error ? err : new Error(String(err)));
          });
        });

      await drive(warmup, inFlight, roundTrip);
      const broker = brokerPid();
      const meter = cpuMeter({ requester: [process.pid], responder: [responder.pid], ...(broker ? { broker: [broker] } : {}) });
      const loaded = await drive(tasks, inFlight, roundTrip);
      const cpu = meter.stop(tasks);
      const single = await drive(latencyTasks, 1, roundTrip);
      return { loaded, single, cpu, lost: 0 };
    } finally {
      await responder.stop();
    }
  } finally {
    const channel = await connection.createChannel();
    for (const queue of Object.values(queues)) await channel.deleteQueue(queue);
    await connection.close();
  }
}
