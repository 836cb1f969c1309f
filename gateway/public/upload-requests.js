/* global window, XMLHttpRequest, URL */
// Requests of the upload form's script (upload.js) and how it reads their answers. Nothing here
// touches the page.

/** XMLHttpRequest, not fetch: fetch cannot report upload progress, and files can be large. */
export function post(url, body, signal, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', url);
    request.setRequestHeader('Accept', 'application/json');
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    });
    request.addEventListener('load', () => resolve({ status: request.status, statusText: request.statusText, body: parseJson(request.responseText) }));
    request.addEventListener('error', () => reject(new Error('network error')));
    request.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
    signal.addEventListener('abort', () => request.abort(), { once: true });
    request.send(body);
  });
}

/** Error bodies are `{ error: { code, message } }`; a proxy's own 413 page has none. */
export function errorMessage(body, response) {
  if (body && body.error && typeof body.error.message === 'string') return body.error.message;
  if (response.status === 413) return 'The upload is too large for the server.';
  return `The server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`;
}

/** Only http(s) URLs become links or image sources, whatever the server sent. */
export function isSafeUrl(href) {
  try {
    return typeof href === 'string' && ['http:', 'https:'].includes(new URL(href, window.location.href).protocol);
  } catch {
    return false;
  }
}

export function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

export function isAbort(error) {
  return error && error.name === 'AbortError';
}
