// VM Export Guard dashboard: plain JavaScript, no library. It reads the guard's own API with the bearer token the
// person pasted (kept in this tab's sessionStorage only) and follows result events over Server-Sent Events.
'use strict';

const TOKEN_KEY = 'vm-export-guard-token';
const state = { token: null, stream: null, ended: new Map(), historyCursors: [null], reasons: null, refresh: null };

const $ = (selector, root = document) => root.querySelector(selector);

/** An element with attributes and children (strings become text: nothing is ever parsed as HTML). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    // through the CSS object model: the Content-Security-Policy lets no style attribute be parsed
    else if (name === 'style') node.style.cssText = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function time(value) {
  return value ? value.replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace('Z', ' UTC') : '';
}

function badge(text) {
  return el('span', { class: 'badge ' + (text || '') }, text === 'IN_PROGRESS' ? 'in progress' : (text || '—'));
}

// ---- the API, with the token ----

class SignedOut extends Error {}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: 'Bearer ' + state.token, Accept: options.accept || 'application/json' },
    cache: 'no-store'
  });
  if (response.status === 401) {
    signOut('The guard did not accept the token (it may have expired). Sign in again.');
    throw new SignedOut();
  }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new Error(detail + ' (HTTP ' + response.status + ')');
  }
  return options.raw ? response : response.json();
}

// ---- signing in and out ----

function signIn(token) {
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('#nav').hidden = false;
  $('#session').hidden = false;
  connect();
}

function signOut(message) {
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  if (state.stream) state.stream.abort();
  state.stream = null;
  $('#nav').hidden = true;
  $('#session').hidden = true;
  const error = $('#sign-in-error');
  error.hidden = !message;
  error.textContent = message || '';
  location.hash = '#/sign-in';
  route();
}

// ---- live events: Server-Sent Events read with fetch, so that the token goes in a header ----

async function connect() {
  if (state.stream) state.stream.abort();
  const controller = new AbortController();
  state.stream = controller;
  const live = $('#live');
  let delay = 1000;
  while (!controller.signal.aborted && state.token) {
    try {
      const response = await fetch('/api/dashboard/stream', {
        headers: { Authorization: 'Bearer ' + state.token, Accept: 'text/event-stream' },
        signal: controller.signal, cache: 'no-store'
      });
      if (response.status === 401) { signOut('The guard did not accept the token. Sign in again.'); return; }
      if (!response.ok || !response.body) throw new Error('HTTP ' + response.status);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').filter(l => l.startsWith('data:')).map(l => l.slice(5).replace(/^ /, ''))
            .join('\n');
          if (!data) continue;
          const event = JSON.parse(data);
          if (event.type === 'CONNECTED') {
            live.textContent = 'live';
            live.classList.add('on');
            delay = 1000;
            refreshPage();
          } else if (event.type !== 'HEARTBEAT') {
            received(event);
          }
        }
      }
    } catch (e) {
      if (controller.signal.aborted) return;
    }
    live.textContent = 'reconnecting…';
    live.classList.remove('on');
    // the stream ended (the guard restarted, the network went away): connect again, waiting longer each time
    await new Promise(resolve => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 30000);
  }
}

/** A result event just published: the page that shows it changes in place. */
function received(event) {
  const page = currentPage();
  if (page === 'running') {
    const card = document.getElementById('export-' + event.requestId);
    if (event.type === 'PROGRESS' && card && event.image && typeof event.image.progress === 'number') {
      setProgress(card, event.image.progress);
      return;
    }
    if (['COMPLETED', 'FAILED'].includes(event.type) && card) {
      if (event.image && typeof event.image.progress === 'number') setProgress(card, event.image.progress);
      state.ended.set(event.requestId, { event, card });
    }
    scheduleRefresh();
  } else if (page === 'request' && decodeURIComponent(routeArgument()) === event.requestId) {
    scheduleRefresh();
  } else if (page === 'history' && state.historyCursors.length === 1) {
    scheduleRefresh();
  }
}

function scheduleRefresh() {
  clearTimeout(state.refresh);
  state.refresh = setTimeout(refreshPage, 150);
}

// ---- routing ----

