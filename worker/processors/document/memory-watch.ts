/**
 * The memory watch for the one decode whose size no header tells in advance: a PDF page's images.
 * pdf.js's maxImageSize refuses each image above MAX_IMAGE_PIXELS before decoding it, but a page
 * may draw any number of images (and soft masks, which that check skips), and pdf.js decodes all
 * of them before it hands any over. So such decodes run one at a time per worker process while
 * the process's RSS is sampled; if it passes the budget, the decode in progress is the one that
 * did it (every other decoder is bounded by a header check) and is stopped, failing its task
 * rather than letting the kernel's OOM killer take the worker and every task on it.
 *
 * The bound: RSS stays under the budget plus what one sampling interval lets a decode add (pdf.js
 * fills its buffers at a few hundred MB/s: tens of MB in 50 ms), plus the time a stopped thread
 * takes to die — its memory is released when terminate() resolves, before the next decode starts.
 */
export const SAMPLE_INTERVAL_MS = 50;

/** What was over budget, for the error the task fails with. */
export interface MemoryExceeded {
  rssBytes: number;
  budgetBytes: number;
}

/** First come, first served: one holder at a time; a waiter whose signal aborts leaves the line. */
class Turns {
  private busy = false;
  private readonly waiting: (() => void)[] = [];

  async take(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.busy) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          this.waiting.splice(this.waiting.indexOf(wake), 1);
          reject(signal.reason as Error);
        };
        const wake = (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        this.waiting.push(wake);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    } else {
      this.busy = true;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The turn passes straight to the next in line, so nobody can slip in between.
      const next = this.waiting.shift();
      if (next) next();
      else this.busy = false;
    };
  }
}

const turns = new Turns();

/**
 * Runs `decode` when no other watched decode runs in this process, sampling RSS meanwhile. Over
 * `budgetBytes`, `stop` is called once: it must make `decode` settle (reject) and resolve only once
 * the decode's memory is released (a terminated thread has exited), because the next decode
 * starts when this one's turn ends.
 */
export async function watchedDecode<T>(
  options: { budgetBytes: number; signal: AbortSignal },
  decode: () => Promise<T>,
  stop: (exceeded: MemoryExceeded) => Promise<void>,
): Promise<T> {
  const release = await turns.take(options.signal);
  let stopping: Promise<void> | undefined;
  const timer = setInterval(() => {
    const rssBytes = process.memoryUsage.rss();
    if (rssBytes <= options.budgetBytes || stopping) return;
    clearInterval(timer);
    stopping = stop({ rssBytes, budgetBytes: options.budgetBytes }).catch(() => {});
  }, SAMPLE_INTERVAL_MS);
  try {
    return await decode();
  } finally {
    clearInterval(timer);
    await stopping;
    release();
  }
}
