/* global document, window, fetch, URL, DOMParser */
// The processor chooser for upload.js. The fields themselves are always rendered by the gateway
// (gateway/pages/schema-fields.ts): on a switch this fetches {base}/upload/fields?processor=…, a
// fragment the gateway escaped, instead of keeping a second copy of the rendering rules here.

/**
 * Without JavaScript the "Use this processor" button reloads the page; here the fields are swapped
 * in place. The catalog (descriptions, versions) is fetched once.
 */
export function setUpProcessorChooser(form, basePath, onSwitched) {
  const chooser = document.getElementById('processor-form');
  const select = document.getElementById('processor');
  const fieldsBox = document.getElementById('processor-fields');
  const current = form.querySelector('input[name="processor"]');
  if (!chooser || !select || !fieldsBox || !current) return;
  const applyButton = document.getElementById('processor-apply');
  if (applyButton) applyButton.hidden = true;

  // Fetched once; null when it fails, and then switching falls back to the no-JS page reload.
  const catalog = fetch(`${basePath}/processors`, { headers: { Accept: 'application/json' } })
    .then((response) => (response.ok ? response.json() : null))
    .then((body) => (body && Array.isArray(body.processors) ? body.processors : null))
    .catch(() => null);

  const switchTo = async (name) => {
    const processors = await catalog;
    if (select.value !== name) return; // changed again while the catalog loaded
    const entry = processors && processors.find((processor) => processor.name === name);
    const url = new URL(chooser.action, window.location.href);
    url.searchParams.set('processor', name);
    if (!entry) {
      window.location.assign(url.href);
      return;
    }
    const fragment = await fetch(`${basePath}/upload/fields?processor=${encodeURIComponent(name)}`)
      .then((response) => (response.ok ? response.text() : null))
      .catch(() => null);
    if (fragment === null || select.value !== name) {
      if (fragment === null) window.location.assign(url.href);
      return;
    }
    current.value = entry.name;
    const hint = document.getElementById('processor-hint');
    if (hint) hint.replaceChildren(entry.description, ' ', el('span', { class: 'version' }, `v${entry.version}`));
    fieldsBox.replaceChildren(...new DOMParser().parseFromString(fragment, 'text/html').body.childNodes);
    onSwitched();
    window.history.replaceState(null, '', url.href);
  };
  select.addEventListener('change', () => void switchTo(select.value));
  chooser.addEventListener('submit', (event) => {
    event.preventDefault();
    void switchTo(select.value);
  });
  // Back/forward may restore the select to another processor than the fields were built for.
  if (select.value && select.value !== current.value) void switchTo(select.value);
}

/** Refuse too many or too large files before sending them, not after a long upload. */
export function checkFiles(input) {
  const maxBytes = Number(input.dataset.maxBytes);
  const maxCount = Number(input.dataset.maxCount);
  const files = Array.from(input.files || []);
  const tooLarge = files.find((file) => maxBytes > 0 && file.size > maxBytes);
  let problem = '';
  if (maxCount > 0 && files.length > maxCount) problem = `Choose at most ${maxCount} file${maxCount === 1 ? '' : 's'}.`;
  else if (tooLarge) problem = `"${tooLarge.name}" is ${formatBytes(tooLarge.size)}; the limit is ${formatBytes(maxBytes)}.`;
  input.setCustomValidity(problem);
  if (problem) input.reportValidity();
}

/** A DOM element; attribute rules as in schema-fields.ts (true → bare, false/undefined → left out). */
export function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === false) continue;
    node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== '' && child !== null && child !== undefined) node.append(child);
  return node;
}

export function formatBytes(bytes) {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : Math.round(value * 10) / 10} ${units[unit]}`;
}
