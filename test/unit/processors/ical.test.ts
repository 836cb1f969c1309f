import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentError, type FileRef } from '../../../shared/index.js';
import { ical } from '../../../worker/processors/ical/index.js';
import { parseCsv } from '../../../worker/processors/ical/csv.js';
import { testContext, type TestContext } from '../../support/processor-context.js';

const THREE_TODOS = [
  { title: 'Submit report', description: 'Quarterly numbers', deadline_at: '2024-06-01T15:00:00Z', id: 'task-42' },
  { title: 'Call the bank', deadline_at: '2024-06-02T09:30:00+02:00' },
  { title: 'Dentist', deadline_at: '2024-06-03' },
];

const contexts: TestContext[] = [];
afterEach(() => contexts.splice(0).forEach((context) => context.cleanup()));

function newContext(): TestContext {
  const context = testContext();
  contexts.push(context);
  return context;
}

interface IcalRun {
  result: unknown;
  artifact: FileRef;
  text: string;
  events: Map<string, string>[];
}

async function runIcal(fields: Record<string, unknown>, file?: { name: string; data: string; type: string }): Promise<IcalRun> {
  const context = newContext();
  const files = file ? [context.addFile(file.name, file.data, file.type)] : [];
  const result = await ical.run({ fields, files }, context.ctx);
  const [artifact] = context.artifacts();
  const text = fs.readFileSync(context.ctx.filePath(artifact!), 'utf8');
  return { result, artifact: artifact!, text, events: parseEvents(text) };
}

/** Each VEVENT as property name (with parameters) → value, after unfolding. */
function parseEvents(text: string): Map<string, string>[] {
  const lines = text.replace(/\r\n[ \t]/g, '').split('\r\n');
  const events: Map<string, string>[] = [];
  let current: Map<string, string> | undefined;
  for (const line of lines) {
    if (line === 'BEGIN:VEVENT') current = new Map();
    else if (line === 'END:VEVENT' && current) {
      events.push(current);
      current = undefined;
    } else if (current) {
      const colon = line.indexOf(':');
      current.set(line.slice(0, colon), line.slice(colon + 1));
    }
  }
  return events;
}

async function expectInvalid(run: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await run.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(PermanentError);
  expect((error as PermanentError).code).toBe('invalid_input');
  expect((error as PermanentError).message).toMatch(message);
}