function currentPage() {
  const match = location.hash.match(/^#\/([a-z-]+)/);
  return match ? match[1] : 'running';
}

function routeArgument() {
  const match = location.hash.match(/^#\/[a-z-]+\/([^?]*)/);
  return match ? match[1] : '';
}

function routeQuery() {
  const index = location.hash.indexOf('?');
  return new URLSearchParams(index >= 0 ? location.hash.slice(index + 1) : '');
}

function route() {
  let page = state.token ? currentPage() : 'sign-in';
  if (state.token && page === 'sign-in') page = 'running';
  if (!document.getElementById('page-' + page)) page = 'running';
  for (const section of document.querySelectorAll('.page')) section.hidden = section.id !== 'page-' + page;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.page === page || (page === 'request' && link.dataset.page === 'history')) {
      link.setAttribute('aria-current', 'page');
    } else {
      link.removeAttribute('aria-current');
    }
  }
  document.title = 'VM Export Guard: ' + ({ 'sign-in': 'sign in', running: 'running now', history: 'history',
    request: 'request', summary: 'summary' })[page];
  if (page === 'sign-in') { $('#token').focus(); return; }
  refreshPage(true);
}

async function refreshPage(navigated) {
  if (!state.token) return;
  const page = currentPage();
  try {
    if (page === 'running') await showRunning();
    else if (page === 'history') await showHistory(navigated);
    else if (page === 'request') await showRequest();
    else if (page === 'summary') await showSummary();
  } catch (e) {
    if (!(e instanceof SignedOut)) {
      const target = $('#page-' + page + ' .error') || $('#history-error');
      target.hidden = false;
      target.textContent = 'Could not read from the guard: ' + e.message;
    }
  }
}

// ---- running now ----

function setProgress(card, progress) {
  const bar = $('.bar', card);
  bar.setAttribute('aria-valuenow', progress);
  $('span', bar).style.width = progress + '%';
  $('.bar-label', card).textContent = progress + '% copied';
}

function exportCard(e, ended) {
  const progress = typeof e.progress === 'number' ? e.progress : 0;
  const card = el('article', { class: 'card', id: 'export-' + e.requestId, 'data-request-id': e.requestId },
    el('h3', {}, el('a', { href: '#/request/' + encodeURIComponent(e.requestId) }, e.requestId), ' ',
      ended ? badge(ended) : badge(e.queuePosition ? 'QUEUED' : e.state === 'RUNNING' ? 'PROGRESS' : e.state)),
    el('div', { class: 'bar', role: 'progressbar', 'aria-label': 'Copy of ' + e.requestId, 'aria-valuemin': 0,
      'aria-valuemax': 100, 'aria-valuenow': progress }, el('span', { style: 'width:' + progress + '%' })),
    el('div', { class: 'bar-label' }, e.queuePosition ? 'waiting: number ' + e.queuePosition + ' in the queue'
      : (typeof e.progress === 'number' ? progress + '% copied' : e.state.toLowerCase().replace('_', ' '))),
    el('dl', {},
      el('dt', {}, 'VMs'), el('dd', { class: 'vms' }, (e.vms || []).join(', ') || '—'),
      el('dt', {}, 'Volume'), el('dd', {}, e.namespace + '/' + e.volumeName),
      el('dt', {}, 'Requester'), el('dd', { class: 'requester' }, e.requestedBy || '—'),
      el('dt', {}, 'Sent by'), el('dd', { class: 'caller' }, e.caller || '—'),
      el('dt', {}, 'Image'), el('dd', {}, e.imageDisplayName || e.imageName || '—'),
      el('dt', {}, 'Accepted'), el('dd', {}, time(e.acceptedAt))));
  return card;
}

async function showRunning() {
  const [active, summary] = await Promise.all([api('/api/dashboard/active'),
    api('/api/dashboard/summary?since=' + encodeURIComponent(new Date().toISOString()))]);
  const list = $('#running-list');
  const cards = active.map(e => exportCard(e));
  // exports that ended while the page was open stay, with their outcome, until the page is left
  for (const [id, { event, card }] of state.ended) {
    if (active.some(e => e.requestId === id)) continue;
    const kept = card.cloneNode(true);
    $('.badge', kept).replaceWith(badge(event.type));
    $('.bar-label', kept).textContent = event.type === 'COMPLETED' ? 'completed: 100% copied'
      : 'failed: ' + (event.reason || '');
    cards.push(kept);
  }
  list.replaceChildren(...(cards.length ? cards : [el('p', { class: 'muted' }, 'No export is running or waiting.')]));
  $('#queue-line').textContent = summary.running + ' running of at most ' + summary.maxConcurrent + ' at once, '
    + summary.queued + ' waiting.';
}

