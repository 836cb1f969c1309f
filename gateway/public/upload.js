/* global document, window, fetch, FormData, AbortController, setTimeout, clearTimeout, URL */
import { showArtifacts, showResultValue } from './result-views.js';
import { checkFiles, setUpProcessorChooser } from './schema-form.js';
import { errorMessage, isAbort, isSafeUrl, parseJson, post, readJson } from './upload-requests.js';

// Progressive enhancement of the upload form: switch processors in place, submit with upload
// progress, then follow the task live (Server-Sent Events; polling as a fallback) and show it in
// place. Without this script the form still works (a GET to switch processors; POST, redirect, self-refreshing task page). Data from the
// server is only ever set with textContent or as attribute values. A module (deferred by nature),
// so that the field builder can live in schema-form.js.
(function () {
  'use strict';

  const POLL_INTERVAL_MS = 500;
  // Transient failures (network, 5xx, 429) are retried; give up after this many in a row.
  const MAX_CONSECUTIVE_POLL_FAILURES = 20;
  const TERMINAL_STATUSES = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);
  const KNOWN_STATUSES = new Set(['PENDING', 'STARTED', 'RETRY', 'SUCCESS', 'FAILURE', 'REVOKED']);

  const form = document.getElementById('upload-form');
  const taskSection = document.getElementById('task');
  const alertBox = document.getElementById('form-alert');
  if (!form || !taskSection || !alertBox) return;

  const submitButton = form.querySelector('button[type="submit"]');
  const uploadStatus = form.querySelector('[data-upload-status]');
  const basePath = (form.dataset.basePath || '').replace(/\/+$/, '');
  const field = (name) => taskSection.querySelector(`[data-field="${name}"]`);

  /** The task currently shown; replaced (and its poll stopped) by the next submission. */
  let currentRun = null;

  setUpProcessorChooser(form, basePath, () => showAlert(''));
  form.addEventListener('change', (event) => {
    if (event.target instanceof window.HTMLInputElement && event.target.type === 'file') checkFiles(event.target);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void submit();
  });

  // Submitting and following the task

  async function submit() {
    stopCurrentRun();
    const run = { controller: new AbortController(), timer: undefined, failures: 0, imageFile: uploadedImage() };
    currentRun = run;
    showAlert('');
    const body = formBody();
    setSubmitting(true, hasFiles(body));
    try {
      const response = await post(form.action, body, run.controller.signal, showUploadProgress);
      if (run !== currentRun) return;
      const accepted = response.body;
      if (response.status !== 202 || !accepted || typeof accepted.task_id !== 'string') {
        showAlert(errorMessage(accepted, response));
        return;
      }
      showNewTask(accepted);
      follow(run, accepted);
    } catch (error) {
      if (!isAbort(error)) showAlert('Could not reach the server. Check your connection and try again.');
    } finally {
      if (run === currentRun) setSubmitting(false, false);
    }
  }

  /** The image being uploaded, kept to draw OCR word boxes over it (browsers cannot show TIFF). */
  function uploadedImage() {
    const input = form.querySelector('input[type="file"]');
    const file = input && input.files && input.files[0];
    return file && file.type.startsWith('image/') && file.type !== 'image/tiff' ? file : null;
  }

  /** Blank means "not given": an empty number or choice would otherwise fail the processor's schema. */
  function formBody() {
    const body = new FormData();
    for (const [name, value] of new FormData(form)) {
      const blank = typeof value === 'string' ? value === '' : value.name === '' && value.size === 0;
      if (!blank) body.append(name, value);
    }
    return body;
  }

  function hasFiles(body) {
    for (const value of body.values()) if (typeof value !== 'string') return true;
    return false;
  }

  function showUploadProgress(fraction) {
    if (!uploadStatus) return;
    uploadStatus.querySelector('progress').value = fraction;
    uploadStatus.querySelector('[data-upload-text]').textContent =
      fraction < 1 ? `Uploading ${Math.round(fraction * 100)}%` : 'Uploaded, waiting for the server…';
  }

  /**
   * Live updates over Server-Sent Events ({base}/task_events/:id); polling task_status is the
   * fallback where EventSource is missing or the stream cannot be opened.
   */
  function follow(run, accepted) {
    if (typeof window.EventSource !== 'function') {
      schedulePoll(run, accepted.status_url, 0);
      return;
    }
    const source = new window.EventSource(`${basePath}/task_events/${encodeURIComponent(accepted.task_id)}`);
    run.source = source;
    let received = false;
    source.addEventListener('status', (event) => {
      const update = parseJson(event.data);
      if (run !== currentRun || !update) return;
      received = true;
      showStatus(update);
    });
    source.addEventListener('done', (event) => {
      source.close();
      const task = parseJson(event.data);
      if (run !== currentRun || !task) return;
      showStatus(task);
      if (task.status === 'SUCCESS') void showResult(run, task);
    });
    source.addEventListener('error', () => {
      // EventSource reconnects by itself (to any replica); if it gave up, or never got through, poll.
      if (source.readyState === window.EventSource.CLOSED || !received) {
        source.close();
        if (run === currentRun && !run.timer) schedulePoll(run, accepted.status_url, 0);
      }
    });
  }

  function schedulePoll(run, statusUrl, delay) {
    run.timer = setTimeout(() => void poll(run, statusUrl), delay);
  }

  async function poll(run, statusUrl) {
    if (run !== currentRun) return;
    let response;
    let body;
    try {
      response = await fetch(statusUrl, { headers: { Accept: 'application/json' }, signal: run.controller.signal });
      body = await readJson(response);
    } catch (error) {
      if (isAbort(error)) return;
      retryOrGiveUp(run, statusUrl, 'Lost contact with the server while waiting for the task.');
      return;
    }
    if (run !== currentRun) return;

    if (!response.ok) {
      if (response.status >= 500 || response.status === 429) retryOrGiveUp(run, statusUrl, errorMessage(body, response));
      else showAlert(errorMessage(body, response));
      return;
    }

    run.failures = 0;
    showStatus(body);
    if (!TERMINAL_STATUSES.has(body.status)) schedulePoll(run, statusUrl, POLL_INTERVAL_MS);
    else if (body.status === 'SUCCESS') await showResult(run, body);
  }

  function retryOrGiveUp(run, statusUrl, message) {
    run.failures += 1;
    if (run.failures >= MAX_CONSECUTIVE_POLL_FAILURES) {
      showAlert(`${message} Reload the task page to see its status.`);
      return;
    }
    schedulePoll(run, statusUrl, POLL_INTERVAL_MS);
  }

  /** Output files as links (images previewed); then the JSON result, if there is one. */
  async function showResult(run, task) {
    const artifacts = Array.isArray(task.artifacts) ? task.artifacts.filter((a) => a && typeof a.name === 'string' && isSafeUrl(a.url)) : [];
    showArtifacts(field, artifacts);
    // With files, the plain result URL answers with a file; ?format=json gives {result, artifacts}.
    const url = new URL(task.result_url, window.location.href);
    if (artifacts.length > 0) url.searchParams.set('format', 'json');
    try {
      const response = await fetch(url.href, { headers: { Accept: 'application/json' }, signal: run.controller.signal });
      if (run !== currentRun) return;
      const contentType = response.headers.get('content-type') || '';
      if (response.ok && !contentType.includes('json')) {
        showResultValue(field, 'The result is a file: use the Result link below to download it.');
        return;
      }
      const body = await readJson(response);
      if (run !== currentRun) return;
      if (!response.ok) {
        showAlert(errorMessage(body, response));
        return;
      }
      const value = artifacts.length > 0 ? (body && body.result !== undefined ? body.result : null) : body;
      // A processor whose output is its files often returns null: no empty "Result" box then.
      if (!(artifacts.length > 0 && value === null)) showResultValue(field, value, run.imageFile);
    } catch (error) {
      if (!isAbort(error)) showAlert('The task finished, but its result could not be loaded.');
    }
  }

  function showNewTask(accepted) {
    field('task-id').textContent = accepted.task_id;
    setLink('page-link', `${basePath}/tasks/${encodeURIComponent(accepted.task_id)}`);
    setLink('status-link', accepted.status_url);
    setLink('result-link', accepted.result_url);
    field('error').hidden = true;
    field('error-message').textContent = '';
    field('artifacts-block').hidden = true;
    field('artifacts').replaceChildren();
    field('result-block').hidden = true;
    field('result-text').textContent = '';
    field('result').textContent = '';
    showStatus({ status: accepted.status || 'PENDING', progress: null, progress_message: null, attempts: 0, error: null });
    taskSection.hidden = false;
    // The panel sits below the form, usually out of sight: bring it into view, and move focus
    // there so that keyboard and screen-reader users land on the task too.
    taskSection.scrollIntoView({ block: 'start' });
    taskSection.focus({ preventScroll: true });
  }

  function showStatus(task) {
    const status = KNOWN_STATUSES.has(task.status) ? task.status : 'PENDING';
    const badge = field('status');
    badge.textContent = status;
    badge.className = `badge badge--${status.toLowerCase()}`;

    const terminal = TERMINAL_STATUSES.has(status);
    const progress = field('progress');
    const progressText = field('progress-text');
    const hasProgress = typeof task.progress === 'number';
    // No progress before a terminal state means there is nothing useful to show; while running,
    // a valueless <progress> is the indeterminate bar.
    field('progress-row').hidden = terminal && !hasProgress && status !== 'SUCCESS';
    if (hasProgress || status === 'SUCCESS') {
      const fraction = status === 'SUCCESS' ? 1 : Math.min(1, Math.max(0, task.progress));
      progress.value = fraction;
      const percent = `${Math.round(fraction * 100)}%`;
      progressText.textContent = task.progress_message ? `${percent} · ${task.progress_message}` : percent;
    } else {
      progress.removeAttribute('value');
      progressText.textContent = status === 'PENDING' ? 'Waiting for a worker' : 'Working';
    }

    field('attempts').textContent = String(typeof task.attempts === 'number' ? task.attempts : 0);

    const error = field('error');
    if (task.error && typeof task.error.message === 'string') {
      field('error-message').textContent = task.error.message;
      error.querySelector('h3').textContent = status === 'FAILURE' ? 'The task failed' : 'Last error';
      error.hidden = false;
    } else {
      error.hidden = true;
    }
  }

  function stopCurrentRun() {
    if (!currentRun) return;
    if (currentRun.source) currentRun.source.close();
    clearTimeout(currentRun.timer);
    currentRun.controller.abort();
    currentRun = null;
  }

  function setSubmitting(submitting, uploading) {
    form.setAttribute('aria-busy', String(submitting));
    if (submitButton) {
      submitButton.disabled = submitting;
      submitButton.textContent = submitting ? 'Submitting…' : 'Submit';
    }
    if (uploadStatus) {
      uploadStatus.hidden = !uploading;
      if (uploading) showUploadProgress(0);
    }
  }

  function setLink(name, href) {
    const link = field(name);
    if (typeof href === 'string' && href) {
      link.href = href;
      link.hidden = false;
    } else {
      link.hidden = true;
    }
  }

  function showAlert(message) {
    alertBox.textContent = message;
  }
})();
