/**
 * A steady, bounded load for fault tests: `clients` loops that each submit an echo task (JSON, an
 * item of their own), and while it runs poll its status, spreading requests over the gateways,
 * until stopped. Every answer is checked as it comes: a 2xx, or a refusal the fault allows (by
 * default 503, and 507 where the disk may be full) that carries Retry-After and the error envelope.
 * Anything else — another 5xx, a refusal without Retry-After, a request that hangs — is a problem.
 */
export interface SteadyLoadOptions {
  /** The gateways' base URLs, asked anew for each request (a test may replace one). */
  gateways: () => readonly string[];
  clients: number;
  /** A client's pause between tasks. */
  thinkMs?: number;
  /** Refusals that are allowed while a fault lasts (each must carry Retry-After). */
  refusals?: readonly number[];
  /** A request that takes longer is a hang. */
  requestTimeoutMs?: number;
}

export interface SteadyLoad {
  /** Accepted tasks (202): id → item. */
  readonly accepted: Map<string, string>;
  /** How many answers of each status. */
  readonly answers: Map<number, number>;
  readonly problems: string[];
  /** Resolves once `count` more tasks were accepted from now (within `timeoutMs`). */
  flowing(count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function startSteadyLoad({ gateways, clients, thinkMs = 40, refusals = [503], requestTimeoutMs = 20_000 }: SteadyLoadOptions): SteadyLoad {
  const accepted = new Map<string, string>();
  const answers = new Map<number, number>();
  const problems: string[] = [];
  let stopped = false;

  /** One request; undefined when the answer is a refusal or a problem (recorded). */
  const call = async (url: string, init: RequestInit = {}): Promise<Response | undefined> => {
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal: AbortSignal.timeout(requestTimeoutMs) });
    } catch (err) {
      problems.push(`${init.method ?? 'GET'} ${url}: ${err instanceof Error && err.name === 'TimeoutError' ? `hung for ${requestTimeoutMs} ms` : String(err)}`);
      return undefined;
    }
    answers.set(response.status, (answers.get(response.status) ?? 0) + 1);
    if (response.ok) return response;
    const body = (await response.json().catch(() => undefined)) as { error?: { code?: unknown } } | undefined;
    if (!refusals.includes(response.status)) problems.push(`${init.method ?? 'GET'} ${url}: ${response.status} ${JSON.stringify(body)}`);
    else if (!response.headers.get('retry-after') || typeof body?.error?.code !== 'string')
      problems.push(`${url}: ${response.status} without Retry-After or the error envelope`);
    return undefined;
  };

  const client = async (n: number): Promise<void> => {
    for (let i = 0; !stopped; i += 1) {
      const urls = gateways();
      const item = `client ${n} task ${i}`;
      const submitted = await call(`${urls[(n + i) % urls.length]}/uploader`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ item_a: item }),
      });
      if (submitted) {
        const { task_id: id } = (await submitted.json()) as { task_id: string };
        accepted.set(id, item);
        // A few polls on the other gateway: reads must hold up through the fault as well.
        for (let poll = 0; poll < 3 && !stopped; poll += 1) {
          const status = await call(`${urls[(n + i + 1) % urls.length]}/task_status/${id}`);
          if (status && ((await status.json()) as { status: string }).status === 'SUCCESS') break;
          await sleep(20);
        }
      } else {
        await sleep(200);
      }
      await sleep(thinkMs);
    }
  };
  const running = Promise.all(Array.from({ length: clients }, (_, n) => client(n)));

  return {
    accepted,
    answers,
    problems,
    async flowing(count, timeoutMs = 30_000) {
      const target = accepted.size + count;
      const deadline = Date.now() + timeoutMs;
      while (accepted.size < target) {
        if (Date.now() > deadline) throw new Error(`load: ${count} tasks not accepted within ${timeoutMs} ms (problems: ${problems.slice(0, 5).join('; ')})`);
        await sleep(25);
      }
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}
