/* global document, fetch, URLSearchParams, FormData, AbortController, setTimeout, clearTimeout */
// Progressive enhancement of the upload form: submit with fetch, then poll the task's status and
// show it in place. Without this script the form still works (POST, redirect, self-refreshing
// task page). Data from the server is only ever set with textContent or as attribute values.
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
  const basePath = form.dataset.basePath || '';
  const field = (name) => taskSection.querySelector(`[data-field="${name}"]`);

  /** The task currently shown; replaced (and its poll stopped) by the next submission. */
  let currentRun = null;

  bindProcessorHint();

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void submit();
  });

  async function submit() {
    stopCurrentRun();
    const run = { controller: new AbortController(), timer: undefined, failures: 0 };
    currentRun = run;
    showAlert('');
    setSubmitting(true);
    try {
      const response = await fetch(form.action, {
        method: 'POST',
        headers: { Accept: 'application/json' },
        body: new URLSearchParams(new FormData(form)),
        signal: run.controller.signal,
      });
      const body = await readJson(response);
      if (run !== currentRun) return;
      if (response.status !== 202 || !body || typeof body.task_id !== 'string') {
        showAlert(errorMessage(body, response));
        return;
      }
      showNewTask(body);
      schedulePoll(run, body.status_url, 0);
    } catch (error) {
      if (!isAbort(error)) showAlert('Could not reach the server. Check your connection and try again.');
    } finally {
      if (run === currentRun) setSubmitting(false);
    }
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
      if (response.status >= 500 || response.status === 429) {
        retryOrGiveUp(run, statusUrl, errorMessage(body, response));
      } else {
        showAlert(errorMessage(body, response));
      }
      return;
    }

    run.failures = 0;
    showStatus(body);
    if (!TERMINAL_STATUSES.has(body.status)) {
      schedulePoll(run, statusUrl, POLL_INTERVAL_MS);
    } else if (body.status === 'SUCCESS') {
      await showResult(run, body.result_url);
    }
  }

  function retryOrGiveUp(run, statusUrl, message) {
    run.failures += 1;
    if (run.failures >= MAX_CONSECUTIVE_POLL_FAILURES) {
      showAlert(`${message} Reload the task page to see its status.`);
      return;
    }
    schedulePoll(run, statusUrl, POLL_INTERVAL_MS);
  }

  async function showResult(run, resultUrl) {
    const block = field('result-block');
    const pre = field('result');
    try {
      const response = await fetch(resultUrl, { headers: { Accept: 'application/json' }, signal: run.controller.signal });
      if (run !== currentRun) return;
      const contentType = response.headers.get('content-type') || '';
      if (response.ok && !contentType.includes('json')) {
        // An artifact (image, CSV…): offer it rather than dumping bytes into the page.
        pre.textContent = 'The result is a file: use the Result link below to download it.';
      } else {
        const body = await readJson(response);
        if (run !== currentRun) return;
        if (!response.ok) {
          showAlert(errorMessage(body, response));
          return;
        }
        pre.textContent = JSON.stringify(body, null, 2);
      }
      block.hidden = false;
    } catch (error) {
      if (!isAbort(error)) showAlert('The task finished, but its result could not be loaded.');
    }
  }

  function showNewTask(accepted) {
    field('task-id').textContent = accepted.task_id;
    setLink('page-link', `${basePath.replace(/\/+$/, '')}/tasks/${encodeURIComponent(accepted.task_id)}`);
    setLink('status-link', accepted.status_url);
    setLink('result-link', accepted.result_url);
    field('error').hidden = true;
    field('error-message').textContent = '';
    field('result-block').hidden = true;
    field('result').textContent = '';
    showStatus({ status: accepted.status || 'PENDING', progress: null, progress_message: null, attempts: 0, error: null });
    taskSection.hidden = false;
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

  function bindProcessorHint() {
    const select = form.querySelector('select[name="processor"]');
    const hint = document.getElementById('processor-hint');
    if (!select || !hint) return;
    select.addEventListener('change', () => {
      const option = select.selectedOptions[0];
      hint.textContent = option ? option.dataset.description || '' : '';
    });
  }

  function stopCurrentRun() {
    if (!currentRun) return;
    clearTimeout(currentRun.timer);
    currentRun.controller.abort();
    currentRun = null;
  }

  function setSubmitting(submitting) {
    form.setAttribute('aria-busy', String(submitting));
    if (submitButton) {
      submitButton.disabled = submitting;
      submitButton.textContent = submitting ? 'Submitting…' : 'Submit';
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

  /** Error bodies are `{ error: { code, message } }`; anything else gets a generic message. */
  function errorMessage(body, response) {
    if (body && body.error && typeof body.error.message === 'string') return body.error.message;
    return `The server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`;
  }

  async function readJson(response) {
    try {
      return await response.json();
    } catch {
      return null;
    }
  }

  function isAbort(error) {
    return error && error.name === 'AbortError';
  }
})();
