/* global URL */
// Friendlier views of known result shapes, shown above the raw JSON: a table for a
// classification, and OCR word boxes drawn over the uploaded image. Built with the DOM API only.
import { el } from './schema-form.js';

/** A view for the result, or null when it has no known shape. `imageFile` is the uploaded image, if any. */
export function buildResultView(value, imageFile) {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  if (typeof value.category === 'string' && Array.isArray(value.alternatives)) return classificationTable(value);
  if (Array.isArray(value.pages) && imageFile) return wordBoxes(value.pages[0], imageFile);
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
function wordBoxes(page, imageFile) {
  if (!page || !Array.isArray(page.words) || page.words.length === 0 || !(page.width > 0) || !(page.height > 0)) return null;
  const figure = el('figure', { class: 'ocr-figure' });
  const frame = el('div', { class: 'ocr-frame' });
  const image = el('img', { src: URL.createObjectURL(imageFile), alt: 'The uploaded image with the words found on it outlined' });
  image.addEventListener('load', () => URL.revokeObjectURL(image.src), { once: true });
  frame.append(image);
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
