import os from 'node:os';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentError, type FileRef } from '../../../shared/index.js';
import { configureDecoderLimits } from '../../../worker/processors/decoder-limits.js';
import { thumbnail } from '../../../worker/processors/thumbnail/index.js';
import { pngClaiming, tiffClaiming } from '../../support/bombs.js';
import { testContext, type TestContext } from '../../support/processor-context.js';

const contexts: TestContext[] = [];
afterEach(() => contexts.splice(0).forEach((context) => context.cleanup()));

function solid(width: number, height: number): Sharp {
  return sharp({ create: { width, height, channels: 3, background: '#3366cc' } });
}

interface ThumbnailRun {
  result: unknown;
  artifact: FileRef;
  output: Metadata;
  path: string;
}

async function runThumbnail(image: Buffer, fields: Record<string, unknown> = {}, contentType = 'image/png'): Promise<ThumbnailRun> {
  const context = testContext();
  contexts.push(context);
  const file = context.addFile('input', image, contentType);
  const result = await thumbnail.run({ fields, files: [file] }, context.ctx);
  const [artifact] = context.artifacts();
  const path = context.ctx.filePath(artifact!);
  return { result, artifact: artifact!, output: await sharp(path).metadata(), path };
}

async function expectPermanent(run: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error = await run.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(PermanentError);
  expect((error as PermanentError).code).toBe(code);
  expect((error as PermanentError).message).toMatch(message);
}