describe('ical processor', () => {
  it('turns three todos into a calendar of three events', async () => {
    const { result, artifact, text, events } = await runIcal({ todos: THREE_TODOS });

    expect(result).toEqual({ events: 3, calendar: 'calendar.ics' });
    expect(artifact).toMatchObject({ name: 'calendar.ics', content_type: 'text/calendar; charset=utf-8' });
    expect(text.startsWith('BEGIN:VCALENDAR\r\nVERSION:2.0\r\n')).toBe(true);
    expect(text.endsWith('END:VCALENDAR\r\n')).toBe(true);
    expect(text.match(/^BEGIN:VEVENT$/gm)).toHaveLength(3);
    expect(text.match(/^END:VEVENT$/gm)).toHaveLength(3);
    expect(text).not.toMatch(/\r(?!\n)|(?<!\r)\n/); // CRLF only
    for (const line of text.split('\r\n')) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(75);

    expect(events.map((event) => event.get('SUMMARY'))).toEqual(['Submit report', 'Call the bank', 'Dentist']);
    expect(events[0]!.get('DESCRIPTION')).toBe('Quarterly numbers');
    // Timed todos start at the deadline and last 30 minutes; offsets are resolved to UTC.
    expect(events[0]!.get('DTSTART')).toBe('20240601T150000Z');
    expect(events[0]!.get('DTEND')).toBe('20240601T153000Z');
    expect(events[1]!.get('DTSTART')).toBe('20240602T073000Z');
    expect(events[2]!.get('DTSTART;VALUE=DATE')).toBe('20240603');
    expect(events[0]!.get('UID')).toBe('task-42@warren');
    expect(events[1]!.get('UID')).toMatch(/^[0-9a-f]{32}@warren$/);
  });

  it('gives the same UIDs on every run of the same list', async () => {
    const first = await runIcal({ todos: THREE_TODOS });
    const second = await runIcal({ todos: THREE_TODOS });
    const uids = (run: IcalRun) => run.events.map((event) => event.get('UID'));
    expect(uids(second)).toEqual(uids(first));
    expect(new Set(uids(first)).size).toBe(3);
  });

  it('tells identical todos apart instead of giving them one UID', async () => {
    const same = { title: 'Water plants', deadline_at: '2024-06-01' };
    const { events } = await runIcal({ todos: [same, same] });
    const [first, second] = events.map((event) => event.get('UID'));
    expect(second).toBe(first!.replace('@warren', '-2@warren'));
  });

  it('reads the todos from a form string the same way as from a JSON array', async () => {
    const fromJson = await runIcal({ todos: THREE_TODOS });
    const fromForm = await runIcal({ todos: JSON.stringify(THREE_TODOS), calendar_name: '', timezone: '' });
    expect(fromForm.result).toEqual({ events: 3, calendar: 'calendar.ics' });
    for (const property of ['UID', 'SUMMARY', 'DTSTART', 'DTEND', 'DTSTART;VALUE=DATE']) {
      expect(fromForm.events.map((event) => event.get(property))).toEqual(fromJson.events.map((event) => event.get(property)));
    }
  });

  it('reads an uploaded CSV with quoted commas, quotes and line breaks', async () => {
    const csv = [
      'title,description,deadline_at,id',
      '"Buy milk, eggs","Two ""big"" bottles',
      'and a dozen eggs",2024-06-01T10:00:00Z,shop-1',
      'Pay rent,,2024-06-05,',
      '',
    ].join('\r\n');
    const { result, events } = await runIcal({}, { name: 'todos.csv', data: csv, type: 'text/csv' });

    expect(result).toEqual({ events: 2, calendar: 'calendar.ics' });
    expect(events[0]!.get('SUMMARY')).toBe('Buy milk\\, eggs');
    expect(events[0]!.get('DESCRIPTION')).toBe('Two "big" bottles\\nand a dozen eggs');
    expect(events[0]!.get('DTSTART')).toBe('20240601T100000Z');
    expect(events[0]!.get('UID')).toBe('shop-1@warren');
    expect(events[1]!.get('SUMMARY')).toBe('Pay rent');
    expect(events[1]!.has('DESCRIPTION')).toBe(false);
    expect(events[1]!.get('DTSTART;VALUE=DATE')).toBe('20240605');
  });

  it('reads a CSV whose columns are in another order, with a BOM and LF line ends', async () => {
    const csv = '\uFEFFdeadline_at,Title\n2024-06-01,First\n2024-06-02,Second\n';
    const { events } = await runIcal({}, { name: 'todos.txt', data: csv, type: 'text/plain' });
    expect(events.map((event) => event.get('SUMMARY'))).toEqual(['First', 'Second']);
  });

  it('reads an uploaded JSON file, as an object with todos or as a bare array', async () => {
    const wrapped = await runIcal({}, { name: 'todos.json', data: JSON.stringify({ todos: THREE_TODOS }), type: 'application/json' });
    expect(wrapped.result).toEqual({ events: 3, calendar: 'calendar.ics' });
    expect(wrapped.events.map((event) => event.get('SUMMARY'))).toEqual(['Submit report', 'Call the bank', 'Dentist']);

    // text/plain is sniffed: a list that starts with [ is JSON.
    const bare = await runIcal({}, { name: 'todos', data: JSON.stringify(THREE_TODOS), type: 'text/plain' });
    expect(bare.events.map((event) => event.get('UID'))).toEqual(wrapped.events.map((event) => event.get('UID')));
  });

  it('makes a date-only deadline an all-day event', async () => {
    const { text, events } = await runIcal({ todos: [{ title: 'Holiday', deadline_at: '2024-12-31' }] });
    expect(events[0]!.get('DTSTART;VALUE=DATE')).toBe('20241231');
    expect(events[0]!.get('DTEND;VALUE=DATE')).toBe('20250101');
    expect(events[0]!.has('DTSTART')).toBe(false);
    expect(text).toContain('X-MICROSOFT-CDO-ALLDAYEVENT:TRUE');
  });

  it('reads deadlines without an offset in the given time zone, across DST', async () => {
    const { text, events } = await runIcal({
      timezone: 'europe/berlin',
      calendar_name: 'Team; tasks, Q3',
      todos: [
        { title: 'Summer', deadline_at: '2024-07-01T09:00' },
        { title: 'Winter', deadline_at: '2024-01-15 09:00:00' },
        { title: 'Explicit offset', deadline_at: '2024-07-01T09:00+05:30' },
      ],
    });
    expect(events.map((event) => event.get('DTSTART'))).toEqual(['20240701T070000Z', '20240115T080000Z', '20240701T033000Z']);
    expect(text).toContain('X-WR-TIMEZONE:Europe/Berlin\r\n');
    expect(text).toContain('X-WR-CALNAME:Team\\; tasks\\, Q3\r\n');
    // Calendar properties come before the events (RFC 5545).
    expect(text.indexOf('X-WR-TIMEZONE')).toBeLessThan(text.indexOf('BEGIN:VEVENT'));

    const india = await runIcal({ timezone: 'Asia/Kolkata', todos: [{ title: 'Standup', deadline_at: '2024-07-01T09:00' }] });
    expect(india.events[0]!.get('DTSTART')).toBe('20240701T033000Z');
    expect(india.text).toContain('X-WR-TIMEZONE:Asia/Kolkata\r\n');
  });

  it('folds long lines without splitting a character', async () => {
    const description = 'Überprüfung 🎉 '.repeat(100);
    const { text, events } = await runIcal({ todos: [{ title: 'Long', description, deadline_at: '2024-06-01' }] });
    for (const line of text.split('\r\n')) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(75);
    expect(text).not.toContain('\uFFFD');
    expect(events[0]!.get('DESCRIPTION')).toBe(description.trim());
  });
});

