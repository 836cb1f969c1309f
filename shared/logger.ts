import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger } from 'pino';

/** JSON logs on stdout; `component` says which part of warren wrote the line. */
export function createLogger(component: string, level: LogLevel): Logger {
  return pino({ level, base: { component, pid: process.pid } });
}
