import { ConfigError, loadProcessorDir, mergeProcessors, type Config, type Processor } from '../../shared/index.js';
import { categorize } from './categorize/index.js';
import { configureDocument, document } from './document/index.js';
import { configureDecoderLimits } from './decoder-limits.js';
import { echo } from './echo.js';
import { ical } from './ical/index.js';
import { thumbnail } from './thumbnail/index.js';

/** Every processor this worker build can serve. */
export const BUILTIN_PROCESSORS: readonly Processor[] = [categorize, document, ical, thumbnail, echo];

type ProcessorSettings = 'processorsDir' | 'workerProcessors' | 'ocrThreads' | 'maxImagePixels' | 'workerMemoryBudgetMb' | 'processorConcurrency';

/** Built-ins plus PROCESSORS_DIR's, narrowed to WORKER_PROCESSORS. */
export async function selectProcessors(config: Pick<Config, ProcessorSettings>): Promise<Processor[]> {
  configureDocument({ ocrThreads: config.ocrThreads });
  configureDecoderLimits({ maxImagePixels: config.maxImagePixels, memoryBudgetMb: config.workerMemoryBudgetMb });
  const custom = config.processorsDir ? await loadProcessorDir(config.processorsDir) : [];
  const all = mergeProcessors(BUILTIN_PROCESSORS, custom);
  for (const name of config.processorConcurrency.keys()) {
    if (!all.some((p) => p.name === name))
      throw new ConfigError('PROCESSOR_CONCURRENCY', `unknown processor "${name}"; known: ${all.map((p) => p.name).join(', ')}`);
  }
  if (config.workerProcessors === 'all') return all;
  return config.workerProcessors.map((name) => {
    const processor = all.find((p) => p.name === name);
    if (!processor) throw new ConfigError('WORKER_PROCESSORS', `unknown processor "${name}"; known: ${all.map((p) => p.name).join(', ')}`);
    return processor;
  });
}
