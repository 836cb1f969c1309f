import { createHash } from 'node:crypto';
import { CsvSyntaxError, isBlankRecord, parseCsv } from './csv.js';
import { parseDeadline, type Deadline } from './dates.js';
import { ICAL_MAX_TODOS, PermanentError } from '../../../shared/index.js';

/**
 * Todos from JSON or CSV, validated. Pure: text in, todos out, or a PermanentError (code
 * invalid_input) naming each bad todo by its 1-based number, so a person can fix the list.
 */

export interface Todo {
  title: string;
  description?: string;
  deadline: Deadline;
  /** Unescaped iCalendar UID, stable across runs of the same list. */
  uid: string;
}

export const TITLE_MAX = 500;
export const DESCRIPTION_MAX = 10_000;
export const ID_MAX = 200;
export const UID_DOMAIN = 'warren';
const CSV_COLUMNS = ['title', 'description', 'deadline_at', 'id'] as const;
/** Enough problems to fix several at once, few enough to read. */
const REPORTED_PROBLEMS = 5;

export function invalidInput(message: string): PermanentError {
  return new PermanentError(message, { code: 'invalid_input' });
}

/** JSON text holding an array of todos or an object `{ "todos": [...] }`. */
export function todosFromJson(text: string, source: string, timeZone: string): Todo[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalidInput(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  return todosFromValue(parsed, source, timeZone);
}

/** An already-parsed JSON value (the todos field of a JSON submission, or a parsed file). */
export function todosFromValue(value: unknown, source: string, timeZone: string): Todo[] {
  const list = isRecord(value) && 'todos' in value ? value.todos : value;
  if (!Array.isArray(list)) throw invalidInput(`${source} must be a JSON array of todos (or an object with a "todos" array)`);
  return validateTodos(list, (index) => `todo ${index + 1}`, timeZone);
}

/** CSV with a header row naming the columns title, deadline_at and optionally description and id, in any order. */
export function todosFromCsv(text: string, source: string, timeZone: string): Todo[] {
  let records;
  try {
    records = parseCsv(text).filter((record) => !isBlankRecord(record));
  } catch (error) {
    if (error instanceof CsvSyntaxError) throw invalidInput(`${source} is not valid CSV: ${error.message}`);
    throw error;
  }
  const [header, ...rows] = records;
  if (!header) throw invalidInput(`${source} is empty: expected a header row (${CSV_COLUMNS.join(',')}) and one row per todo`);

  const columns = header.fields.map((name) => name.trim().toLowerCase());
  const duplicate = columns.find((name, index) => name !== '' && columns.indexOf(name) !== index);
  if (duplicate) throw invalidInput(`${source}: the header names the column "${duplicate}" twice`);
  const missing = ['title', 'deadline_at'].filter((name) => !columns.includes(name));
  if (missing.length > 0) {
    throw invalidInput(
      `${source}: the header row must name the columns ${missing.join(' and ')} ` +
        `(expected ${CSV_COLUMNS.join(',')}; got ${header.fields.map((name) => JSON.stringify(name)).join(',') || 'nothing'})`,
    );
  }

  const tooWide: string[] = [];
  const items = rows.map((row, index) => {
    if (row.fields.length > columns.length) {
      tooWide.push(
        `todo ${index + 1} (CSV line ${row.line}): ${row.fields.length} fields but the header has ${columns.length}; ` + 'quote fields that contain commas',
      );
    }
    const item: Record<string, string> = {};
    columns.forEach((name, column) => {
      // Missing trailing fields are empty: hand-written CSV often omits the optional ones.
      if (name !== '') item[name] = row.fields[column] ?? '';
    });
    return item;
  });
  if (tooWide.length > 0) throw invalidInput(summarise(tooWide));
  return validateTodos(items, (index) => `todo ${index + 1} (CSV line ${rows[index]!.line})`, timeZone);
}

/** Validates raw todos and gives each a UID. `label` names a todo in messages. */
export function validateTodos(items: readonly unknown[], label: (index: number) => string, timeZone: string): Todo[] {
  if (items.length === 0) throw invalidInput('the todo list is empty');
  if (items.length > ICAL_MAX_TODOS) throw invalidInput(`too many todos: ${items.length} (at most ${ICAL_MAX_TODOS})`);

  const problems: string[] = [];
  const todos: Todo[] = [];
  const explicitIds = new Map<string, number>();
  const derivedUids = new Map<string, number>();

  items.forEach((item, index) => {
    const where = label(index);
    if (!isRecord(item)) {
      problems.push(`${where}: must be an object with title and deadline_at`);
      return;
    }
    const before = problems.length;
    const problem = (what: string) => problems.push(`${where}: ${what}`);

    const title = optionalText(item.title, 'title', TITLE_MAX, problem);
    if (title === undefined && problems.length === before) problem('title is missing');
    const description = optionalText(item.description, 'description', DESCRIPTION_MAX, problem);
    const id = optionalId(item.id, problem);
    const deadlineText = optionalText(item.deadline_at, 'deadline_at', 100, problem);
    let deadline: Deadline | undefined;
    if (deadlineText === undefined) {
      if (item.deadline_at === undefined || item.deadline_at === null || item.deadline_at === '') problem('deadline_at is missing');
    } else {
      const parsed = parseDeadline(deadlineText, timeZone);
      if ('error' in parsed) problem(`deadline_at ${parsed.error}`);
      else deadline = parsed;
    }

    let uid: string | undefined;
    if (id !== undefined) {
      const firstUse = explicitIds.get(id);
      if (firstUse !== undefined) problem(`id "${id}" is already used by todo ${firstUse + 1}`);
      else explicitIds.set(id, index);
      uid = `${id}@${UID_DOMAIN}`;
    }
    if (problems.length > before || title === undefined || deadline === undefined || deadlineText === undefined) return;

    if (uid === undefined) {
      // Same title and deadline, same UID: re-importing the calendar updates events instead of
      // duplicating them. The deadline as written (not as resolved) keeps the UID when only the
      // time zone is corrected. Repeats within one list are told apart by their order.
      const hash = createHash('sha256')
        .update(JSON.stringify([title, deadlineText]))
        .digest('hex')
        .slice(0, 32);
      const seen = derivedUids.get(hash) ?? 0;
      derivedUids.set(hash, seen + 1);
      uid = `${hash}${seen === 0 ? '' : `-${seen + 1}`}@${UID_DOMAIN}`;
    }
    todos.push({ title, ...(description === undefined ? {} : { description }), deadline, uid });
  });

  if (problems.length > 0) throw invalidInput(summarise(problems));
  return todos;
}

/** A trimmed non-empty string, undefined when absent or blank; reports wrong types and lengths. */
function optionalText(value: unknown, name: string, max: number, problem: (what: string) => void): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    problem(`${name} must be a string`);
    return undefined;
  }
  const text = value.trim();
  if (text === '') return undefined;
  // Code points never outnumber UTF-16 units, so only long strings need counting.
  if (text.length > max && codePoints(text) > max) {
    problem(`${name} is longer than ${max} characters`);
    return undefined;
  }
  return text;
}

function optionalId(value: unknown, problem: (what: string) => void): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  const id = optionalText(value, 'id', ID_MAX, problem);
  // A UID is one content line; control characters would break it (or forge more lines).
  if (id !== undefined && /\p{Cc}/u.test(id)) {
    problem('id must not contain control characters or line breaks');
    return undefined;
  }
  return id;
}

function summarise(problems: readonly string[]): string {
  const shown = problems.slice(0, REPORTED_PROBLEMS).join('; ');
  const more = problems.length - REPORTED_PROBLEMS;
  return more > 0 ? `${shown}; and ${more} more problem${more === 1 ? '' : 's'}` : shown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Characters as people count them: an emoji is one, not two UTF-16 units. */
function codePoints(text: string): number {
  return Array.from(text).length;
}
