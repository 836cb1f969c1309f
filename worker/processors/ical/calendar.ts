import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { ICalCalendar, type ICalEventData } from 'ical-generator';
import type { Deadline } from './dates.js';
import type { Todo } from './todos.js';

/**
 * A timed todo becomes an event that starts at its deadline and lasts this long. Starting at the
 * deadline puts DTSTART (what calendar apps sort by, show first and alert on) on the moment that
 * matters; the short duration keeps it a marker rather than a block of busy time.
 */
export const EVENT_MINUTES = 30;
/** RFC 5545: content lines longer than 75 octets are folded. */
const LINE_OCTETS = 75;
/** Events rendered between yields; a few milliseconds of work each time. */
const EVENTS_PER_SLICE = 250;
const DAY_MS = 86_400_000;

export interface CalendarOptions {
  name: string | undefined;
  /** The zone the list was written for; all times are written in UTC regardless. */
  timeZone: string | undefined;
  signal: AbortSignal;
  onProgress(fraction: number): void;
}

/**
 * The iCalendar text: one VEVENT per todo. VEVENT rather than VTODO: every calendar app imports
 * events, while VTODO support is patchy (Google Calendar and Outlook ignore them on import) and
 * ical-generator does not write VTODOs at all.
 *
 * ical-generator renders each event, but the calendar is assembled here: its own toString folds
 * the whole text with a TextEncoder per character (about 5 s for 5 MB, all of it blocking the
 * event loop), and it puts X- properties after the events, where RFC 5545 does not allow them.
 * Assembling event by event lets the work yield and stop on abort.
 */
export async function renderCalendar(todos: readonly Todo[], options: CalendarOptions): Promise<string> {
  const calendar = new ICalCalendar({ prodId: { company: 'warren', product: 'ical', language: 'EN' } });
  // ical-generator writes NAME, X-WR-CALNAME and UID verbatim (it escapes SUMMARY and DESCRIPTION only).
  if (options.name) calendar.name(escapeText(options.name));
  const empty = calendar.toString();
  const parts = [empty.slice(0, empty.lastIndexOf('END:VCALENDAR'))];
  if (options.timeZone && options.timeZone !== 'UTC') parts.push(`X-WR-TIMEZONE:${options.timeZone}\r\n`);

  for (const [index, todo] of todos.entries()) {
    if (index > 0 && index % EVENTS_PER_SLICE === 0) {
      options.onProgress(index / todos.length);
      await yieldToEventLoop(undefined, { signal: options.signal });
    }
    const event = calendar.createEvent({
      id: escapeText(todo.uid),
      summary: todo.title,
      description: todo.description ?? null,
      ...timing(todo.deadline),
    });
    parts.push(fold(event.toString()));
  }
  options.signal.throwIfAborted();
  // RFC 5545 ends every content line with CRLF, the last one included.
  parts.push('END:VCALENDAR\r\n');
  return parts.join('');
}

function timing(deadline: Deadline): Pick<ICalEventData, 'start' | 'end' | 'allDay'> {
  if (deadline.kind === 'date') {
    // DTEND of an all-day event is exclusive: the next day. Some apps need it to show one day.
    return { start: deadline.date, end: new Date(deadline.date.getTime() + DAY_MS), allDay: true };
  }
  return { start: deadline.instant, end: new Date(deadline.instant.getTime() + EVENT_MINUTES * 60_000) };
}

/** RFC 5545 TEXT escaping for the properties ical-generator leaves raw. */
export function escapeText(text: string): string {
  return text.replace(/[\\;,]/g, (special) => `\\${special}`).replace(/\r\n|\r|\n/g, '\\n');
}

/** Folds every CRLF-separated line of `text` to at most 75 UTF-8 octets, never inside a character. */
export function fold(text: string): string {
  return text.split('\r\n').map(foldLine).join('\r\n');
}

function foldLine(line: string): string {
  if (Buffer.byteLength(line) <= LINE_OCTETS) return line;
  let folded = '';
  let start = 0;
  let octets = 0;
  for (let i = 0; i < line.length;) {
    const codePoint = line.codePointAt(i)!;
    const size = codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
    if (octets + size > LINE_OCTETS) {
      folded += `${line.slice(start, i)}\r\n `;
      start = i;
      octets = 1; // the continuation line's leading space
    }
    octets += size;
    i += codePoint > 0xffff ? 2 : 1;
  }
  return folded + line.slice(start);
}
