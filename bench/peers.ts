import { uniquePrefix } from '../test/support/broker.js';
import { createTestSchema, type TestSchema } from '../test/support/postgres.js';
import type { ClientRun } from './http.js';
import { ratio } from './stats.js';
import { CaseRuns, withPrefix, type Row } from './measure.js';
import { startBullmq, startCeiling, startWarren } from './targets.js';

/**
 * warren against the peer a Node team would pick instead — Express + BullMQ on Redis
 * (bench/peers/) — and the do-nothing ceiling, in one run, with one client (bench/http.ts): submit,
 * poll task_status every `pollMs`, fetch task_result, for echo tasks. Each system runs as its
 * default single-box deployment: one gateway and one worker (warren as `npm start` runs it; the
 * peer's worker at concurrency 16). `--postgres` adds warren on the PostgreSQL store, with one and
 * with two gateways. Ratios are taken against the peer and the ceiling of the same run.
 *   npm run bench -- peers [--tasks 4000 --concurrency 32,128 --poll-ms 50 --warmup 300 --postgres]
 */
export interface PeersOptions {
  tasks: number;
  concurrency: number[];
  pollMs: number;
  warmup: number;
  postgres: boolean;
}

/** What each system has promised by the time it answers 202 and SUCCESS: read its figure with it. */
const PROMISES: Record<string, string> = {
  ceiling: 'nothing: no queue, no store, no worker',
  'express+bullmq': 'the job is in Redis before 202 (no fsync: this Redis has no AOF or snapshots, so a Redis restart loses everything); at-least-once runs',
  warren:
    'the task is committed (fsync) and its message confirmed by a quorum queue before 202; SUCCESS is committed before it is visible; at-least-once runs, exactly one terminal state',
  'warren (postgres)': 'as warren, the store being PostgreSQL (synchronous commit) shared by the gateways',
};

export async function runPeersBench(options: PeersOptions): Promise<Record<string, unknown>> {
  const cases = new CaseRuns(options, (target, clients, run, earlier) =>
    row(target, clients, run, earlier.get(`express+bullmq@${clients}`), earlier.get(`ceiling@${clients}`)),
  );
  const { logDir } = cases;
  const withSchema = async (run: (schema: TestSchema) => Promise<void>): Promise<void> => {
    const schema = await createTestSchema();
    try {
      await run(schema);
    } finally {
      await schema.drop();
    }
  };

  try {
    await cases.measure(() => startCeiling(1, logDir));
    await cases.measure(() => startBullmq({ prefix: uniquePrefix(), gateways: 1, logDir }));
    await withPrefix((prefix) => cases.measure(() => startWarren({ prefix, gateways: 1, logDir })));
    if (options.postgres) {
      for (const gateways of [1, 2]) {
        await withSchema((schema) =>
          withPrefix((prefix) => cases.measure(() => startWarren({ prefix, gateways, logDir, env: { STORE_URL: schema.url }, name: `warren pg×${gateways}` }))),
        );
      }
    }
    return {
      bench: 'peers',
      tasks: options.tasks,
      poll_ms: options.pollMs,
      warmup: options.warmup,
      tables: {
        cases: cases.rows,
        cpu_ms_per_task: cases.cpuRows,
        promises: Object.entries(PROMISES).map(([system, promise]) => ({ case: system, promise })),
      } as Record<string, Row[]>,
    };
  } finally {
    cases.finish();
  }
}

function row(target: string, clients: number, run: ClientRun, peer: ClientRun | undefined, ceiling: ClientRun | undefined): Row {
  const compared = target !== 'ceiling' && target !== 'express+bullmq';
  return {
    case: `${target} c=${clients}`,
    'tasks/s': run.tasks_per_s,
    errors: run.errors,
    lost: run.lost,
    'submit p50': run.submit_ms.p50,
    'e2e p50': run.end_to_end_ms.p50,
    'e2e p99': run.end_to_end_ms.p99,
    'polls/task': run.polls_per_task,
    'vs bullmq': compared ? ratio(run.tasks_per_s, peer?.tasks_per_s) : null,
    'vs ceiling': target === 'ceiling' ? null : ratio(run.tasks_per_s, ceiling?.tasks_per_s),
  };
}
