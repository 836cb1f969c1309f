import { pino, type Logger } from 'pino';
import type { LogFormat, LogLevel } from './config.js';

export type { Logger } from 'pino';

/**
 * Logs on stdout; `component` says which part of warren wrote the line. JSON is the default
 * because machines (log shippers, the tests) read it; `pretty` is for a person at a terminal and
 * formats in a worker thread (pino-pretty as a transport), so the event loop never pays for it.
 */
export function createLogger(component: string, level: LogLevel, format: LogFormat = 'json'): Logger {
  const base = { component, pid: process.pid };
  // Asynchronous: a line is handed to the kernel in the background, together with the lines logged
  // meanwhile, so a request never waits for a write (nor for a slow reader of a pipe, as under a
  // container runtime). Lines go out in 4 KiB batches or every 50 ms, whichever comes first: one
  // write per access-log line had cost the gateway ~5 % of its CPU under load. pino flushes what
  // is left when the process exits, a crash included; only a SIGKILL or a power cut can lose the
  // last 50 ms of lines.
  if (format === 'json') return pino({ level, base }, pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 50 }));
  return pino({
    level,
    base,
    transport: {
      target: 'pino-pretty',
      options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,component', messageFormat: '{component}: {msg}' },
    },
  });
}