describe('ical processor input errors', () => {
  const todo = { title: 'Fine', deadline_at: '2024-06-01' };
  const runTodos = (...todos: unknown[]) => runIcal({ todos });
  const runCsv = (data: string) => runIcal({}, { name: 'todos.csv', data, type: 'text/csv' });

  it('refuses a run without todos', async () => {
    await expectInvalid(runIcal({}), /no todos/);
    await expectInvalid(runIcal({ todos: '  ' }), /no todos/);
    await expectInvalid(runIcal({ todos: [] }), /the todo list is empty/);
  });

  it('refuses bad JSON', async () => {
    await expectInvalid(runIcal({ todos: '[{"title": "x",' }), /the todos field is not valid JSON/);
    await expectInvalid(runIcal({ todos: '{"items": []}' }), /must be a JSON array of todos/);
    await expectInvalid(runIcal({}, { name: 'list.json', data: '{oops', type: 'application/json' }), /"list.json" is not valid JSON/);
  });

  it('refuses bad CSV, naming the line', async () => {
    const unclosed = 'title,deadline_at\nfine,2024-06-01\n"never closed,2024-06-02\n';
    await expectInvalid(runCsv(unclosed), /"todos.csv" is not valid CSV: CSV line 3: a quoted field is never closed/);
    await expectInvalid(
      runCsv('title,deadline_at\nBuy milk, eggs,2024-06-01\n'),
      /todo 1 \(CSV line 2\): 3 fields but the header has 2; quote fields that contain commas/,
    );
    await expectInvalid(runCsv('title,when\nx,2024-06-01\n'), /must name the columns deadline_at/);
    await expectInvalid(runCsv('title,deadline_at\n,2024-06-01\n'), /todo 1 \(CSV line 2\): title is missing/);
  });

  it('names the todo without a title', async () => {
    await expectInvalid(runIcal({ todos: [todo, { deadline_at: '2024-06-01' }] }), /^todo 2: title is missing$/);
    await expectInvalid(runTodos(todo, todo, { title: 42, deadline_at: '2024-06-01' }), /^todo 3: title must be a string$/);
    await expectInvalid(runTodos({ title: 'x'.repeat(501), deadline_at: '2024-06-01' }), /todo 1: title is longer than 500/);
  });

  it('names the todo with an unparseable or missing deadline', async () => {
    const soon = { title: 'Soon', deadline_at: 'next friday' };
    await expectInvalid(runTodos(todo, todo, soon), /^todo 3: deadline_at "next friday" is not an ISO 8601/);
    await expectInvalid(runTodos({ title: 'Leap', deadline_at: '2023-02-29' }), /todo 1: deadline_at "2023-02-29" is not a real calendar/);
    await expectInvalid(runTodos({ title: 'Late', deadline_at: '2024-06-01T25:00' }), /todo 1: deadline_at .* is not a real time of day/);
    await expectInvalid(runTodos({ title: 'When?' }), /^todo 1: deadline_at is missing$/);
  });

  it('lists several problems at once', async () => {
    await expectInvalid(runTodos({}, todo, 'text'), /^todo 1: title is missing; todo 1: deadline_at is missing; todo 3: must be an object/);
  });

  it('refuses more than 5000 todos', async () => {
    const many = JSON.stringify(Array.from({ length: 5001 }, () => todo));
    await expectInvalid(runIcal({ todos: many }), /too many todos: 5001 \(at most 5000\)/);
  });

  it('refuses a repeated id, a bad time zone, and todos given twice', async () => {
    await expectInvalid(runTodos({ ...todo, id: 'a' }, { ...todo, id: 'a' }), /todo 2: id "a" is already used by todo 1/);
    await expectInvalid(runTodos({ ...todo, id: 'a\r\nX-EVIL:1' }), /todo 1: id must not contain control characters/);
    await expectInvalid(runIcal({ todos: [todo], timezone: 'Mars/Olympus_Mons' }), /timezone "Mars\/Olympus_Mons" is not an IANA/);
    await expectInvalid(
      runIcal({ todos: [todo] }, { name: 'a.json', data: JSON.stringify([todo]), type: 'application/json' }),
      /either as the todos field or as an uploaded file, not both/,
    );
  });
});

describe('parseCsv', () => {
  it('follows RFC 4180 quoting and records where each record starts', () => {
    expect(parseCsv('a,"b,c","d ""e""",\r\n"multi\nline",x\n')).toEqual([
      { fields: ['a', 'b,c', 'd "e"', ''], line: 1 },
      { fields: ['multi\nline', 'x'], line: 2 },
    ]);
    expect(parseCsv('last,record')).toEqual([{ fields: ['last', 'record'], line: 1 }]);
    expect(parseCsv('"",""\r\nnext')).toEqual([
      { fields: ['', ''], line: 1 },
      { fields: ['next'], line: 2 },
    ]);
  });

  it('refuses stray quotes instead of guessing', () => {
    expect(() => parseCsv('ab"c,d')).toThrow(/line 1: a quote inside an unquoted field/);
    expect(() => parseCsv('x\n"ab"c,d')).toThrow(/line 2: text after a closing quote/);
  });
});
