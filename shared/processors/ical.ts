import { Type } from '@sinclair/typebox';
import type { ProcessorDescriptor } from '../processor.js';

/** Most todos one calendar takes; also enforced by the processor for form strings and files. */
export const ICAL_MAX_TODOS = 5000;
export const ICAL_MAX_FILE_BYTES = 5 * 1024 * 1024;

/**
 * The original system's calendar job: todos in, an iCalendar file out. Todos come as the `todos`
 * field (a JSON array, or a string holding one when the submission is a form) or as one uploaded
 * JSON or CSV file.
 */
export const icalDescriptor: ProcessorDescriptor = {
  name: 'ical',
  version: '1.0.0',
  description:
    'Turns a list of todos (title, description, deadline_at, id) into an iCalendar file (calendar.ics), one event per todo. ' +
    'Give the todos as the "todos" field (JSON array) or upload one JSON or CSV file (header row: title,description,deadline_at,id).',
  fields: Type.Object({
    todos: Type.Optional(
      Type.Union([Type.String(), Type.Array(Type.Unknown(), { maxItems: ICAL_MAX_TODOS })], {
        description: 'The todos: a JSON array of {title, description?, deadline_at, id?}, or a string containing one (forms)',
      }),
    ),
    calendar_name: Type.Optional(Type.String({ maxLength: 200, description: 'Name shown by calendar apps' })),
    timezone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA time zone (e.g. Europe/Berlin) for deadlines without an offset; default UTC' })),
  }),
  files: {
    accept: ['application/json', 'text/csv', 'text/plain'],
    minCount: 0,
    maxCount: 1,
    maxBytes: ICAL_MAX_FILE_BYTES,
  },
};
