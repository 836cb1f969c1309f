import { ConfigError, type Processor } from '../../shared/index.js';
import { echo } from './echo.js';

/** Every processor this worker build can serve, by name. */
export const BUILTIN_PROCESSORS: ReadonlyMap<string, Processor> = new Map([echo].map((p) => [p.name, p]));

/** The processors named by WORKER_PROCESSORS ('all' = every built-in). */
export function selectProcessors(names: readonly string[] | 'all'): Processor[] {
  if (names === 'all') return [...BUILTIN_PROCESSORS.values()];
  return names.map((name) => {
    const processor = BUILTIN_PROCESSORS.get(name);
    if (!processor) throw new ConfigError('WORKER_PROCESSORS', `unknown processor "${name}"; known: ${[...BUILTIN_PROCESSORS.keys()].join(', ')}`);
    return processor;
  });
}
