/**
 * Progress reports are throttled: a processor may call `progress` in a tight loop, but the broker
 * sees at most one report per interval per task, and the latest value always goes out last.
 */
export function throttledProgress(
  send: (fraction: number, message?: string) => void,
  intervalMs: number,
): { report: (fraction: number, message?: string) => void; cancel: () => void } {
  let lastSent = 0;
  let trailing: NodeJS.Timeout | undefined;
  let latest: [number, string | undefined] | undefined;

  const flush = (): void => {
    trailing = undefined;
    if (!latest) return;
    const [fraction, message] = latest;
    latest = undefined;
    lastSent = Date.now();
    send(fraction, message);
  };

  return {
    report(fraction, message) {
      latest = [fraction, message];
      const wait = lastSent + intervalMs - Date.now();
      if (wait <= 0) flush();
      else trailing ??= setTimeout(flush, wait);
    },
    cancel() {
      clearTimeout(trailing);
      trailing = undefined;
      latest = undefined;
    },
  };
}
