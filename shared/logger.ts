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
  if (format === 'json') return pino({ level, base });
  return pino({
    level,
    base,
    transport: {
      target: 'pino-pretty',
      options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,component', messageFormat: '{component}: {msg}' },
    },
  });
}
