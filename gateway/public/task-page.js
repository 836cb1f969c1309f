/* global document */
import { buildResultView } from './result-views.js';

// The task page's result, drawn with the form's own views (a table for a classification, OCR word boxes over the uploaded image). The
// page is complete without this script: the JSON stays below the view.
const data = document.querySelector('[data-result-json]');
const container = document.querySelector('[data-result-view]');
if (data && container) {
  let value = null;
  try {
    value = JSON.parse(data.textContent || 'null');
  } catch {
    value = null;
  }
  // The uploaded image, served by the gateway, for OCR word boxes (absent for S3 uploads).
  const view = buildResultView(value, data.dataset.imageUrl || null);
  if (view) {
    container.replaceChildren(view);
    container.hidden = false;
  }
}
