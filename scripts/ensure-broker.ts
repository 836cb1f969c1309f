/**
 * Makes sure a RabbitMQ broker answers at the AMQP URL, for `npm start`. Something already
 * listening is used as is; otherwise, for a local URL, we run our own node on that port with
 * warren's configuration (rabbitmq/), its data and logs under DATA_DIR, and stop exactly that node
 * afterwards. Installing RabbitMQ is attempted only as root on Debian/Ubuntu.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export interface EnsureBrokerOptions {
  amqpUrl: string;
  dataDir: string;
  log: (msg: string) => void;
  /** Aborting while our node boots stops it and rejects (Ctrl-C during start-up). */
  signal?: AbortSignal;
}

export interface BrokerHandle {
  /** True when we started a node (and `stop` stops it); false when we use what was there. */
  started: boolean;
  stop(): Promise<void>;
}

export interface NodeHandle extends BrokerHandle {
  nodeName: string;
  managementPort: number;
  /** Kill the node outright (SIGKILL to its process group), as a crash or power loss would. */
  kill(): Promise<void>;
}

const CONFIG_DIR = fileURLToPath(new URL('../rabbitmq/', import.meta.url));
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);
const BOOT_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 60_000;
const noop = async (): Promise<void> => {};

export async function ensureBroker({ amqpUrl, dataDir, log, signal }: EnsureBrokerOptions): Promise<BrokerHandle> {
  const url = new URL(amqpUrl);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';
  const port = url.port ? Number(url.port) : url.protocol === 'amqps:' ? 5671 : 5672;
  const where = `${host}:${port}`;

  if (await answers(host, port)) {
    log(`RabbitMQ: using the broker that answers at ${where}`);
    return { started: false, stop: noop };
  }
  if (!LOCAL_HOSTS.has(host)) {
    log(`RabbitMQ: nothing answers at ${where} yet; it is not local, so the gateway and worker will keep retrying it`);
    return { started: false, stop: noop };
  }
  if (url.protocol === 'amqps:') throw new Error(`Nothing answers at ${where}, and warren only starts a local broker for amqp:// URLs`);
  if (port + 20_000 > 65_535) throw new Error(`AMQP port ${port} is too high for a local node: its distribution port would be ${port + 20_000}`);

  let binaries = findRabbitmq();
  if (!binaries && (await installWithApt(log))) {
    binaries = findRabbitmq();
    if (binaries && (await answers(host, port))) {
      // The package started its system service on our port. We stop it rather than use it: its
      // defaults (consumer_timeout 30 min) would cut warren's long runs short.
      log(`RabbitMQ: the package started its own service on ${where}; stopping it so warren's node (with warren's config) can run`);
      log('RabbitMQ: it will start again at boot unless you run: systemctl disable rabbitmq-server');
      await run('service', ['rabbitmq-server', 'stop']);
    }
  }
  if (!binaries) {
    throw new Error(
      [
        `No broker answers at ${where} and RabbitMQ is not installed. Get a broker in one of these ways:`,
        '  - install RabbitMQ (Debian/Ubuntu: sudo apt-get install rabbitmq-server); `npm start` then runs its own node',
        '  - run the compose broker: docker compose up rabbitmq',
        '  - use an existing broker: set AMQP_URL=amqp://user:password@host:5672',
      ].join('\n'),
    );
  }
  return startNode({ ...binaries, host, port, base: path.join(dataDir, 'rabbitmq'), log, signal });
}

export interface StartNodeOptions {
  server: string;
  ctl: string;
  host: string;
  /** AMQP port; management listens on +10000, Prometheus on +10020, distribution on +20000. */
  port: number;
  /** The node's own directory: Mnesia data, logs, conf.d, PID file. */
  base: string;
  /** Default `warren-<port>@localhost`; several nodes of one cluster need names of their own. */
  nodeName?: string;
  log: (msg: string) => void;
  signal?: AbortSignal | undefined;
  /**
   * Plugins to enable instead of warren's (rabbitmq/enabled_plugins: management and Prometheus).
   * Tests that stop and restart a node pass []: with either HTTP plugin a graceful stop takes
   * ~6 s instead of ~1 s, and they need neither.
   */
  plugins?: readonly string[];
}

