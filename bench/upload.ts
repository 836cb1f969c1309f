import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BUILTIN_DESCRIPTORS } from '../shared/index.js';
import { deletePrefix, TEST_AMQP_URL, uniquePrefix } from '../test/support/broker.js';
import { waitForTerminal } from '../test/support/client.js';
import { startGateway, startWorker, type WarrenProcess } from '../test/support/processes.js';
import { cpuSeconds, MiB, resetHighWaterMark, rssSampler, statusBytes, toMiB } from './support/proc.js';
import { startTogether } from './support/start.js';

/**
 * One large file through `POST {base}/uploader` of a real gateway process: throughput to the 202,
 * and how much the gateway's resident memory grows while it streams the file to DATA_DIR (the
 * target is at most 64 MiB for 1 GiB). The file is ASCII text, generated as it is sent — neither
 * side ever holds it — and goes to bench/processors/sink.mjs, which a worker runs to confirm the
 * stored size.   npm run bench -- upload --mib 1024
 */
const GROWTH_TARGET_MIB = 64;
const SINK_DIR = path.resolve('bench', 'processors');

export async function runUploadBench({ mib }: { mib: number }): Promise<Record<string, unknown>> {
  if (!Number.isInteger(mib) || mib < 1 || mib > 16 * 1024) throw new Error('--mib must be an integer from 1 to 16384');
  const bytes = mib * MiB;
  const prefix = uniquePrefix();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-bench-upload-'));
  // 2 GiB by default, more if the file asks for it: the limit must not be what is measured.
  const limit = String(Math.max(2048 * MiB, bytes + MiB));
  const env = {
    AMQP_URL: TEST_AMQP_URL,
    AMQP_PREFIX: prefix,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    PROCESSORS_DIR: SINK_DIR,
    DEFAULT_PROCESSOR: 'sink',
    WORKER_PROCESSORS: 'sink',
    MAX_UPLOAD_BYTES: limit,
    MAX_UPLOAD_TOTAL_BYTES: limit,
  };
  const processes: WarrenProcess[] = [];
  try {
    const [gateway] = await startTogether(processes, startGateway(env), startWorker(env));
    const pid = gateway.child.pid!;
    const startRss = statusBytes(pid, 'VmRSS');

    // Warm-up: the first upload loads multer, busboy and file-type and compiles their hot paths;
    // that one-time cost is not what a large file costs, so the baseline is taken after it.
    const warm = await upload(gateway.url, MiB);
    if (warm.status !== 202) throw new Error(`warm-up upload answered ${warm.status}: ${warm.body}`);
    await waitForTerminal(gateway.url, (JSON.parse(warm.body) as { task_id: string }).task_id, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500));

    const baseline = statusBytes(pid, 'VmRSS');
    const hwmReset = resetHighWaterMark(pid);
    const cpuBefore = cpuSeconds(pid);
    const gatewaySamples = rssSampler(pid);
    const clientSamples = rssSampler(process.pid);
    const began = performance.now();
    const answer = await upload(gateway.url, bytes);
    const seconds = (performance.now() - began) / 1000;
    const gatewayPeak = gatewaySamples.stop();
    const clientPeak = clientSamples.stop();
    const hwm = statusBytes(pid, 'VmHWM');
    const cpu = cpuSeconds(pid) - cpuBefore;
    const afterRss = statusBytes(pid, 'VmRSS');
    if (answer.status !== 202) throw new Error(`upload answered ${answer.status}: ${answer.body}`);

    // The worker stats the stored file: the gateway kept every byte.
    const { task_id } = JSON.parse(answer.body) as { task_id: string };
    const status = await waitForTerminal(gateway.url, task_id, 60_000, 100);
    const result = (await (await fetch(`${gateway.url}/task_result/${task_id}`)).json()) as { bytes?: number };
    const peak = Math.max(gatewayPeak.peak, hwmReset ? hwm : 0);
    const growth = peak - baseline;
    return {
      bench: 'upload',
      mib,
      seconds: Math.round(seconds * 100) / 100,
      mib_per_s: Math.round(mib / seconds),
      mb_per_s: Math.round(bytes / 1e6 / seconds),
      stored: status.status === 'SUCCESS' && result.bytes === bytes ? 'ok' : `${status.status}, ${String(result.bytes)} bytes`,
      gateway_rss_mib: {
        at_start: toMiB(startRss),
        baseline: toMiB(baseline),
        peak_sampled: toMiB(gatewayPeak.peak),
        hwm: hwmReset ? toMiB(hwm) : 'not resettable',
        after: toMiB(afterRss),
        growth: toMiB(growth),
        samples: gatewayPeak.samples,
      },
      growth_within_target: growth <= GROWTH_TARGET_MIB * MiB,
      gateway_cpu_s: Math.round(cpu * 100) / 100,
      client_rss_peak_mib: toMiB(clientPeak.peak),
    };
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await deletePrefix(prefix, [...BUILTIN_DESCRIPTORS.map((p) => p.name), 'sink']);
    // The uploaded file lives under DATA_DIR/uploads: removing the directory deletes it.
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** One 64 KiB block of ASCII lines (sniffs as text/plain), sent again and again. */
const LINE = 'warren upload benchmark: the quick brown fox jumps over the lazy dog 0123456789\n';
const BLOCK = Buffer.from(LINE.repeat(Math.ceil((64 * 1024) / LINE.length)).slice(0, 64 * 1024), 'latin1');

/**
 * A multipart/form-data POST whose file part is `bytes` of generated text, written with
 * backpressure (pipeline), so the client holds one block at a time. Content-Length is exact, as a
 * browser would send it.
 */
async function upload(baseUrl: string, bytes: number): Promise<{ status: number; body: string }> {
  const boundary = `----warren-bench-${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="processor"\r\n\r\nsink\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  function* parts(): Generator<Buffer> {
    yield head;
    for (let left = bytes; left > 0; left -= BLOCK.length) yield left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
    yield tail;
  }
  const request = http.request(`${baseUrl}/uploader`, {
    method: 'POST',
    headers: {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(head.length + bytes + tail.length),
      accept: 'application/json',
    },
  });
  const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
  // An early answer (413, 415) may cut the upload short; that answer is what counts then.
  const sent = pipeline(Readable.from(parts(), { objectMode: false }), request).catch((error: unknown) => error);
  const result = await answered;
  await sent;
  return result;
}
