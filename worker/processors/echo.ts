import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentError, echoDescriptor, type Processor } from '../../shared/index.js';

/** Returns its input. `sleep_ms` and `fail` let tests and benchmarks shape a run. */
export const echo: Processor = {
  ...echoDescriptor,
  async run(input, ctx) {
    const { sleep_ms: sleepMs, fail, ...fields } = input.fields;
    if (typeof sleepMs === 'number' && sleepMs > 0) {
      ctx.progress(0, 'sleeping');
      await sleep(sleepMs, undefined, { signal: ctx.signal });
    }
    if (typeof fail === 'string') throw new PermanentError(fail, { code: 'echo_failed' });
    return { fields, files: input.files };
  },
};
