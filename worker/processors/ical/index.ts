import fs from 'node:fs/promises';
import { ICAL_MAX_FILE_BYTES, icalDescriptor, type FileRef, type Processor, type ProcessorContext, type TaskInput } from '../../../shared/index.js';
import { renderCalendar } from './calendar.js';
import { canonicalTimeZone } from './dates.js';
import { invalidInput, todosFromCsv, todosFromJson, todosFromValue, type Todo } from './todos.js';

export const CALENDAR_FILE = 'calendar.ics';
export const CALENDAR_CONTENT_TYPE = 'text/calendar; charset=utf-8';

/** Todos → calendar.ics, one VEVENT per todo (see calendar.ts for the event's shape). */
export const ical: Processor = {
  ...icalDescriptor,
  async run(input, ctx) {
    const timeZone = readTimeZone(input.fields.timezone);
    const calendarName = readCalendarName(input.fields.calendar_name);
    const todos = await readTodos(input, ctx, timeZone ?? 'UTC');
    ctx.progress(0.2, `${todos.length} todos read`);
    const calendar = await renderCalendar(todos, {
      name: calendarName,
      timeZone,
      signal: ctx.signal,
      onProgress: (done) => ctx.progress(0.2 + 0.8 * done, 'writing events'),
    });
    const artifact = await ctx.artifacts.write(CALENDAR_FILE, calendar, CALENDAR_CONTENT_TYPE);
    ctx.log.info({ events: todos.length, bytes: artifact.size }, 'calendar written');
    return { events: todos.length, calendar: artifact.name };
  },
};

/** The todos from the field or the one file, never both: merging two lists would hide a mistake. */
async function readTodos(input: TaskInput, ctx: ProcessorContext, timeZone: string): Promise<Todo[]> {
  const field = input.fields.todos;
  // An HTML form sends its empty todos textarea along with an uploaded file.
  const fieldGiven = field !== undefined && field !== null && !(typeof field === 'string' && field.trim() === '');
  if (input.files.length > 1) throw invalidInput(`upload at most one file of todos (got ${input.files.length})`);
  const [file] = input.files;

  if (fieldGiven && file) throw invalidInput('give the todos either as the todos field or as an uploaded file, not both');
  if (fieldGiven) {
    return typeof field === 'string' ? todosFromJson(field, 'the todos field', timeZone) : todosFromValue(field, 'the todos field', timeZone);
  }
  if (file) return todosFromFile(file, ctx, timeZone);
  throw invalidInput('no todos: give the todos field (a JSON array) or upload one JSON or CSV file');
}

async function todosFromFile(file: FileRef, ctx: ProcessorContext, timeZone: string): Promise<Todo[]> {
  const source = `the uploaded file "${file.name}"`;
  const filePath = ctx.filePath(file);
  // The worker does not re-check the gateway's limits; a message may come from any producer.
  const { size } = await fs.stat(filePath);
  if (size > ICAL_MAX_FILE_BYTES) throw invalidInput(`${source} is larger than ${ICAL_MAX_FILE_BYTES / 1024 / 1024} MB`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await fs.readFile(filePath));
  } catch (error) {
    if (error instanceof TypeError) throw invalidInput(`${source} is not UTF-8 text`);
    throw error;
  }
  text = text.replace(/^\uFEFF/, '');

  const declared = file.content_type.split(';')[0]!.trim().toLowerCase();
  // text/plain says nothing about the format; a JSON list starts with [ or {, a CSV with its header.
  const isJson = declared === 'application/json' || (declared !== 'text/csv' && /^\s*[[{]/.test(text));
  return isJson ? todosFromJson(text, source, timeZone) : todosFromCsv(text, source, timeZone);
}

/** The canonical IANA name, or undefined for "not given" (UTC). */
function readTimeZone(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw invalidInput('timezone must be an IANA time zone name such as Europe/Berlin');
  const canonical = canonicalTimeZone(value.trim());
  if (!canonical) throw invalidInput(`timezone "${value.slice(0, 64)}" is not an IANA time zone name such as Europe/Berlin`);
  return canonical;
}

function readCalendarName(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidInput('calendar_name must be a string');
  const name = value.replace(/\p{Cc}+/gu, ' ').trim();
  if (Array.from(name).length > 200) throw invalidInput('calendar_name is longer than 200 characters');
  return name === '' ? undefined : name;
}