// ---- history ----

function filterQuery(form) {
  const query = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (!value) continue;
    // a datetime-local input holds no zone: it is read as UTC, as the labels say
    query.set(name, form.elements[name].type === 'datetime-local' ? new Date(value + 'Z').toISOString() : value);
  }
  return query;
}

function fillForm(form, query) {
  for (const element of form.elements) {
    if (!element.name) continue;
    const value = query.get(element.name) || '';
    element.value = element.type === 'datetime-local' && value ? value.replace(/(:\d\d)(\.\d+)?Z$/, '$1') : value;
  }
}

async function reasons() {
  if (!state.reasons) {
    // the reason codes, from the guard's published event schema
    const schema = await (await fetch('/schemas/export-result-v1.json')).json();
    const codes = new Set();
    for (const def of ['refusalReason', 'failureReason']) (schema.$defs[def].enum || []).forEach(c => codes.add(c));
    codes.add('RESTART_FAILED');
    state.reasons = [...codes].sort();
  }
  return state.reasons;
}

async function showHistory(navigated) {
  const form = $('#filters');
  const query = routeQuery();
  const select = form.elements.reason;
  if (select.options.length === 1) {
    for (const code of await reasons()) select.append(el('option', { value: code }, code));
  }
  fillForm(form, query);
  if (navigated) state.historyCursors = [query.get('cursor') || null];
  const cursor = state.historyCursors[state.historyCursors.length - 1];
  const ask = new URLSearchParams(query);
  ask.delete('cursor');
  if (cursor) ask.set('cursor', cursor);
  const page = await api('/api/dashboard/requests?' + ask);
  $('#history-error').hidden = true;
  const rows = page.items.map(r => el('tr', { 'data-request-id': r.requestId },
    el('td', {}, time(r.receivedAt)),
    el('td', { class: 'id' }, el('a', { href: '#/request/' + encodeURIComponent(r.requestId) }, r.requestId)),
    el('td', {}, badge(r.outcome || 'IN_PROGRESS')),
    el('td', {}, r.reason || ''),
    el('td', {}, r.namespace || ''),
    el('td', {}, [r.vmName, r.volumeName].filter(Boolean).join(' / ')),
    el('td', {}, r.requestedBy || '')));
  $('#history-table tbody').replaceChildren(...rows);
  $('#history-empty').hidden = rows.length > 0;
  $('#next-page').hidden = !page.nextCursor;
  $('#next-page').dataset.cursor = page.nextCursor || '';
  $('#first-page').hidden = state.historyCursors.length === 1;
}

async function downloadCsv() {
  const query = filterQuery($('#filters'));
  const response = await api('/api/dashboard/requests.csv?' + query, { raw: true, accept: 'text/csv' });
  const disposition = response.headers.get('Content-Disposition') || '';
  const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || 'vm-export-guard-requests.csv';
  const url = URL.createObjectURL(await response.blob());
  const link = el('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---- one request ----

function evidence(observed) {
  if (!observed) return null;
  const parts = [el('h3', {}, 'What the decision saw' + (observed.readAt ? ' (read ' + time(observed.readAt) + ')' : ''))];
  if (observed.volume) {
    parts.push(el('p', { class: 'evidence-volume' }, 'Volume ' + observed.volume.name + ': ' + (observed.volume.phase || '?')
      + (observed.volume.storageClassName ? ', storage class ' + observed.volume.storageClassName : '')));
  }
  const vms = observed.vms || [];
  parts.push(vms.length ? el('table', { class: 'evidence-vms' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'VM'), el('th', { scope: 'col' }, 'Status'),
      el('th', { scope: 'col' }, 'Run strategy'), el('th', { scope: 'col' }, 'VM instance'))),
    el('tbody', {}, vms.map(v => el('tr', {}, el('td', {}, v.name),
      el('td', {}, v.printableStatus || 'no VirtualMachine'), el('td', {}, v.runStrategy || ''),
      el('td', {}, v.vmiPhase ? v.vmiPhase + (v.startPending ? ' (start pending)' : '') : 'none'))))) :
    el('p', {}, 'No VM uses the volume.'));
  const pods = observed.pods || [];
  if (pods.length) {
    parts.push(el('table', { class: 'evidence-pods' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Pod mounting the volume'), el('th', { scope: 'col' }, 'Phase'),
        el('th', { scope: 'col' }, 'Role'))),
      el('tbody', {}, pods.map(p => el('tr', {}, el('td', {}, p.name), el('td', {}, p.phase || ''),
        el('td', {}, (p.role || '') + (p.vmName ? ' of ' + p.vmName : '')))))));
  } else {
    parts.push(el('p', {}, 'No pod mounts the volume.'));
  }
  return el('section', { class: 'evidence' }, parts);
}

