import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findRabbitmq, startNode, type NodeHandle } from '../../scripts/ensure-broker.js';
import { freeBrokerPorts } from './ports.js';

/**
 * A real RabbitMQ cluster on this machine for one test file: `size` nodes started the way
 * `npm start` starts its own node (scripts/ensure-broker.ts: warren's rabbitmq/ configuration,
 * loopback only), each with its own name, ports and data dir under one temp dir, joined with
 * rabbitmqctl. The nodes run as us and share our ~/.erlang.cookie; the machine's own broker, its
 * node and its cookie are never involved. `stop()` stops exactly the nodes started here, by their
 * process groups, and removes the temp dir.
 */
export interface ClusterNode {
  name: string;
  port: number;
  url: string;
  managementPort: number;
  /** Stops this node (graceful, then killed); idempotent. */
  stop(): Promise<void>;
  /** Kills this node at once, as a crash would. */
  kill(): Promise<void>;
}

export interface LocalCluster {
  nodes: ClusterNode[];
  /** Every node's AMQP URL, in node order: what AMQP_URL takes, comma-separated. */
  urls: string[];
  ctl(node: ClusterNode, args: string[]): Promise<string>;
  /** GET a management API path (e.g. `/api/queues/%2F/name`) from a node that is up. */
  management<T>(node: ClusterNode, apiPath: string): Promise<T>;
  stop(): Promise<void>;
}

const run = promisify(execFile);
const JOIN_TIMEOUT_MS = 60_000;

/**
 * Nodes that find no ~/.erlang.cookie each write a random one: booted at once, they could end up
 * with different cookies and never cluster. So write it first, as the first node would have.
 */
function ensureCookie(): void {
  const file = path.join(os.homedir(), '.erlang.cookie');
  if (!fs.existsSync(file)) fs.writeFileSync(file, randomBytes(15).toString('hex').toUpperCase(), { mode: 0o400, flag: 'wx' });
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, message: string): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await condition());) {
    if (Date.now() > deadline) throw new Error(`${message} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export const rabbitmqInstalled = findRabbitmq() !== undefined;

export async function startCluster(size = 3, log: (msg: string) => void = () => {}): Promise<LocalCluster> {
  const binaries = findRabbitmq();
  if (!binaries) throw new Error('RabbitMQ is not installed (apt-get install rabbitmq-server)');
  ensureCookie();
  const id = randomBytes(3).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `warren-cluster-${id}-`));
  const ports = await freeBrokerPorts(size);
  const handles: NodeHandle[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(handles.map((handle) => handle.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    // Booting an Erlang node takes seconds of CPU; booting all of them at once overlaps the waits.
    const booted = await Promise.allSettled(
      ports.map((port, i) =>
        startNode({ ...binaries, host: '127.0.0.1', port, base: path.join(dir, `node-${i + 1}`), nodeName: `warren-c${id}-${i + 1}@localhost`, log }),
      ),
    );
    for (const result of booted) if (result.status === 'fulfilled') handles.push(result.value);
    const failed = booted.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;

    const ctl = async (nodeName: string, args: string[]): Promise<string> =>
      (await run(binaries.ctl, ['-n', nodeName, ...args], { timeout: JOIN_TIMEOUT_MS, encoding: 'utf8' })).stdout;
    // Joins one at a time (Mnesia does not like two nodes joining the same cluster at once); the
    // rest in parallel, since every rabbitmqctl call boots an Erlang VM of its own.
    const [seed, ...others] = handles.map((handle) => handle.nodeName);
    await Promise.all(others.map((nodeName) => ctl(nodeName, ['stop_app'])));
    for (const nodeName of others) await ctl(nodeName, ['join_cluster', seed!]);
    await Promise.all(others.map((nodeName) => ctl(nodeName, ['start_app'])));

    const nodes = handles.map<ClusterNode>((handle, i) => ({
      name: handle.nodeName,
      port: ports[i]!,
      url: `amqp://guest:guest@127.0.0.1:${ports[i]}`,
      managementPort: handle.managementPort,
      stop: () => handle.stop(),
      kill: () => handle.kill(),
    }));
    const cluster: LocalCluster = {
      nodes,
      urls: nodes.map((node) => node.url),
      ctl: (node, args) => ctl(node.name, args),
      async management<T>(node: ClusterNode, apiPath: string): Promise<T> {
        const response = await fetch(`http://127.0.0.1:${node.managementPort}${apiPath}`, {
          headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
          signal: AbortSignal.timeout(10_000),
        });
        if (!response.ok) throw new Error(`management ${apiPath} on ${node.name} answered ${response.status}: ${await response.text()}`);
        return (await response.json()) as T;
      },
      stop: stopAll,
    };
    await waitFor(
      async () => {
        const running = await cluster.management<{ name: string; running: boolean }[]>(nodes[0]!, '/api/nodes').catch(() => []);
        return running.filter((node) => node.running).length === size;
      },
      JOIN_TIMEOUT_MS,
      `the ${size} nodes did not all show as running in the cluster`,
    );
    log(`RabbitMQ cluster ${id}: ${nodes.map((node) => node.name).join(', ')} running in ${dir}`);
    return cluster;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
