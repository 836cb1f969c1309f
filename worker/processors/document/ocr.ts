import { access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import Tesseract from 'tesseract.js';
import type { Logger } from '../../../shared/index.js';
import type { BBox, Line, PageResult, Word } from './types.js';
import type { PreparedImage } from './images.js';

const require = createRequire(import.meta.url);

export const OCR_LANGUAGE = 'eng';
export const OCR_ENGINE = `tesseract.js ${(require('tesseract.js/package.json') as { version: string }).version}`;

/**
 * The traineddata shipped on npm. `4.0.0_best_int` is the LSTM-only model tesseract.js would
 * otherwise download from its CDN for OEM.LSTM_ONLY; the `4.0.0` folder adds the legacy engine's
 * data we never use (11 MB against 3 MB gzipped, and slower to load).
 */
export function ocrLangPath(): string {
  return path.join(path.dirname(require.resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int');
}

/**
 * A pool of tesseract.js workers behind its scheduler. Each worker is a worker_thread running
 * tesseract's wasm build, so recognition never blocks this thread's event loop. Created once per
 * process: loading the core and the model costs a few hundred ms per worker.
 */
export class OcrEngine {
  private readonly listeners = new Map<string, (progress: number) => void>();
  private scheduler: Tesseract.Scheduler | undefined;

  private constructor(private readonly log: Logger) {}

  static async create(log: Logger, size = Math.min(2, os.availableParallelism()), langPath = ocrLangPath()): Promise<OcrEngine> {
    const engine = new OcrEngine(log);
    await engine.start(size, langPath);
    return engine;
  }

  private async start(size: number, langPath: string): Promise<void> {
    // Checked up front because a tesseract worker that fails to load its model can be neither
    // awaited nor terminated: its thread would keep the process alive.
    const model = path.join(langPath, `${OCR_LANGUAGE}.traineddata.gz`);
    await access(model).catch((error: unknown) => {
      throw new Error(`the OCR model ${model} is missing (is @tesseract.js-data/${OCR_LANGUAGE} installed?)`, { cause: error });
    });
    let starting = true;
    let failStart: (error: Error) => void = () => {};
    // tesseract.js never settles createWorker when loading the language fails (only a failed core
    // load rejects it); its error handler is the one place that hears about it.
    const startFailed = new Promise<never>((_, reject) => {
      failStart = reject;
    });
    const options: Partial<Tesseract.WorkerOptions> = {
      // A local path, never a URL: the worker reads `${langPath}/eng.traineddata.gz` with fs
      // instead of fetching it from the CDN.
      langPath,
      gzip: true,
      // 'none' neither reads nor writes the unpacked model as ./eng.traineddata in the cwd.
      cacheMethod: 'none',
      // The core (wasm) is require()d by tesseract.js's node worker script from
      // node_modules/tesseract.js-core; corePath only matters in browsers.
      logger: (message) => {
        if (message.status === 'recognizing text') this.listeners.get(message.userJobId)?.(message.progress);
      },
      // Without a handler tesseract.js rethrows a failed job inside its message listener: an
      // uncaught exception that would take the whole worker process down. The job's promise
      // rejects as well, which is where failures are handled.
      errorHandler: (error: unknown) => {
        if (starting) failStart(new Error(`tesseract failed to start: ${String(error)}`));
        else this.log.debug({ err: String(error) }, 'tesseract job failed');
      },
    };
    const scheduler = Tesseract.createScheduler();
    const created = Array.from({ length: size }, () =>
      Tesseract.createWorker(OCR_LANGUAGE, Tesseract.OEM.LSTM_ONLY, options).then((worker) => {
        scheduler.addWorker(worker);
        return worker;
      }),
    );
    try {
      await Promise.race([Promise.all(created), startFailed]);
    } catch (error) {
      await scheduler.terminate();
      throw error;
    } finally {
      starting = false;
    }
    this.scheduler = scheduler;
  }

  /** OCR one prepared image; `onProgress` hears tesseract's 0..1 for this job only. */
  async recognize(image: PreparedImage, page: number, onProgress?: (progress: number) => void): Promise<PageResult> {
    if (!this.scheduler) throw new Error('OCR engine is stopped');
    // Our own job id travels to tesseract's logger as userJobId, which routes progress to the
    // run that asked even when several runs share the workers.
    const jobId = `ocr-${randomUUID()}`;
    if (onProgress) this.listeners.set(jobId, onProgress);
    try {
      // Stating the resolution keeps tesseract from printing "Invalid resolution" to stderr for
      // every image without one; the value is what it would have assumed anyway.
      const params = { user_defined_dpi: String(image.dpi) } satisfies Partial<Tesseract.WorkerParams>;
      const options = params as Partial<Tesseract.RecognizeOptions>;
      const { data } = await this.scheduler.addJob('recognize', image.png, options, { text: true, blocks: true }, jobId);
      return toPageResult(data, page, image);
    } finally {
      this.listeners.delete(jobId);
    }
  }

  async terminate(): Promise<void> {
    const scheduler = this.scheduler;
    this.scheduler = undefined;
    await scheduler?.terminate();
  }
}

const round = (value: number): number => Math.round(value * 100) / 100;

function toPageResult(data: Tesseract.Page, page: number, image: PreparedImage): PageResult {
  // Boxes come back in the coordinates of the (possibly downscaled) image tesseract saw; report
  // them in the source image's pixels, inside its bounds.
  const box = ({ x0, y0, x1, y1 }: BBox): BBox => {
    const x = (v: number): number => Math.min(image.width, Math.max(0, Math.round(v / image.scale)));
    const y = (v: number): number => Math.min(image.height, Math.max(0, Math.round(v / image.scale)));
    return { x0: x(x0), y0: y(y0), x1: x(x1), y1: y(y1) };
  };
  const lines: Line[] = [];
  const words: Word[] = [];
  for (const block of data.blocks ?? []) {
    for (const paragraph of block.paragraphs) {
      for (const line of paragraph.lines) {
        const text = line.text.trim();
        if (text === '') continue;
        lines.push({ text, confidence: round(line.confidence), bbox: box(line.bbox) });
        for (const word of line.words) {
          if (word.text.trim() === '') continue;
          words.push({ text: word.text, confidence: round(word.confidence), bbox: box(word.bbox) });
        }
      }
    }
  }
  return {
    page,
    width: image.width,
    height: image.height,
    method: 'ocr',
    confidence: round(data.confidence),
    lines,
    words,
  };
}