async function showRequest() {
  const id = decodeURIComponent(routeArgument());
  $('#request-id').textContent = id;
  $('#request-error').hidden = true;
  let status;
  try {
    status = await api('/api/exports/' + encodeURIComponent(id));
  } catch (e) {
    if (e instanceof SignedOut) throw e;
    $('#request-body').replaceChildren();
    $('#request-error').hidden = false;
    $('#request-error').textContent = 'No such request in a namespace you may read.';
    return;
  }
  const events = status.history.filter(h => h.type !== 'RECEIVED');
  const received = status.history.find(h => h.type === 'RECEIVED');
  const decided = [...events].reverse().find(h => h.observed);
  const body = [
    el('dl', { class: 'facts' },
      el('dt', {}, 'Status'), el('dd', { id: 'request-status' }, badge(status.status), status.reason ? ' ' + status.reason : ''),
      el('dt', {}, 'Namespace'), el('dd', {}, status.namespace || '—'),
      el('dt', {}, 'VM'), el('dd', {}, status.vmName || '—'),
      el('dt', {}, 'Volume'), el('dd', {}, status.volumeName || '—'),
      el('dt', {}, 'Requester'), el('dd', {}, status.requestedBy || '—'),
      el('dt', {}, 'Sent by'), el('dd', {}, status.caller || '—'),
      el('dt', {}, 'Image'), el('dd', {}, status.image ? status.image.namespace + '/' + status.image.name
        + (status.image.displayName ? ' (' + status.image.displayName + ')' : '') : '—'),
      el('dt', {}, 'Received'), el('dd', {}, received ? time(received.occurredAt) : '—')),
    el('h3', {}, 'What a chat bot would show'),
    el('p', { class: 'message', id: 'request-message' }, status.message || 'Received; no answer yet.'),
    evidence(decided && decided.observed),
    el('h3', {}, 'Events, in order'),
    el('ol', { class: 'events' }, events.map(h => el('li', {}, badge(h.type), ' ', time(h.occurredAt),
      h.reason ? ' ' + h.reason : '', h.message ? el('div', { class: 'muted' }, h.message) : null)))
  ];
  $('#request-body').replaceChildren(...body.filter(Boolean));
}

// ---- summary ----

function bars(rows, max, cls) {
  return el('div', { class: 'chart' }, rows.map(([label, count]) => el('div', { class: 'row' },
    el('span', {}, label), el('div', { class: 'fill ' + (cls ? label : ''), style: 'width:' + Math.max(1, 100 * count / max) + '%',
      role: 'img', 'aria-label': label + ': ' + count }), el('span', {}, String(count)))));
}

