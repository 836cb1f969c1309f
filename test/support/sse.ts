/** Read a Server-Sent Events stream to its end (or until `timeoutMs`), returning the events. */
export interface ServerSentEvent {
  event: string;
  id: string | undefined;
  data: unknown;
}

export async function readEvents(
  url: string,
  timeoutMs = 15_000,
  headers: Record<string, string> = {},
): Promise<{ status: number; events: ServerSentEvent[] }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(url, { signal: controller.signal, headers: { accept: 'text/event-stream', ...headers } });
    if (!response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) {
      return { status: response.status, events: [] };
    }
    const events: ServerSentEvent[] = [];
    let buffer = '';
    const decoder = new TextDecoder();
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const fields = Object.fromEntries(
          block
            .split('\n')
            .filter((line) => line && !line.startsWith(':'))
            .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trimStart()]),
        ) as Record<string, string>;
        if (fields.event) events.push({ event: fields.event, id: fields.id, data: JSON.parse(fields.data ?? 'null') });
      }
    }
    return { status: response.status, events };
  } finally {
    clearTimeout(timer);
  }
}
