import fs from 'node:fs';
import path from 'node:path';
import { round } from './stats.js';

/**
 * Where a process's CPU went, from the `.cpuprofile` files `node --cpu-prof` writes on exit: self
 * time per function and per package, counted only over a time window (the measured run), so start-up
 * (tsx compiling every module) and shutdown do not drown the steady state. V8's profile clock and
 * `process.hrtime` are both CLOCK_MONOTONIC in this Node, so the window is given in hrtime µs.
 * The sampler runs on wall time: a thread blocked in a synchronous call (better-sqlite3's fsync) or
 * waiting for a CPU on a busy machine is charged to the function it is in. /proc CPU time
 * (bench/stats.ts cpuMeter) is the measure of CPU; this is the measure of where the event loop is held.
 */
/** file:///…/warren/ — frames under it are warren's own code. */
const ROOT = new URL('../', import.meta.url).href;

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Window {
  fromUs: number;
  toUs: number;
}

export interface SelfTimes {
  /** Sampled ms inside the window, idle included. */
  totalMs: number;
  idleMs: number;
  byFunction: Map<string, number>;
  byPackage: Map<string, number>;
}

/**
 * Main-thread profile files in `dir` by the PID in their name (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile).
 * Thread 0 is the main thread; the others are worker threads (tsx's module-loader hooks under
 * `--import tsx`, busy only while modules load).
 */
export function profilesByPid(dir: string): Map<number, string> {
  const found = new Map<number, string>();
  for (const file of fs.readdirSync(dir)) {
    const match = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\.\d+\.cpuprofile$/.exec(file);
    if (match?.[2] === '0') found.set(Number(match[1]), path.join(dir, file));
  }
  return found;
}

/** Self time of every function and package in the profiles (added up: the gateways are one role). */
export function selfTimes(files: readonly string[], window: Window): SelfTimes {
  const totals: SelfTimes = { totalMs: 0, idleMs: 0, byFunction: new Map(), byPackage: new Map() };
  for (const file of files) {
    const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
    const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    let at = profile.startTime;
    for (let i = 0; i < profile.samples.length; i += 1) {
      at += profile.timeDeltas[i] ?? 0;
      if (at < window.fromUs || at > window.toUs) continue;
      // The interval up to the next sample is spent where this one was taken (as DevTools counts).
      const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
      const frame = frames.get(profile.samples[i]!);
      if (!frame) continue;
      totals.totalMs += ms;
      if (frame.functionName === '(idle)') {
        totals.idleMs += ms;
        continue;
      }
      // Line numbers of warren's own files are those of tsx's transpiled output, not the source: left out.
      const line = frame.url && !frame.url.startsWith(ROOT) ? `:${frame.lineNumber + 1}` : '';
      const key = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}${line}`.trim();
      add(totals.byFunction, key, ms);
      add(totals.byPackage, packageOf(frame), ms);
    }
  }
  return totals;
}

/** The top self-time rows, as shares of the busy (non-idle) time. */
export function topRows(times: SelfTimes, which: 'byFunction' | 'byPackage', limit: number): Record<string, string | number>[] {
  const busy = times.totalMs - times.idleMs;
  return [...times[which]]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, ms]) => ({ [which === 'byFunction' ? 'function' : 'package']: name, self_ms: round(ms, 0), busy_pct: round((100 * ms) / busy, 1) }));
}

function add(map: Map<string, number>, key: string, ms: number): void {
  map.set(key, (map.get(key) ?? 0) + ms);
}

function shortUrl(url: string): string {
  if (!url) return '';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) return url.slice(modules + '/node_modules/'.length);
  return url.startsWith(ROOT) ? url.slice(ROOT.length) : url.replace(/^file:\/\//, '');
}

/**
 * What a frame belongs to: an npm package, warren's own code by top folder, Node's internals, or
 * V8 itself (GC, the interpreter, native builtins without a script).
 */
function packageOf({ functionName, url }: { functionName: string; url: string }): string {
  if (!url)
    return functionName === '(garbage collector)'
      ? '(garbage collector)'
      : functionName === '(program)'
        ? '(program: V8/native, no JS frame)'
        : '(native builtins)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/').slice(0, 2).join('/')}`;
  if (url.startsWith(ROOT)) return `warren ${url.slice(ROOT.length).split('/')[0]}/`;
  return url;
}
