import { Type } from '@sinclair/typebox';
import { FieldValue } from '../contracts.js';
import type { ProcessorDescriptor } from '../processor.js';
import { categorizeDescriptor } from './categorize.js';
import { documentDescriptor } from './document.js';
import { icalDescriptor } from './ical.js';
import { thumbnailDescriptor } from './thumbnail.js';

/**
 * Descriptors of the built-in processors. Both sides need them: the gateway to refuse unknown
 * processors and bad fields with a 400 before anything is queued, the worker to serve them. The
 * implementations live in worker/processors/.
 */
export const echoDescriptor: ProcessorDescriptor = {
  name: 'echo',
  version: '1.0.0',
  description: 'Returns its input fields. For tests and benchmarks: sleep_ms delays the result, fail makes the run fail with that message.',
  fields: Type.Object(
    {
      sleep_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000, description: 'Wait this long before answering' })),
      fail: Type.Optional(Type.String({ maxLength: 1000, description: 'Fail the run with this message' })),
    },
    { additionalProperties: FieldValue },
  ),
};

export const BUILTIN_DESCRIPTORS: readonly ProcessorDescriptor[] = [
  categorizeDescriptor,
  documentDescriptor,
  icalDescriptor,
  thumbnailDescriptor,
  echoDescriptor,
];
