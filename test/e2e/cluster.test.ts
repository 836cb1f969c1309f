import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForTerminal, type Submitted } from '../support/client.js';
import { rabbitmqInstalled, startCluster, type ClusterNode, type LocalCluster } from '../support/cluster.js';
import type { Gateway, WarrenProcess } from '../support/processes.js';
import { testStack, type TestStack } from '../support/stack.js';

/**
 * warren on a real 3-node RabbitMQ cluster on this machine (its own nodes, ports and data, never
 * the shared broker): quorum queues live on all three nodes, and losing the node the gateway and
 * worker are connected to, mid-load, loses no accepted task; submits come back within seconds.
 * The node is killed (SIGKILL), as a crash would: no goodbye to clients, no leadership handover.
 * (A graceful stop, as in a rolling restart, fails over the same way and no slower.)
 */
const CLIENTS = 4;
/** Tasks accepted before the node is stopped, and at least as many again after. */
const TASKS_PER_PHASE = 150;
const LOAD_DEADLINE_MS = 45_000;
/** "Within seconds": the longest stretch in which no submit was accepted. */
const MAX_OUTAGE_MS = 15_000;

let cluster: LocalCluster | undefined;
let stack: TestStack | undefined;
let gateway: Gateway;
let worker: WarrenProcess;
const clusterLog: string[] = [];

beforeAll(async () => {
  if (!rabbitmqInstalled) return;
  cluster = await startCluster(3, (msg) => clusterLog.push(msg));
  stack = testStack('cluster', { AMQP_URL: cluster.urls.join(',') }, { ownBroker: true });
  [gateway, worker] = await Promise.all([stack.gateway(), stack.worker()]);
}, 100_000);

afterAll(async () => {
  await stack?.stop();
  await cluster?.stop();
}, 90_000);

interface QueueInfo {
  name: string;
  type: string;
  leader?: string;
  members?: string[];
}

async function prefixQueues(node: ClusterNode): Promise<QueueInfo[]> {
  const queues = await cluster!.management<QueueInfo[]>(node, '/api/queues/%2F?columns=name,type,leader,members');
  return queues.filter((queue) => queue.name.startsWith(`${stack!.prefix}.`));
}

/** The node a process's latest 'broker connected' log line names. */
function connectedNode(process: WarrenProcess): ClusterNode | undefined {
  const url = String(process.logs.filter((line) => line.msg === 'broker connected').at(-1)?.url ?? '');
  return cluster!.nodes.find((node) => url.endsWith(`:${node.port}`));
}

describe.skipIf(!rabbitmqInstalled)('a 3-node RabbitMQ cluster', () => {
  it('holds every queue of warren on all three nodes: quorum queues, and the revocations stream', async () => {
    const all = cluster!.nodes.map((node) => node.name).sort();
    const deadline = Date.now() + 20_000;
    let queues = await prefixQueues(cluster!.nodes[0]!);
    while (!queues.every((queue) => queue.members?.length === 3) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      queues = await prefixQueues(cluster!.nodes[0]!);
    }
    expect(queues.map((queue) => queue.name)).toEqual(
      expect.arrayContaining([`${stack!.prefix}.tasks.echo`, `${stack!.prefix}.results`, `${stack!.prefix}.dead-letters`, `${stack!.prefix}.revocations`]),
    );
    for (const queue of queues) {
      expect({ queue: queue.name, type: queue.type }).toEqual({ queue: queue.name, type: queue.name === `${stack!.prefix}.revocations` ? 'stream' : 'quorum' });
      expect({ queue: queue.name, members: [...(queue.members ?? [])].sort() }).toEqual({ queue: queue.name, members: all });
    }
  });

  it('loses no accepted task when the node the gateway and worker use dies mid-load, and submits fail over within seconds', async () => {
    const target = connectedNode(gateway);
    expect(target, 'the gateway names the node it is connected to').toBeDefined();
    const workerWasOn = connectedNode(worker)?.name ?? null;
    const echoLeader = (await prefixQueues(target!)).find((queue) => queue.name === `${stack!.prefix}.tasks.echo`)?.leader;

    const accepted: string[] = [];
    const unexpected: string[] = [];
    let refused = 0;
    let acceptedBeforeStop = 0;
    let lastAcceptAt = Date.now();
    let longestOutageMs = 0;
    let stopping: Promise<void> | undefined;
    let stopped = false;
    const loadStarted = Date.now();

    const done = (): boolean => Date.now() - loadStarted > LOAD_DEADLINE_MS || (stopped && accepted.length - acceptedBeforeStop >= TASKS_PER_PHASE);
    const client = async (n: number): Promise<void> => {
      for (let i = 0; !done(); i += 1) {
        let response: Response;
        try {
          response = await fetch(`${gateway.url}/uploader`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ processor: 'echo', item_a: `client ${n} task ${i}` }),
            // A submit waits at most PUBLISH_TIMEOUT_MS (5 s) for the broker: far longer is a hang.
            signal: AbortSignal.timeout(15_000),
          });
        } catch (err) {
          unexpected.push(`client ${n}: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
        if (response.status === 202) {
          accepted.push(((await response.json()) as Submitted).task_id);
          const now = Date.now();
          longestOutageMs = Math.max(longestOutageMs, now - lastAcceptAt);
          lastAcceptAt = now;
          if (!stopping && accepted.length >= TASKS_PER_PHASE) {
            acceptedBeforeStop = accepted.length;
            stopping = target!.kill().then(() => void (stopped = true));
          }
        } else if (response.status === 503) {
          refused += 1;
          await response.body?.cancel();
          // A client honours Retry-After; a short pause keeps the refusals countable.
          await new Promise((resolve) => setTimeout(resolve, 100));
        } else {
          unexpected.push(`client ${n}: ${response.status} ${await response.text()}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
    await stopping;

    // Every accepted task, checked by the gateway that accepted it (8 polls at a time).
    const statuses = new Map<string, string>();
    const pending = [...accepted];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let id = pending.pop(); id; id = pending.pop()) {
          statuses.set(
            id,
            await waitForTerminal(gateway.url, id, 30_000, 100).then(
              (s) => s.status,
              (err: Error) => `not terminal: ${err.message}`,
            ),
          );
        }
      }),
    );
    const notSucceeded = [...statuses].filter(([, status]) => status !== 'SUCCESS');
    const report = {
      accepted: accepted.length,
      accepted_after_stop: accepted.length - acceptedBeforeStop,
      lost: notSucceeded.length,
      refused_503: refused,
      longest_submit_outage_ms: longestOutageMs,
      stopped_node: target!.name,
      echo_queue_leader: echoLeader,
      worker_was_on: workerWasOn,
      gateway_now_on: connectedNode(gateway)?.name ?? null,
      worker_now_on: connectedNode(worker)?.name ?? null,
      load_ms: Date.now() - loadStarted,
    };
    console.log(JSON.stringify({ cluster_failover: report }));

    expect(unexpected).toEqual([]);
    expect(stopped, 'the node was killed mid-load').toBe(true);
    expect(report.accepted_after_stop).toBeGreaterThanOrEqual(TASKS_PER_PHASE);
    expect(notSucceeded).toEqual([]);
    expect(longestOutageMs).toBeLessThan(MAX_OUTAGE_MS);
    expect(report.gateway_now_on).not.toBe(target!.name);
    expect(report.worker_now_on).not.toBe(target!.name);
    expect([gateway.child.exitCode, worker.child.exitCode]).toEqual([null, null]);
  }, 100_000);
});
