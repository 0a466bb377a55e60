/*
 * The operator page of sip-sidecar: plain browser JavaScript, no build step. It reads the operator API with
 * the bearer token kept in sessionStorage (never in a URL) and builds every element with textContent, so
 * AoRs, contacts and user agents (all chosen by whoever sends a REGISTER) are shown as text, never as HTML.
 */
'use strict';

(function main() {
  const TOKEN_KEY = 'sip-sidecar-api-token';
  const REFRESH_MS = 10000;
  const OUTCOME_SERIES = [
    { key: '200', label: '200', stroke: '#1a7f37' },
    { key: '401', label: '401', stroke: '#1f6feb' },
    { key: '403', label: '403', stroke: '#cf222e' },
    { key: '5xx', label: '5xx', stroke: '#9a6700' },
  ];

  const $ = (id) => document.getElementById(id);
  const state = { realm: '', q: '', cursor: null, pages: 0, selected: null, timer: undefined, charts: {} };

  class AuthError extends Error {}

  /** An element with attributes and children; strings become text nodes. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'onclick') node.addEventListener('click', value);
      else if (name === 'dataset') Object.assign(node.dataset, value);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function text(value) {
    return value === undefined || value === null || value === '' ? '–' : String(value);
  }

  function duration(seconds) {
    if (seconds === undefined || seconds === null) return '–';
    if (seconds < 90) return `${seconds} s`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
  }

  function timeOf(iso) {
    if (!iso) return '–';
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? '–' : date.toLocaleTimeString();
  }

  function untilOf(iso) {
    if (!iso) return '–';
    const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
    return Number.isNaN(seconds) ? '–' : seconds <= 0 ? 'due' : `in ${duration(seconds)}`;
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  }

  async function api(path, method) {
    const res = await fetch(path, {
      method: method || 'GET',
      headers: { Authorization: `Bearer ${token()}`, Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
    });
    if (res.status === 401) throw new AuthError('The token was refused.');
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
    return body;
  }

  function setStatus(message) {
    $('status').textContent = message;
  }

  // ---- login ----

  function showLogin(message) {
    stopRefresh();
    sessionStorage.removeItem(TOKEN_KEY);
    $('app').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
    $('token').value = '';
    $('token').focus();
  }

  async function logIn(event) {
    event.preventDefault();
    const value = $('token').value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $('token').value = '';
    try {
      await api('/api/cluster');
    } catch (err) {
      showLogin(err instanceof AuthError ? 'Token refused.' : `Cannot reach the API: ${err.message}`);
      return;
    }
    showApp();
  }

  function showApp() {
    $('login').hidden = true;
    $('app').hidden = false;
    $('logout').hidden = false;
    refreshAll();
    stopRefresh();
    state.timer = setInterval(refreshAll, REFRESH_MS);
  }

  function stopRefresh() {
    clearInterval(state.timer);
    state.timer = undefined;
  }

  /** Runs one section's refresh; a refused token ends the session, other errors are shown in that section. */
  async function guarded(section, task) {
    try {
      await task();
      section.classList.remove('failed');
      return true;
    } catch (err) {
      if (err instanceof AuthError) {
        showLogin('The token was refused.');
      } else {
        section.classList.add('failed');
        setStatus(`${section.querySelector('h2').firstChild.textContent.trim()}: ${err.message}`);
      }
      return false;
    }
  }

  async function refreshAll() {
    const results = await Promise.all([
      guarded($('charts-section'), refreshCharts),
      guarded($('registrations-section'), refreshRegistrationsIfFirstPage),
      guarded($('carriers-section'), refreshCarriers),
      guarded($('cluster-section'), refreshCluster),
      guarded($('bans-section'), refreshBans),
    ]);
    if (results.every(Boolean)) setStatus(`updated ${new Date().toLocaleTimeString()}`);
  }

  // ---- charts ----

  function chartSize(container) {
    const width = Math.max(240, container.clientWidth);
    return { width, height: width < 500 ? 180 : 220 };
  }

  /** Dots only while a series has too few values to draw a line (a service started minutes ago). */
  function sparse(u, seriesIdx) {
    return u.data[seriesIdx].filter((v) => v !== null && v !== undefined).length < 3;
  }

  function makeChart(id, series, data) {
    const container = $(id);
    const options = {
      ...chartSize(container),
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [{}, { size: 48 }],
      legend: { live: false },
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, points: { show: sparse, size: 6 } }))],
    };
    container.replaceChildren();
    return new uPlot(options, data, container);
  }

  async function refreshCharts() {
    const { minutes } = await api('/api/stats');
    const times = minutes.map((m) => Math.floor(new Date(m.at).getTime() / 1000));
    const live = [times, minutes.map((m) => m.live)];
    const outcomes = [times, ...OUTCOME_SERIES.map((s) => minutes.map((m) => m.outcomes[s.key]))];
    if (!state.charts.live) {
      state.charts.live = makeChart('chart-live', [{ label: 'registrations', stroke: '#1f6feb' }], live);
      state.charts.outcomes = makeChart('chart-outcomes', OUTCOME_SERIES, outcomes);
    } else {
      state.charts.live.setData(live);
      state.charts.outcomes.setData(outcomes);
    }
  }

  function resizeCharts() {
    if (state.charts.live) state.charts.live.setSize(chartSize($('chart-live')));
    if (state.charts.outcomes) state.charts.outcomes.setSize(chartSize($('chart-outcomes')));
  }

  // ---- registrations ----

  async function refreshRealms() {
    const { total, realms } = await api('/api/realms');
    $('registrations-total').textContent = `(${total} live)`;
    const chip = (label, realm, count) => el('button', {
      type: 'button',
      class: `chip${state.realm === realm ? ' active' : ''}`,
      onclick: () => { $('realm-filter').value = realm; search(); },
    }, count === undefined ? label : `${label} · ${count}`);
    const sorted = realms.slice().sort((a, b) => b.registrations - a.registrations || a.realm.localeCompare(b.realm));
    $('realms').replaceChildren(chip('all realms', '', total), ...sorted.map((r) => chip(r.realm, r.realm, r.registrations)));
  }

  function registrationQuery(cursor) {
    const params = new URLSearchParams({ limit: '50' });
    if (state.realm) params.set('realm', state.realm);
    if (state.q) params.set('q', state.q);
    if (cursor) params.set('cursor', cursor);
    return `/api/registrations?${params}`;
  }

  function registrationRow(reg) {
    const row = el('tr', { class: 'clickable', tabindex: '0', dataset: { aor: reg.aor } },
      el('td', {}, reg.aor),
      el('td', { class: 'wide' }, String(reg.bindings)),
      el('td', { class: 'wide' }, text(reg.contact)),
      el('td', { class: 'wide nowrap' }, text(reg.source)),
      el('td', { class: 'wide' }, text(reg.transport)),
      el('td', {}, text(reg.userAgent)),
      el('td', { class: 'nowrap' }, duration(reg.expiresIn)));
    if (reg.aor === state.selected) row.classList.add('selected');
    row.addEventListener('click', () => showDetail(reg.aor));
    row.addEventListener('keydown', (event) => { if (event.key === 'Enter') showDetail(reg.aor); });
    return row;
  }

  async function loadRegistrations(append) {
    const page = await api(registrationQuery(append ? state.cursor : null));
    const body = $('registrations').tBodies[0];
    const rows = page.registrations.map(registrationRow);
    if (append) body.append(...rows);
    else body.replaceChildren(...rows);
    state.cursor = page.nextCursor;
    state.pages = append ? state.pages + 1 : 1;
    $('more').hidden = !page.nextCursor;
    $('registrations-empty').hidden = body.rows.length > 0;
    $('registrations').hidden = body.rows.length === 0;
  }

  async function refreshRegistrationsIfFirstPage() {
    await refreshRealms();
    if (state.pages <= 1) await loadRegistrations(false);
    if (state.selected) await loadDetail(state.selected);
  }

  function search(event) {
    if (event) event.preventDefault();
    state.realm = $('realm-filter').value.trim().toLowerCase();
    state.q = $('search').value.trim();
    state.pages = 0;
    void guarded($('registrations-section'), async () => {
      await loadRegistrations(false);
      await refreshRealms();
    });
  }

  function grantItem(label, value) {
    return el('span', {}, el('b', {}, label), value);
  }

  function hookText(hook) {
    return hook ? `${hook.method ? `${hook.method} ` : ''}${hook.url}` : '–';
  }

  async function loadDetail(aor) {
    const detail = await api(`/api/registrations/${encodeURIComponent(aor)}`);
    $('detail-aor').textContent = detail.aor;
    const grant = detail.grant;
    $('detail-grant').replaceChildren(
      grantItem('call hook', hookText(grant.callHook)),
      grantItem('call status hook', hookText(grant.callStatusHook)),
      grantItem('direct app calling', grant.allowDirectAppCalling ? 'yes' : 'no'),
      grantItem('direct queue calling', grant.allowDirectQueueCalling ? 'yes' : 'no'),
      grantItem('direct user calling', grant.allowDirectUserCalling ? 'yes' : 'no'),
      grantItem('SBC', text(detail.sbcAddress)));
    // data-label: on a phone each binding is shown as a list of labelled lines instead of a wide row.
    $('detail-bindings').tBodies[0].replaceChildren(...detail.bindings.map((b) => el('tr', {},
      el('td', { 'data-label': 'Contact' }, b.contact),
      el('td', { 'data-label': 'Source' }, text(b.source)),
      el('td', { 'data-label': 'Transport' }, text(b.transport)),
      el('td', { 'data-label': 'User agent' }, text(b.userAgent)),
      el('td', { 'data-label': '+sip.instance' }, text(b.instanceId)),
      el('td', { 'data-label': 'Path' }, b.path.length ? b.path.join(', ') : '–'),
      el('td', { 'data-label': 'Call-ID' }, text(b.callId)),
      el('td', { 'data-label': 'CSeq' }, text(b.cseq)),
      el('td', { 'data-label': 'Expires in' }, duration(b.expiresIn)))));
    $('detail').hidden = false;
  }

  function showDetail(aor) {
    state.selected = aor;
    for (const row of $('registrations').tBodies[0].rows) row.classList.toggle('selected', row.dataset.aor === aor);
    void guarded($('registrations-section'), async () => {
      try {
        await loadDetail(aor);
        $('detail').scrollIntoView({ behavior: 'smooth', block: 'nearest' });
      } catch (err) {
        if (!(err instanceof AuthError)) closeDetail();
        throw err;
      }
    });
  }

  function closeDetail() {
    state.selected = null;
    $('detail').hidden = true;
    for (const row of $('registrations').tBodies[0].rows) row.classList.remove('selected');
  }

  // ---- carriers ----

  async function refreshCarriers() {
    const status = await api('/api/carriers');
    $('carriers-note').textContent = status.gateways.length === 0
      ? 'No carrier gateway needs registration.'
      : `${status.gateways.length} gateway(s); regbot lease: ${status.mode}. States marked * come from MySQL (register_status), not live.`;
    $('carriers').tBodies[0].replaceChildren(...status.gateways.map((g) => el('tr', {},
      el('td', {}, g.carrierName),
      el('td', {}, el('span', { class: `state ${g.state}` }, `${g.state}${g.source === 'database' ? ' *' : ''}`)),
      el('td', {}, text(g.lastResponse)),
      el('td', { class: 'wide nowrap' }, timeOf(g.lastResponseAt)),
      el('td', { class: 'nowrap' }, g.nextRefresh ? untilOf(g.nextRefresh) : text(g.note)),
      el('td', { class: 'wide' }, text(g.aor)),
      el('td', { class: 'wide' }, g.owner ? `${g.owner.slice(0, 8)}${g.ownedHere ? ' (this)' : ''}` : '–'))));
  }

  // ---- cluster ----

  function hostOf(member) {
    const bracketed = /^\[([^\]]+)\]:\d+$/.exec(member);
    if (bracketed) return bracketed[1];
    const parts = member.split(':');
    return parts.length === 2 ? parts[0] : member;
  }

  function listOrEmpty(list, items, empty) {
    $(list).replaceChildren(...(items.length ? items : [el('li', { class: 'empty' }, empty)]));
  }

  function drainButton(ip, drained) {
    return el('button', {
      type: 'button',
      class: drained ? '' : 'danger',
      onclick: () => guarded($('cluster-section'), async () => {
        await api(`/api/feature-servers/${encodeURIComponent(ip)}/drain`, drained ? 'DELETE' : 'POST');
        await refreshCluster();
      }),
    }, drained ? 'Undrain' : 'Drain');
  }

  async function refreshCluster() {
    const cluster = await api('/api/cluster');
    $('cluster-name').textContent = `cluster ${cluster.clusterId}`;
    const listed = new Set(cluster.featureServers.map((fs) => hostOf(fs.server)));
    const servers = cluster.featureServers.map((fs) => el('li', {},
      el('span', { class: 'grow' }, fs.server),
      el('span', { class: `state ${fs.status}` }, fs.status),
      drainButton(hostOf(fs.server), fs.status === 'drained')));
    const orphans = cluster.drained.filter((ip) => !listed.has(ip)).map((ip) => el('li', {},
      el('span', { class: 'grow' }, ip),
      el('span', { class: 'state drained' }, 'drained (not checking in)'),
      drainButton(ip, true)));
    listOrEmpty('feature-servers', [...servers, ...orphans], 'none checking in');
    listOrEmpty('rtp-servers', cluster.rtpServers.map((server) => el('li', {}, el('span', { class: 'grow' }, server))), 'none checking in');
    listOrEmpty('sidecars', cluster.sidecars.map((s) => el('li', {},
      el('span', { class: 'grow' }, `${s.instanceId}${s.self ? ' (this one)' : ''}`),
      el('span', {}, `${s.gateways} trunk(s)`))), 'regbot not running');
  }

  // ---- bans ----

  const WHY = {
    'source-failures': 'failed authentications from this source',
    'aor-failures': 'failed authentications against',
    hook: 'registration hook blacklist',
    unknown: 'banned',
  };

  function banReason(ban) {
    const why = WHY[ban.why] || WHY.unknown;
    const count = ban.failures ? ` (${ban.failures})` : '';
    return ban.why === 'aor-failures' ? `${why} ${ban.aor}${count}` : `${why}${count}`;
  }

  async function refreshBans() {
    const { total, bans } = await api('/api/bans');
    $('bans-total').textContent = total ? `(${total})` : '';
    $('bans').tBodies[0].replaceChildren(...bans.map((ban) => el('tr', { dataset: { ip: ban.ip } },
      el('td', { class: 'nowrap' }, ban.ip),
      el('td', {}, banReason(ban)),
      el('td', { class: 'nowrap' }, duration(ban.remainingSeconds)),
      el('td', {}, el('button', {
        type: 'button',
        class: 'unban',
        onclick: () => guarded($('bans-section'), async () => {
          await api(`/api/bans/${encodeURIComponent(ban.ip)}`, 'DELETE');
          await refreshBans();
        }),
      }, 'Unban')))));
    $('bans-empty').hidden = bans.length > 0;
    $('bans').hidden = bans.length === 0;
  }

  // ---- start ----

  document.addEventListener('DOMContentLoaded', () => {
    $('login-form').addEventListener('submit', logIn);
    $('logout').addEventListener('click', () => showLogin(''));
    $('search-form').addEventListener('submit', search);
    $('more').addEventListener('click', () => guarded($('registrations-section'), () => loadRegistrations(true)));
    $('detail-close').addEventListener('click', closeDetail);
    let resizeTimer;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(resizeCharts, 150);
    });
    if (token()) showApp();
    else showLogin('');
  });
}());
