/**
 * Deadlines as people write them: ISO 8601 dates (all-day) and date-times, with or without an
 * offset. A date-time without an offset is wall-clock time in the calendar's time zone, resolved
 * here with Intl, because ical-generator formats a plain Date with TZID in the *process's* zone and
 * no VTIMEZONE generator is installed. Events are therefore written in UTC, which every calendar
 * app reads the same way.
 */

export type Deadline = { kind: 'date'; date: Date } | { kind: 'date-time'; instant: Date };

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

export const DEADLINE_FORMATS = 'YYYY-MM-DD for an all-day event, or YYYY-MM-DDTHH:MM[:SS] with an optional Z or ±HH:MM offset';

/**
 * The IANA name with its usual capitals ("europe/berlin" → "Europe/Berlin"), or undefined if Intl
 * does not know it. Names that Intl resolves to an older alias (Asia/Kolkata → Asia/Calcutta)
 * keep the spelling given, which is the one people recognise.
 */
export function canonicalTimeZone(name: string): string | undefined {
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
  return resolved.toLowerCase() === name.toLowerCase() ? resolved : name;
}

/** Parses a deadline; returns a reason instead when it is not a real ISO 8601 date or date-time. */
export function parseDeadline(text: string, timeZone: string): Deadline | { error: string } {
  const dateOnly = DATE_ONLY.exec(text);
  if (dateOnly) {
    const [year, month, day] = dateOnly.slice(1, 4).map(Number) as [number, number, number];
    if (!isRealDate(year, month, day)) return { error: `"${text}" is not a real calendar date` };
    return { kind: 'date', date: new Date(utcMillis(year, month, day, 0, 0, 0)) };
  }

  const dateTime = DATE_TIME.exec(text);
  if (!dateTime) return { error: `"${clip(text)}" is not an ISO 8601 date or date-time (${DEADLINE_FORMATS})` };
  const [year, month, day, hour, minute, second] = dateTime.slice(1, 7).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  if (!isRealDate(year, month, day)) return { error: `"${text}" is not a real calendar date` };
  if (hour > 23 || minute > 59 || second > 59) return { error: `"${text}" is not a real time of day` };

  const wallClock = utcMillis(year, month, day, hour, minute, second);
  const offset = dateTime[7];
  if (offset === undefined) return { kind: 'date-time', instant: new Date(wallClockToInstant(wallClock, timeZone)) };
  if (offset.toUpperCase() === 'Z') return { kind: 'date-time', instant: new Date(wallClock) };
  const digits = offset.slice(1).replace(':', '');
  const offsetHours = Number(digits.slice(0, 2));
  const offsetMinutes = Number(digits.slice(2) || 0);
  if (offsetHours > 23 || offsetMinutes > 59) return { error: `"${text}" has an impossible UTC offset` };
  const sign = offset.startsWith('-') ? -1 : 1;
  return { kind: 'date-time', instant: new Date(wallClock - sign * (offsetHours * 60 + offsetMinutes) * 60_000) };
}

function isRealDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const daysInMonth = new Date(utcMillis(year, month + 1, 1, 0, 0, 0) - 86_400_000).getUTCDate();
  return day <= daysInMonth;
}

/** Date.UTC reads years 0-99 as 1900-1999; setUTCFullYear does not. */
function utcMillis(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year + Math.floor((month - 1) / 12), (month - 1) % 12, day);
  return date.getTime();
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** How far the zone's wall clock is ahead of UTC at this instant, in milliseconds. */
function zoneOffset(instant: number, timeZone: string): number {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  const parts = Object.fromEntries(formatter.formatToParts(instant).map((part) => [part.type, Number(part.value)]));
  const wallClock = utcMillis(parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wallClock - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant at which the zone's clock shows this wall-clock time. Two passes settle on the right
 * offset around DST changes. A time skipped by a spring-forward gap moves by the gap's length
 * (earlier or later, depending on the zone); an ambiguous fall-back time takes one of its two
 * readings. Either beats refusing a deadline someone typed.
 */
function wallClockToInstant(wallClock: number, timeZone: string): number {
  if (timeZone === 'UTC') return wallClock;
  const firstGuess = wallClock - zoneOffset(wallClock, timeZone);
  const settledOffset = zoneOffset(firstGuess, timeZone);
  return wallClock - settledOffset;
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