async function showSummary() {
  const form = $('#summary-filters');
  const query = routeQuery();
  fillForm(form, query);
  const summary = await api('/api/dashboard/summary?' + query);
  const outcomes = new Map();
  const refusals = new Map();
  for (const c of summary.outcomes) {
    outcomes.set(c.key, (outcomes.get(c.key) || 0) + c.requests);
    if ((c.key === 'REJECTED' || c.key === 'FAILED') && c.detail) refusals.set(c.detail, (refusals.get(c.detail) || 0) + c.requests);
  }
  const outcomeRows = [...outcomes].sort((a, b) => b[1] - a[1]);
  const reasonRows = [...refusals].sort((a, b) => b[1] - a[1]).slice(0, 10);
  const days = new Map();
  for (const c of summary.days) {
    if (!days.has(c.key)) days.set(c.key, new Map());
    days.get(c.key).set(c.detail, c.requests);
  }
  const dayMax = Math.max(1, ...[...days.values()].map(d => [...d.values()].reduce((a, b) => a + b, 0)));
  const order = ['COMPLETED', 'ADMITTED', 'IN_PROGRESS', 'FAILED', 'REJECTED'];
  const colors = { COMPLETED: 'var(--ok)', ADMITTED: '#4f9a6b', IN_PROGRESS: 'var(--run)', FAILED: '#e0665e', REJECTED: 'var(--bad)' };
  const total = outcomeRows.reduce((a, r) => a + r[1], 0);
  $('#summary-body').replaceChildren(
    el('p', { id: 'summary-total' }, total + ' requests; ' + summary.running + ' exports running of at most '
      + summary.maxConcurrent + ', ' + summary.queued + ' waiting.'),
    el('h3', {}, 'Outcomes'),
    outcomeRows.length ? bars(outcomeRows, Math.max(1, ...outcomeRows.map(r => r[1])), true) : el('p', { class: 'muted' }, 'No request.'),
    el('h3', {}, 'Most frequent reasons for refusals and failures'),
    reasonRows.length ? el('div', { id: 'summary-reasons' }, bars(reasonRows, reasonRows[0][1], false)) : el('p', { class: 'muted' }, 'None.'),
    el('h3', {}, 'Requests per day (UTC), by outcome'),
    el('div', { class: 'legend' }, order.map(o => el('span', {}, el('span', { style: 'color:' + colors[o] }, '■ '), o === 'IN_PROGRESS' ? 'in progress' : o))),
    el('div', { class: 'days', role: 'list' }, [...days].map(([day, counts]) => el('div', { class: 'day', role: 'listitem',
      title: day + ': ' + order.filter(o => counts.get(o)).map(o => o + ' ' + counts.get(o)).join(', '),
      'aria-label': day + ': ' + order.filter(o => counts.get(o)).map(o => o + ' ' + counts.get(o)).join(', ') },
    el('div', { class: 'stack' }, order.filter(o => counts.get(o)).map(o => el('span', {
      style: 'height:' + (100 * counts.get(o) / dayMax) + '%;background:' + colors[o] }))),
    el('span', { class: 'label' }, day.slice(5)))))
  );
}

// ---- wiring ----

document.addEventListener('DOMContentLoaded', () => {
  $('#sign-in-form').addEventListener('submit', async event => {
    event.preventDefault();
    const token = $('#token').value.trim();
    state.token = token;
    try {
      await api('/api/dashboard/active');
    } catch (e) {
      if (!(e instanceof SignedOut)) {
        state.token = null;
        $('#sign-in-error').hidden = false;
        $('#sign-in-error').textContent = 'Could not sign in: ' + e.message;
      }
      return;
    }
    $('#token').value = '';
    $('#sign-in-error').hidden = true;
    signIn(token);
    location.hash = '#/running';
    route();
  });
  $('#sign-out').addEventListener('click', () => signOut(null));
  $('#filters').addEventListener('submit', event => {
    event.preventDefault();
    location.hash = '#/history?' + filterQuery(event.target);
  });
  $('#clear-filters').addEventListener('click', () => { location.hash = '#/history'; });
  $('#download-csv').addEventListener('click', () => downloadCsv().catch(e => {
    if (!(e instanceof SignedOut)) { $('#history-error').hidden = false; $('#history-error').textContent = e.message; }
  }));
  $('#next-page').addEventListener('click', () => {
    state.historyCursors.push($('#next-page').dataset.cursor);
    refreshPage();
  });
  $('#first-page').addEventListener('click', () => { state.historyCursors = [null]; refreshPage(); });
  $('#summary-filters').addEventListener('submit', event => {
    event.preventDefault();
    location.hash = '#/summary?' + filterQuery(event.target);
  });
  window.addEventListener('hashchange', () => {
    if (currentPage() !== 'running') state.ended.clear();
    route();
  });
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
  route();
});