/** Runs one RabbitMQ node with warren's configuration as a child of ours, and waits until it accepts AMQP connections. */
export async function startNode({
  server,
  ctl,
  host,
  port,
  base,
  nodeName = `warren-${port}@localhost`,
  log,
  signal,
  plugins,
}: StartNodeOptions): Promise<NodeHandle> {
  const logDir = path.join(base, 'log');
  const confDir = path.join(base, 'conf.d');
  const pidFile = path.join(base, `${nodeName}.pid`);
  const startupLog = path.join(logDir, `${nodeName}.startup.log`);
  const nodeLog = path.join(logDir, `${nodeName}.log`);
  mkdirSync(logDir, { recursive: true });
  mkdirSync(confDir, { recursive: true });
  let pluginsFile = path.join(CONFIG_DIR, 'enabled_plugins');
  if (plugins) {
    if (!plugins.every((name) => /^[a-z][a-z0-9_]*$/.test(name))) throw new Error(`not RabbitMQ plugin names: ${plugins.join(', ')}`);
    pluginsFile = path.join(base, 'enabled_plugins');
    writeFileSync(pluginsFile, `[${plugins.join(',')}].\n`);
  }

  const bindIp = host === '::1' ? '::1' : '127.0.0.1';
  const managementPort = port + 10_000;
  const listenerArgs = (app: string, p: number) => `-${app} tcp_config [{port,${p}},{ip,"127.0.0.1"}]`;
  const env = {
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_PORT: String(port),
    // Loopback only: rabbitmq.conf lets guest log in from anywhere (for compose).
    RABBITMQ_NODE_IP_ADDRESS: bindIp,
    RABBITMQ_DIST_PORT: String(port + 20_000),
    // RabbitMQ 3.10 takes the file name with its .conf extension (verified).
    RABBITMQ_CONFIG_FILE: path.join(CONFIG_DIR, 'rabbitmq.conf'),
    // Our own conf.d, so a system broker's /etc/rabbitmq/conf.d drop-ins never apply to this node.
    RABBITMQ_CONFIG_FILES: confDir,
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(CONFIG_DIR, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: pluginsFile,
    RABBITMQ_MNESIA_BASE: path.join(base, 'mnesia'),
    RABBITMQ_LOG_BASE: logDir,
    RABBITMQ_PID_FILE: pidFile,
    // Management and Prometheus moved off their defaults so that they never clash with another node.
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: `${listenerArgs('rabbitmq_management', managementPort)} ${listenerArgs('rabbitmq_prometheus', port + 10_020)}`,
  };

  log(`RabbitMQ: nothing answers at ${host}:${port}; starting node ${nodeName} (${server}), data in ${base}`);
  const out = openSync(startupLog, 'a');
  // `env` adds the variables to the inherited environment. Foreground (not -detached) so that the
  // PID is ours; its own process group so that Ctrl-C in the terminal reaches the gateway and worker
  // first and the broker only when we stop it, after them.
  const child = spawn('env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), server], {
    cwd: base, // where an erl_crash.dump lands
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  let stopping = false;
  let failedToSpawn: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      failedToSpawn = error;
      resolve();
    });
    child.once('exit', (code, sig) => {
      if (!stopping) log(`RabbitMQ: node ${nodeName} exited (${sig ?? `code ${code}`}); see ${nodeLog}`);
      resolve();
    });
  });
  const running = () => failedToSpawn === undefined && child.exitCode === null && child.signalCode === null;

  // The start script, the Erlang VM and its helpers share the process group we created: signalling
  // and probing the group reaches exactly our node, even if the script itself died first.
  const group = -(child.pid ?? 0);
  const signalGroup = (sig: NodeJS.Signals | 0): boolean => {
    try {
      return child.pid !== undefined && process.kill(group, sig);
    } catch {
      return false; // ESRCH: nothing left
    }
  };
  const groupAlive = () => signalGroup(0);
  const waitGone = async (ms: number) => {
    for (const end = Date.now() + ms; groupAlive() && Date.now() < end;) await delay(200);
    return !groupAlive();
  };
  let stopped: Promise<void> | undefined;
  const stop = (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> =>
    (stopped ??= (async () => {
      stopping = true;
      if (!groupAlive()) return;
      // The start script traps SIGTERM and stops the Erlang VM gracefully (the VM handles it too).
      signalGroup(signal);
      if (!(await waitGone(STOP_TIMEOUT_MS))) {
        log(`RabbitMQ: node ${nodeName} did not stop within ${STOP_TIMEOUT_MS / 1000} s; killing it`);
        signalGroup('SIGKILL');
        await waitGone(10_000);
      }
      await exited;
      log(`RabbitMQ: node ${nodeName} stopped`);
    })());

  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  while (!(await answers(bindIp, port))) {
    const reason = signal?.aborted
      ? 'start-up was interrupted'
      : !running()
        ? `the node exited (${failedToSpawn?.message ?? child.signalCode ?? `code ${child.exitCode}`}) before accepting connections`
        : Date.now() > deadline
          ? `the node did not accept connections within ${BOOT_TIMEOUT_MS / 1000} s`
          : undefined;
    if (reason) {
      await stop();
      const details = signal?.aborted ? '' : `\n${tail(startupLog)}`;
      throw new Error(`RabbitMQ node ${nodeName} on port ${port}: ${reason}. Logs: ${startupLog} and ${nodeLog}${details}`);
    }
    await delay(250);
  }
  log(
    `RabbitMQ: node ${nodeName} is up on ${host}:${port} (management http://127.0.0.1:${managementPort}, logs ${logDir}; ` +
      `inspect with: ${ctl} -n ${nodeName} status)`,
  );
  return { started: true, stop: () => stop(), kill: () => stop('SIGKILL'), nodeName, managementPort };
}

/** True when a TCP connection to host:port succeeds within a second. */
export function answers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Debian/Ubuntu's /usr/sbin/rabbitmq-server is a wrapper that switches root to the rabbitmq user
 * (who cannot write a DATA_DIR under the repo) and refuses everyone else, so we call the script
 * it wraps. The node then runs as us, with our ~/.erlang.cookie, which the rabbitmqctl next to it
 * (run as the same user) shares.
 */
export function findRabbitmq(): { server: string; ctl: string } | undefined {
  const debian = '/usr/lib/rabbitmq/bin';
  if (existsSync(path.join(debian, 'rabbitmq-server'))) {
    return { server: path.join(debian, 'rabbitmq-server'), ctl: path.join(debian, 'rabbitmqctl') };
  }
  const server = onPath('rabbitmq-server');
  return server ? { server, ctl: path.join(path.dirname(server), 'rabbitmqctl') } : undefined;
}

async function installWithApt(log: (msg: string) => void): Promise<boolean> {
  if (process.getuid?.() !== 0 || !existsSync('/etc/debian_version') || !onPath('apt-get')) return false;
  log('RabbitMQ is not installed; installing it: apt-get update && apt-get install -y rabbitmq-server');
  await run('apt-get', ['update']);
  await run('env', ['DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', 'rabbitmq-server']);
  return true;
}

function onPath(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { encoding: 'utf8' });
  return found.status === 0 && found.stdout.trim() ? found.stdout.trim() : undefined;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} failed with code ${code}`))));
  });
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
