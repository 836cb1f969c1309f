/* global URL */
// Friendlier views of known result shapes, shown above the raw JSON: a table for a
// classification, and OCR word boxes drawn over the uploaded image. Built with the DOM API only.
import { el, formatBytes } from './schema-form.js';

/**
 * A view for the result, or null when it has no known shape. `image` is the uploaded image, if
 * any: the File being uploaded (the form) or the URL the gateway serves it at (the task page).
 */
export function buildResultView(value, image) {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  if (typeof value.category === 'string' && Array.isArray(value.alternatives)) return classificationTable(value);
  if (Array.isArray(value.pages) && image) return wordBoxes(value.pages[0], image);
  return null;
}

function classificationTable(value) {
  const rows = [{ category: value.category, confidence: value.confidence }, ...value.alternatives].filter(
    (row) => row && typeof row.category === 'string' && typeof row.confidence === 'number',
  );
  return el(
    'table',
    { class: 'result-table' },
    el('caption', {}, 'Categories, most likely first'),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Category'), el('th', { scope: 'col' }, 'Confidence'))),
    el(
      'tbody',
      {},
      ...rows.map((row, index) =>
        el('tr', index === 0 ? { class: 'best' } : {}, el('td', {}, row.category), el('td', {}, `${(row.confidence * 100).toFixed(1)}%`)),
      ),
    ),
  );
}

/** Boxes are placed in percent of the page, so they follow the image at any displayed size. */
function wordBoxes(page, image) {
  if (!page || !Array.isArray(page.words) || page.words.length === 0 || !(page.width > 0) || !(page.height > 0)) return null;
  const figure = el('figure', { class: 'ocr-figure' });
  const frame = el('div', { class: 'ocr-frame' });
  const fromFile = typeof image !== 'string';
  const picture = el('img', { src: fromFile ? URL.createObjectURL(image) : image, alt: 'The uploaded image with the words found on it outlined' });
  if (fromFile) picture.addEventListener('load', () => URL.revokeObjectURL(picture.src), { once: true });
  frame.append(picture);
  for (const word of page.words) {
    const box = word && word.bbox;
    if (!box) continue;
    const mark = el('span', { class: 'ocr-box', title: `${word.text} (${Math.round(word.confidence)}%)` });
    mark.style.left = `${(box.x0 / page.width) * 100}%`;
    mark.style.top = `${(box.y0 / page.height) * 100}%`;
    mark.style.width = `${((box.x1 - box.x0) / page.width) * 100}%`;
    mark.style.height = `${((box.y1 - box.y0) / page.height) * 100}%`;
    frame.append(mark);
  }
  figure.append(frame, el('figcaption', {}, `${page.words.length} words found on page ${page.page ?? 1}; hover a box to see the word and its confidence.`));
  return figure;
}

/** The task's output files, with a preview for images; `field` finds a part of the task section by name. */
export function showArtifacts(field, artifacts) {
  const list = field('artifacts');
  list.replaceChildren(
    ...artifacts.map((artifact) => {
      const type = typeof artifact.content_type === 'string' ? artifact.content_type : '';
      const meta = typeof artifact.size === 'number' ? `${type} · ${formatBytes(artifact.size)}` : type;
      const preview =
        type.startsWith('image/') && type !== 'image/tiff'
          ? el('img', { class: 'artifact-preview', src: artifact.url, alt: `Preview of ${artifact.name}`, loading: 'lazy' })
          : '';
      return el('li', {}, el('a', { href: artifact.url }, artifact.name), ' ', el('span', { class: 'artifact-meta' }, meta), preview);
    }),
  );
  field('artifacts-block').hidden = artifacts.length === 0;
}

/** Text first when the result has any (a document's extracted text), the full JSON behind it. */
export function showResultValue(field, value, imageFile) {
  const view = buildResultView(value, imageFile);
  field('result-view').replaceChildren(...(view ? [view] : []));
  field('result-view').hidden = !view;
  const text = value && typeof value === 'object' && !Array.isArray(value) && typeof value.text === 'string' ? value.text : null;
  const textBlock = field('result-text');
  textBlock.textContent = text === null ? '' : text;
  textBlock.hidden = text === null;
  // Without text the JSON is the whole result: shown open, without a toggle.
  const details = field('result-details');
  details.open = text === null;
  details.querySelector('summary').hidden = text === null;
  field('result').textContent = typeof value === 'string' && text === null ? value : JSON.stringify(value, null, 2);
  field('result-block').hidden = false;
}
