/**
 * `npm start`: the whole system on one machine. Makes sure a broker answers (starting our own
 * local node if none does), runs the gateway and a worker, and on Ctrl-C / SIGTERM lets both shut
 * down gracefully before stopping the broker we started. If either dies, everything stops.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureBroker, type BrokerHandle } from './ensure-broker.js';
import { ConfigError, loadConfig, type Config } from '../shared/index.js';

const log = (msg: string) => console.log(`[warren] ${msg}`);

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`[warren] bad configuration: ${err.message}`);
  process.exit(1);
}

let stopping = false;
const interrupted = new AbortController();
const children: { name: string; kill: (signal: NodeJS.Signals) => void }[] = [];
// Ctrl-C reaches the children from the terminal too; forwarding also covers `kill <pid>` and
// process managers, and the children ignore a repeated signal.
const onSignal = (signal: NodeJS.Signals) => {
  stopping = true;
  interrupted.abort();
  for (const child of children) child.kill(signal === 'SIGHUP' ? 'SIGTERM' : signal);
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

let broker: BrokerHandle;
try {
  broker = await ensureBroker({ amqpUrl: config.amqpUrls[0]!, dataDir: config.dataDir, log, signal: interrupted.signal });
} catch (err) {
  console.error(`[warren] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
if (stopping) {
  await broker.stop();
  process.exit(1);
}

// Resolved here, not by name in the child, so `--import` works whatever the working directory.
const tsx = import.meta.resolve('tsx');
let failed = false;
// A person at a terminal reads the logs; anything else (a pipe, a file, a log shipper) gets JSON.
const childEnv = process.stdout.isTTY && !process.env.LOG_FORMAT ? { ...process.env, LOG_FORMAT: 'pretty' } : process.env;

const exits = ['gateway', 'worker'].map((name) => {
  const child = spawn(process.execPath, ['--import', tsx, fileURLToPath(new URL(`../${name}/main.ts`, import.meta.url))], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: childEnv,
  });
  children.push({
    name,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  });
  return new Promise<void>((resolve) => {
    const ended = (how: string, ok: boolean) => {
      if (!ok) failed = true;
      if (!stopping) {
        stopping = true;
        failed = true;
        log(`${name} ${how} unexpectedly; stopping everything`);
        for (const other of children) if (other.name !== name) other.kill('SIGTERM');
      }
      resolve();
    };
    child.once('error', (err) => ended(`could not start (${err.message})`, false));
    child.once('exit', (code, signal) => ended(`exited (${signal ?? `code ${code}`})`, code === 0));
  });
});

const shownHost = ['0.0.0.0', '::'].includes(config.host) ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
const shownPort = config.port === 0 ? '<the port the gateway logs>' : String(config.port);
log(`upload form: http://${shownHost}:${shownPort}${config.basePath}/upload`);

await Promise.all(exits);
await broker.stop();
process.exit(failed ? 1 : 0);
