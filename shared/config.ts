import path from 'node:path';
import { parseAdminKeys, parseApiKeys, type ApiKey } from './api-keys.js';
import { parseFtpDestinations, parseS3Destinations, type FtpDestination, type S3Destination } from './destinations.js';
import { ConfigError } from './errors.js';
import { int, intList, onOff, uploadStore, webhookSecret, type Env, type UploadStoreSetting } from './config-values.js';

export type { UploadStoreSetting } from './config-values.js';
import { parseProcessorConcurrency } from './processor-concurrency.js';
import { parsePublicUrl } from './public-url.js';
import { parseStoreUrl } from './store-url.js';
import { userinfoProblem } from './url-secrets.js';

/**
 * Every environment variable warren reads, parsed once into a typed object. A value that is
 * present but wrong stops the process with a message naming the variable: no silent fallbacks.
 */
export interface Config {
  /** AMQP_URL — broker URL; several, comma-separated, are tried in turn (default amqp://guest:guest@127.0.0.1:5672). */
  amqpUrls: string[];
  /** AMQP_PREFIX — prefix of every exchange and queue name, so several deployments or test runs share a broker (default warren). */
  amqpPrefix: string;
  /** HOST — address the gateway binds (default 127.0.0.1; use 0.0.0.0 in containers). */
  host: string;
  /** PORT — gateway HTTP port; 0 picks a free one and logs it (default 5000). */
  port: number;
  /** BASE_PATH — prefix of every HTTP route (default /prediction). */
  basePath: string;
  /** PUBLIC_URL — the gateway's root as browsers and clients reach it, `http(s)://host[:port][/path]`, when a reverse proxy stands in front; its origin is the only one a browser may send changes from, and it is the base of absolute links in delivered documents (webhook bodies, status.json) (default: none, the origin the request was addressed to; for a webhook, the one its submit was). See shared/public-url.ts. */
  publicUrl: string | undefined;
  /** DATA_DIR — the shared volume: store file, uploads, artifacts (default ./data). */
  dataDir: string;
  /** STORE_URL — `sqlite:<path>`, or `postgres://…` / `postgresql://…` for several gateways on one database (default sqlite:<DATA_DIR>/warren.db). Its password never appears in logs or errors. */
  storeUrl: string;
  /** STORE_POOL_SIZE — connections one process holds to a PostgreSQL store (default 10; unused with SQLite). */
  storePoolSize: number;
  /** STORE_TIMEOUT_MS — longest wait for a PostgreSQL connection or for the answer to one statement; past it the statement is cancelled and the call fails as store_unavailable (default 10000; unused with SQLite, which waits up to 10 s for its write lock). */
  storeTimeoutMs: number;
  /** LOG_LEVEL — fatal, error, warn, info, debug, trace or silent (default info). */
  logLevel: LogLevel;
  /** LOG_FORMAT — json (one object a line, for machines) or pretty (coloured, for a terminal) (default json). */
  logFormat: LogFormat;
  /** METRICS_PORT — port of a worker's Prometheus endpoint (GET /metrics); 0 turns it off (default 9464). The gateway serves /metrics on PORT. */
  metricsPort: number;
  /** METRICS_HOST — address a worker's metrics endpoint binds (default 127.0.0.1; use 0.0.0.0 in containers). */
  metricsHost: string;
  /** DEFAULT_PROCESSOR — processor used when a submission names none (default categorize, the original system's task). */
  defaultProcessor: string;
  /** PROCESSORS_DIR — a directory of your own processor modules, loaded by gateway and worker (default: none). */
  processorsDir: string | undefined;
  /** WORKER_PROCESSORS — comma-separated processors this worker serves (default: all known). */
  workerProcessors: string[] | 'all';
  /** OCR_THREADS — tesseract threads per worker process for the document processor (default: min(2, cores)). */
  ocrThreads: number | undefined;
  /** WORKER_CONCURRENCY — tasks one worker runs at once, per processor queue; also its prefetch (default 16). */
  workerConcurrency: number;
  /** PROCESSOR_CONCURRENCY — comma-separated `processor:n`: tasks of that processor one worker runs at once (its queue's prefetch), instead of the processor's own default (document, thumbnail: the cores; others: WORKER_CONCURRENCY); never above WORKER_CONCURRENCY (default: none). */
  processorConcurrency: ReadonlyMap<string, number>;
  /** MAX_IMAGE_PIXELS — largest image (width × height) the document and thumbnail processors decode, PDF-embedded images included; a larger one fails its task with image_too_large, checked from its header before decoding (default 100000000). */
  maxImagePixels: number;
  /** WORKER_MEMORY_BUDGET_MB — a worker's resident memory (RSS) budget: decoding a PDF page's images, the one decode no header bounds, is stopped when the worker passes it, and the task fails with memory_budget_exceeded (default: 3/4 of the memory the worker may use, its cgroup limit or else the machine's RAM). */
  workerMemoryBudgetMb: number | undefined;
  /** PUBLISH_TIMEOUT_MS — how long a submit waits for the broker's confirm before answering 503 (default 5000). */
  publishTimeoutMs: number;
  /** TASK_QUEUE_MAX_LENGTH — messages a processor queue holds before submits get 503; a quorum queue takes one more (default 100000). */
  taskQueueMaxLength: number;
  /** TASK_QUEUE_TTL_MS — how long a task may wait in its queue unstarted before it fails as expired (dead_lettered_expired); 0 = forever. Changing it for an existing queue needs the queue redeclared, like TASK_QUEUE_MAX_LENGTH (default 86400000, 24 h). */
  taskQueueTtlMs: number;
  /** RETRY_DELAYS_MS — backoff before each retry of a transient failure, comma-separated; the last repeats (default 1000,10000,60000,300000). */
  retryDelaysMs: number[];
  /** MAX_RESULT_BYTES — largest JSON result a task may return; a larger one fails the task as result_too_large (write large outputs as artifacts). Also bounds every message warren publishes, at this plus 1 MiB (default 8388608, 8 MiB; RabbitMQ's max_message_size is 128 MiB on 3.x, 16 MiB on 4.x). */
  maxResultBytes: number;
  /** TASK_MAX_ATTEMPTS — runs of a task before a transient failure is final; a processor may set its own (default 3). */
  taskMaxAttempts: number;
  /** DELIVERY_LIMIT — deliveries of one message before the quorum queue dead-letters it as poison (default 5). */
  deliveryLimit: number;
  /** MAX_BODY_BYTES — largest non-file request body (default 1048576). */
  maxBodyBytes: number;
  /** MAX_FIELD_BYTES — largest single field value (default 65536). */
  maxFieldBytes: number;
  /** MAX_FIELDS — most fields in one submission (default 100). */
  maxFields: number;
  /** MAX_UPLOAD_BYTES — largest single uploaded file; a processor may set a lower limit (default 104857600, 100 MiB). */
  maxUploadBytes: number;
  /** MAX_UPLOAD_TOTAL_BYTES — largest total of all files in one request (default 209715200, 200 MiB). */
  maxUploadTotalBytes: number;
  /** MIN_FREE_DISK_BYTES — multipart uploads are refused (507) when DATA_DIR has less free space than this plus the request's size; 0 turns the check off (default 67108864, 64 MiB). */
  minFreeDiskBytes: number;
  /** MAX_FILES — most files in one request (default 10). */
  maxFiles: number;
  /** RECORDER_PREFETCH — events the recorder takes per batch; one store transaction commits a batch (default 500). */
  recorderPrefetch: number;
  /** TASK_TIMEOUT_MS — longest run of a processor that sets no timeout of its own; keep it below RabbitMQ's consumer_timeout (65 min in rabbitmq/advanced.config) (default 3600000). */
  taskTimeoutMs: number;
  /** STARTED_REPORT_DELAY_MS — a worker reports STARTED only for a run still going after this long; a task done sooner goes from PENDING to its final state in one event (default 20, 0: always report). */
  startedReportDelayMs: number;
  /** IDEMPOTENCY_TTL_SECONDS — how long an Idempotency-Key keeps returning its task (default 86400). */
  idempotencyTtlSeconds: number;
  /** MAX_WAIT_SECONDS — the longest `Prefer: wait=N` a request may ask for (default 60). */
  maxWaitSeconds: number;
  /** SHUTDOWN_GRACE_MS — how long in-flight work may finish after SIGTERM (default 30000). */
  shutdownGraceMs: number;
  /** DELIVERY_RETRY_DELAYS_MS — backoff before each retry of a failed delivery, comma-separated; the last repeats (default 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h). */
  deliveryRetryDelaysMs: number[];
  /** DELIVERY_MAX_ATTEMPTS — attempts of one delivery before it is FAILED; with the default schedule 12 attempts span about a day (default 12). */
  deliveryMaxAttempts: number;
  /** WORKER_DELIVERIES — on or off: whether this worker also runs deliverers (webhook, S3, FTP, volume) (default on). */
  workerDeliveries: boolean;
  /** DELIVERY_CONCURRENCY — deliveries one worker runs at once (default 16). */
  deliveryConcurrency: number;
  /** DELIVERY_KEY_CONCURRENCY — of those, at most this many for the tasks of one API key, so one client's dead endpoints cannot hold every slot; tasks made without a key count only per destination. Per worker process (default: half of DELIVERY_CONCURRENCY, rounded up: 8). */
  deliveryKeyConcurrency: number;
  /** DELIVERY_DESTINATION_CONCURRENCY — of those, at most this many to one destination: a webhook's origin (scheme, host and port), an S3 or FTP destination, the volume; one whose attempts keep timing out gets 1. Per worker process (default: a quarter of DELIVERY_CONCURRENCY, rounded up: 4). */
  deliveryDestinationConcurrency: number;
  /** DELIVERY_DEFER_AFTER_MS — how long a delivery waits in the worker for a slot while its key or destination already runs as many as it may; then it goes back to the broker for a retry delay, which is not an attempt (default 1000). */
  deliveryDeferAfterMs: number;
  /** WEBHOOK_CONNECT_TIMEOUT_MS — how long a webhook's name lookup, and then its connection (TCP and TLS), may take: an endpoint that never accepts costs this, not WEBHOOK_TIMEOUT_MS; at most WEBHOOK_TIMEOUT_MS (default 5000, or WEBHOOK_TIMEOUT_MS if shorter). */
  webhookConnectTimeoutMs: number;
  /** WEBHOOK_SECRET — the Standard Webhooks signing secret, `whsec_<base64>`; without it, webhook targets are refused (default: none). */
  webhookSecret: string | undefined;
  /** WEBHOOK_ALLOWLIST — comma-separated CIDRs and host names that webhooks may reach although private or loopback (default: none). */
  webhookAllowlist: string[];
  /** WEBHOOK_TIMEOUT_MS — how long one webhook request may take (default 15000). */
  webhookTimeoutMs: number;
  /** WEBHOOK_PROGRESS_INTERVAL_MS — at most one progress webhook per task this often, per gateway (default 5000). */
  webhookProgressIntervalMs: number;
  /** STALL_GRACE_MS — slack added to a task's deadline before the stall check fails it as `stalled` (PENDING: TASK_QUEUE_TTL_MS; RETRY: the longest retry delay + TASK_QUEUE_TTL_MS; STARTED: its run timeout + TASK_QUEUE_TTL_MS; all since its last recorded change); no check when TASK_QUEUE_TTL_MS is 0 (default 600000, 10 min). */
  stallGraceMs: number;
  /** TASK_SWEEP_GRACE_MS — a PENDING task whose publish was never confirmed (its gateway died mid-submit) is published by the sweeper after this long (default 60000). */
  taskSweepGraceMs: number;
  /** DELIVERY_SWEEP_GRACE_MS — a finished task's delivery not enqueued after this long is sent by the sweeper (default 30000). */
  deliverySweepGraceMs: number;
  /** S3_DESTINATIONS — named S3 destinations, a JSON object (see README); clients name one, never give credentials (default: none). */
  s3Destinations: Record<string, S3Destination>;
  /** FTP_DESTINATIONS — named FTP destinations, a JSON object (see README) (default: none). */
  ftpDestinations: Record<string, FtpDestination>;
  /** UPLOAD_STORE — where uploads live: `volume` (DATA_DIR/uploads) or `s3:<name>` of one of S3_DESTINATIONS (objects under `<prefix>/uploads/<task id>/`); gateways and workers need the same (default volume). */
  uploadStore: UploadStoreSetting;
  /** RESULT_TTL_SECONDS — how long a finished task's result, output files and uploads are kept; then task_result answers 410 (default 604800, 7 days). */
  resultTtlSeconds: number;
  /** JANITOR_INTERVAL_MS — how often each gateway's janitor expires tasks past RESULT_TTL_SECONDS (default 60000). */
  janitorIntervalMs: number;
  /** DASHBOARD — on or off: the operator's dashboard and dead-letter redrive; with API_KEYS set, only ADMIN_KEYS may open it (default on). */
  dashboard: boolean;
  /** API_KEYS — comma-separated `name:secret` pairs; when set (or API_KEYS_FILE), every task route needs `Authorization: Bearer <secret>` and a task belongs to the key that made it (default: none, auth off). */
  apiKeys: ApiKey[];
  /** ADMIN_KEYS — comma-separated names of API keys that may open the dashboard (default: none, so with API_KEYS set nobody may). */
  adminKeys: string[];
  /** ALLOW_ANONYMOUS — on or off: with API_KEYS set, whether requests without a key may still submit and read the tasks made without one — an upload form open to anyone on purpose (default off). */
  allowAnonymous: boolean;
  /** RATE_LIMIT — requests one API key (or, anonymous, one client address) may make per RATE_LIMIT_WINDOW_SECONDS, per gateway; then 429 with Retry-After; 0 = no limit (default 1000 when API_KEYS is set, else 0). */
  rateLimit: number;
  /** RATE_LIMIT_WINDOW_SECONDS — the window RATE_LIMIT counts in (default 10). */
  rateLimitWindowSeconds: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export type LogFormat = 'json' | 'pretty';
const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

export function loadConfig(env: Env = process.env): Config {
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const dataDir = path.resolve(read('DATA_DIR') ?? './data');
  const amqpUrls = (read('AMQP_URL') ?? 'amqp://guest:guest@127.0.0.1:5672').split(',').map((u) => u.trim());
  // Complaints never quote a URL: it may hold a password, and a malformed one cannot be redacted reliably.
  amqpUrls.forEach((url, i) => {
    const which = amqpUrls.length > 1 ? `entry ${i + 1} of ${amqpUrls.length} ` : '';
    if (!/^amqps?:\/\//.test(url)) {
      throw new ConfigError(
        'AMQP_URL',
        `${which}is not an amqp:// or amqps:// URL${which ? ' (URLs are comma-separated: write a comma in a password as %2C)' : ''}`,
      );
    }
    const problem = userinfoProblem(url) ?? (URL.canParse(url) ? undefined : 'is not a valid URL (check the host and port)');
    if (problem !== undefined) throw new ConfigError('AMQP_URL', `${which}${problem}`);
  });

  const basePath = read('BASE_PATH') ?? '/prediction';
  if (!/^(\/[A-Za-z0-9._~-]+)*$/.test(basePath)) {
    throw new ConfigError('BASE_PATH', `"${basePath}" must be empty or start with / and contain no trailing slash`);
  }

  const storeUrl = parseStoreUrl(read('STORE_URL') ?? `sqlite:${path.join(dataDir, 'warren.db')}`);

  const logLevel = (read('LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  const logFormat = (read('LOG_FORMAT') ?? 'json') as LogFormat;
  if (!LOG_FORMATS.includes(logFormat)) throw new ConfigError('LOG_FORMAT', `must be one of ${LOG_FORMATS.join(', ')}`);

  const prefix = read('AMQP_PREFIX') ?? 'warren';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$/.test(prefix)) {
    throw new ConfigError('AMQP_PREFIX', 'must be letters, digits, "_", "." or "-" (at most 101 characters)');
  }

  const processorList = read('WORKER_PROCESSORS');
  const apiKeys = parseApiKeys(read('API_KEYS'), read('API_KEYS_FILE'));
  const s3Destinations = parseS3Destinations(read('S3_DESTINATIONS'));
  // Delivery slots and the fair shares of them that keys and destinations may hold (worker/delivery-scheduler.ts).
  const deliveryConcurrency = int(env, 'DELIVERY_CONCURRENCY', 16, 1, 10_000);
  const webhookTimeoutMs = int(env, 'WEBHOOK_TIMEOUT_MS', 15_000, 100, 600_000);
  const webhookConnectTimeoutMs = int(env, 'WEBHOOK_CONNECT_TIMEOUT_MS', Math.min(5000, webhookTimeoutMs), 100, 600_000);
  if (webhookConnectTimeoutMs > webhookTimeoutMs) {
    throw new ConfigError(
      'WEBHOOK_CONNECT_TIMEOUT_MS',
      `${webhookConnectTimeoutMs} is longer than WEBHOOK_TIMEOUT_MS (${webhookTimeoutMs}), which bounds the whole request`,
    );
  }

  return {
    amqpUrls,
    amqpPrefix: prefix,
    host: read('HOST') ?? '127.0.0.1',
    port: int(env, 'PORT', 5000, 0, 65535),
    basePath,
    publicUrl: parsePublicUrl(read('PUBLIC_URL')),
    dataDir,
    storeUrl,
    storePoolSize: int(env, 'STORE_POOL_SIZE', 10, 1, 1000),
    storeTimeoutMs: int(env, 'STORE_TIMEOUT_MS', 10_000, 100, 600_000),
    logLevel,
    logFormat,
    metricsPort: int(env, 'METRICS_PORT', 9464, 0, 65535),
    metricsHost: read('METRICS_HOST') ?? '127.0.0.1',
    defaultProcessor: read('DEFAULT_PROCESSOR') ?? 'categorize',
    processorsDir: read('PROCESSORS_DIR') === undefined ? undefined : path.resolve(read('PROCESSORS_DIR')!),
    workerProcessors:
      processorList === undefined || processorList === 'all'
        ? 'all'
        : processorList
            .split(',')
            .map((name) => name.trim())
            .filter(Boolean),
    workerConcurrency: int(env, 'WORKER_CONCURRENCY', 16, 1, 10_000),
    processorConcurrency: parseProcessorConcurrency(read('PROCESSOR_CONCURRENCY')),
    ocrThreads: env.OCR_THREADS?.trim() ? int(env, 'OCR_THREADS', 2, 1, 64) : undefined,
    maxImagePixels: int(env, 'MAX_IMAGE_PIXELS', 100_000_000, 1, 10_000_000_000),
    workerMemoryBudgetMb: env.WORKER_MEMORY_BUDGET_MB?.trim() ? int(env, 'WORKER_MEMORY_BUDGET_MB', 0, 64, 16_777_216) : undefined,
    publishTimeoutMs: int(env, 'PUBLISH_TIMEOUT_MS', 5000, 100, 600_000),
    taskQueueMaxLength: int(env, 'TASK_QUEUE_MAX_LENGTH', 100_000, 1, 100_000_000),
    taskQueueTtlMs: int(env, 'TASK_QUEUE_TTL_MS', 86_400_000, 0, 2_147_483_647),
    deliveryLimit: int(env, 'DELIVERY_LIMIT', 5, 1, 1000),
    retryDelaysMs: intList(env, 'RETRY_DELAYS_MS', [1000, 10_000, 60_000, 300_000], 1, 86_400_000),
    taskMaxAttempts: int(env, 'TASK_MAX_ATTEMPTS', 3, 1, 100),
    maxResultBytes: int(env, 'MAX_RESULT_BYTES', 8 * 1024 * 1024, 1024, 120 * 1024 * 1024),
    maxBodyBytes: int(env, 'MAX_BODY_BYTES', 1_048_576, 1024, 1_073_741_824),
    maxFieldBytes: int(env, 'MAX_FIELD_BYTES', 65_536, 16, 1_073_741_824),
    maxFields: int(env, 'MAX_FIELDS', 100, 1, 10_000),
    maxUploadBytes: int(env, 'MAX_UPLOAD_BYTES', 104_857_600, 1, Number.MAX_SAFE_INTEGER),
    maxUploadTotalBytes: int(env, 'MAX_UPLOAD_TOTAL_BYTES', 209_715_200, 1, Number.MAX_SAFE_INTEGER),
    maxFiles: int(env, 'MAX_FILES', 10, 0, 1000),
    minFreeDiskBytes: int(env, 'MIN_FREE_DISK_BYTES', 67_108_864, 0, Number.MAX_SAFE_INTEGER),
    recorderPrefetch: int(env, 'RECORDER_PREFETCH', 500, 1, 65_535),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 30_000, 0, 3_600_000),
    dashboard: onOff(env, 'DASHBOARD', true),
    apiKeys,
    adminKeys: parseAdminKeys(read('ADMIN_KEYS'), apiKeys),
    allowAnonymous: onOff(env, 'ALLOW_ANONYMOUS', false),
    rateLimit: int(env, 'RATE_LIMIT', apiKeys.length > 0 ? 1000 : 0, 0, 100_000_000),
    rateLimitWindowSeconds: int(env, 'RATE_LIMIT_WINDOW_SECONDS', 10, 1, 86_400),
    resultTtlSeconds: int(env, 'RESULT_TTL_SECONDS', 604_800, 1, 315_360_000),
    janitorIntervalMs: int(env, 'JANITOR_INTERVAL_MS', 60_000, 100, 86_400_000),
    deliveryRetryDelaysMs: intList(
      env,
      'DELIVERY_RETRY_DELAYS_MS',
      [5000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000],
      1,
      86_400_000,
    ),
    deliveryMaxAttempts: int(env, 'DELIVERY_MAX_ATTEMPTS', 12, 1, 1000),
    workerDeliveries: onOff(env, 'WORKER_DELIVERIES', true),
    deliveryConcurrency,
    deliveryKeyConcurrency: int(env, 'DELIVERY_KEY_CONCURRENCY', Math.ceil(deliveryConcurrency / 2), 1, 10_000),
    deliveryDestinationConcurrency: int(env, 'DELIVERY_DESTINATION_CONCURRENCY', Math.ceil(deliveryConcurrency / 4), 1, 10_000),
    deliveryDeferAfterMs: int(env, 'DELIVERY_DEFER_AFTER_MS', 1000, 0, 600_000),
    webhookConnectTimeoutMs,
    webhookSecret: webhookSecret(read('WEBHOOK_SECRET')),
    taskSweepGraceMs: int(env, 'TASK_SWEEP_GRACE_MS', 60_000, 100, 86_400_000),
    stallGraceMs: int(env, 'STALL_GRACE_MS', 600_000, 100, 86_400_000),
    deliverySweepGraceMs: int(env, 'DELIVERY_SWEEP_GRACE_MS', 30_000, 100, 3_600_000),
    s3Destinations,
    ftpDestinations: parseFtpDestinations(read('FTP_DESTINATIONS')),
    uploadStore: uploadStore(read('UPLOAD_STORE'), s3Destinations),
    webhookAllowlist: (read('WEBHOOK_ALLOWLIST') ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean),
    webhookTimeoutMs,
    webhookProgressIntervalMs: int(env, 'WEBHOOK_PROGRESS_INTERVAL_MS', 5000, 0, 3_600_000),
    maxWaitSeconds: int(env, 'MAX_WAIT_SECONDS', 60, 0, 3600),
    idempotencyTtlSeconds: int(env, 'IDEMPOTENCY_TTL_SECONDS', 86_400, 1, 31_536_000),
    taskTimeoutMs: int(env, 'TASK_TIMEOUT_MS', 3_600_000, 100, 86_400_000),
    startedReportDelayMs: int(env, 'STARTED_REPORT_DELAY_MS', 20, 0, 60_000),
  };
}
