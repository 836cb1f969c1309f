/**
 * A background job every `intervalMs` (the janitor, the sweepers): one run at a time — a slow run
 * is never overlapped by the next — a failed run is reported and tried again next time, the timer
 * never holds the process open, and `stop` waits for a run under way.
 */
export function every(intervalMs: number, job: () => Promise<void>, onError: (err: unknown) => void): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = job()
      .catch(onError)
      .finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