describe('thumbnail processor', () => {
  it('resizes to the width as WebP, keeping the aspect ratio', async () => {
    const { result, artifact, output } = await runThumbnail(await solid(800, 600).png().toBuffer(), { width: 200 });
    expect(output).toMatchObject({ format: 'webp', width: 200, height: 150 });
    expect(artifact).toMatchObject({ name: 'thumbnail.webp', content_type: 'image/webp' });
    expect(result).toEqual({
      width: 200,
      height: 150,
      format: 'webp',
      bytes: artifact.size,
      source: { width: 800, height: 600, format: 'png' },
    });
  });

  it('is 256 pixels wide when no size is given', async () => {
    const { output } = await runThumbnail(await solid(800, 600).png().toBuffer());
    expect(output).toMatchObject({ width: 256, height: 192 });
  });

  it('writes PNG on request', async () => {
    const jpeg = await solid(800, 600).jpeg().toBuffer();
    const { result, artifact, output } = await runThumbnail(jpeg, { width: 200, format: 'png' }, 'image/jpeg');
    expect(output).toMatchObject({ format: 'png', width: 200, height: 150 });
    expect(artifact).toMatchObject({ name: 'thumbnail.png', content_type: 'image/png' });
    expect(result).toMatchObject({ format: 'png', source: { format: 'jpeg' } });
  });

  it('fits inside, contains or covers the box', async () => {
    const image = await solid(800, 600).png().toBuffer();
    const box = { width: 200, height: 200 };
    expect((await runThumbnail(image, box)).output).toMatchObject({ width: 200, height: 150 });
    expect((await runThumbnail(image, { ...box, fit: 'cover' })).output).toMatchObject({ width: 200, height: 200 });

    const contained = await runThumbnail(image, { ...box, fit: 'contain' });
    expect(contained.output).toMatchObject({ width: 200, height: 200, hasAlpha: true });
    // The picture keeps its shape; the padding above and below it is transparent.
    const { data, info } = await sharp(contained.path).raw().toBuffer({ resolveWithObject: true });
    const alphaAt = (x: number, y: number) => data[(y * info.width + x) * info.channels + 3];
    expect(alphaAt(100, 5)).toBe(0);
    expect(alphaAt(100, 100)).toBe(255);
  });

  it('never enlarges a small image', async () => {
    const small = await solid(100, 80).png().toBuffer();
    expect((await runThumbnail(small, { width: 400 })).output).toMatchObject({ width: 100, height: 80 });
    expect((await runThumbnail(small, { width: 400, height: 400, fit: 'cover' })).output).toMatchObject({ width: 100, height: 80 });
  });

  it('turns an EXIF-rotated photo upright', async () => {
    // Stored 800×600 with the left half red; orientation 6 means "rotate 90° clockwise to view",
    // so upright it is 600×800 with the red half on top.
    const stored = await solid(800, 600)
      .composite([{ input: { create: { width: 400, height: 600, channels: 3, background: '#ff0000' } }, left: 0, top: 0 }])
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect(await sharp(stored).metadata()).toMatchObject({ width: 800, height: 600, orientation: 6 });

    const { result, output, path } = await runThumbnail(stored, { width: 150 }, 'image/jpeg');
    expect(output).toMatchObject({ width: 150, height: 200 });
    expect(output.orientation).toBeUndefined();
    expect(result).toMatchObject({ source: { width: 600, height: 800, format: 'jpeg' } });

    const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const pixel = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
    const [topRed, , topBlue] = pixel(75, 20);
    const [bottomRed, , bottomBlue] = pixel(75, 180);
    expect(topRed).toBeGreaterThan(200);
    expect(topBlue).toBeLessThan(60);
    expect(bottomRed).toBeLessThan(100);
    expect(bottomBlue).toBeGreaterThan(150);
  });

  it('refuses corrupt bytes as an unsupported file', async () => {
    await expectPermanent(runThumbnail(Buffer.from('this is not an image at all')), 'unsupported_file', /not a readable image/);
    const png = await solid(800, 600).png().toBuffer();
    await expectPermanent(runThumbnail(png.subarray(0, 100)), 'unsupported_file', /could not be decoded/);
  });

  it('refuses formats outside the accepted list', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
    await expectPermanent(runThumbnail(svg, {}, 'image/svg+xml'), 'unsupported_file', /is SVG; accepted/);
  });

  it('refuses a decompression bomb before decoding it', async () => {
    await expectPermanent(runThumbnail(pngClaiming(20_000, 20_000)), 'image_too_large', /image too large: 20000 × 20000 pixels/);
    await expectPermanent(runThumbnail(pngClaiming(12_000, 12_000)), 'image_too_large', /12000 × 12000 pixels \(144 MP\) is more than the 100-megapixel limit/);
    // A TIFF header past libvips's own limit (sharp refuses even its metadata by default).
    await expectPermanent(runThumbnail(tiffClaiming(100_000, 100_000), {}, 'image/tiff'), 'image_too_large', /100000 × 100000 pixels \(10000 MP\)/);
  });

  it('takes its pixel limit from MAX_IMAGE_PIXELS', async () => {
    configureDecoderLimits({ maxImagePixels: 1_000_000 });
    try {
      await expectPermanent(
        runThumbnail(await solid(1200, 1000).png().toBuffer()),
        'image_too_large',
        /1200 × 1000 pixels \(1.2 MP\) is more than the 1-megapixel limit \(MAX_IMAGE_PIXELS\)/,
      );
      expect((await runThumbnail(await solid(1000, 1000).png().toBuffer())).output).toMatchObject({ width: 256, height: 256 });
    } finally {
      configureDecoderLimits({});
    }
  });

  it('runs as many tasks at once as the worker has cores, unless configured otherwise', () => {
    expect(thumbnail.concurrency).toBe(os.availableParallelism());
  });

  it('refuses bad options from a producer that skipped the gateway', async () => {
    const png = await solid(80, 60).png().toBuffer();
    await expectPermanent(runThumbnail(png, { width: 0 }), 'invalid_input', /width must be a whole number of pixels from 1 to 4096/);
    await expectPermanent(runThumbnail(png, { height: 5000 }), 'invalid_input', /height must be/);
    await expectPermanent(runThumbnail(png, { fit: 'fill' }), 'invalid_input', /fit must be one of cover, contain, inside/);
    await expectPermanent(runThumbnail(png, { format: 'gif' }), 'invalid_input', /format must be one of webp, png/);
  });
});
