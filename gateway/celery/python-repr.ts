/**
 * Python's repr() of a JSON value, for the argsrepr/kwargsrepr headers of a Celery task message:
 * Celery's worker logs and monitors (flower, `celery inspect`) show these strings as they would
 * show a task sent from Python — `{'item_a': 'TV'}`, `True`, `None`. Cut at `max` characters
 * with "...", as Celery's saferepr cuts.
 */
export function pythonRepr(value: unknown, max: number): string {
  const text = repr(value);
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 3))}...`;
}

function repr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'None';
  if (typeof value === 'string') return reprString(value);
  if (Array.isArray(value)) return `[${value.map(repr).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([key, item]) => `${reprString(key)}: ${repr(item)}`)
      .join(', ')}}`;
  }
  return reprString(String(value));
}

/** Single quotes unless the text holds one and no double quote, as Python chooses. */
function reprString(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const escaped = text.replace(/[\\\n\r\t]/g, (char) => ({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[char]!).replaceAll(quote, `\\${quote}`);
  return `${quote}${escaped}${quote}`;
}
