// The d1-authz console: a few pages over the admin API. No framework, no inline script (the page's CSP
// forbids it), no data ever written as HTML: every value goes in through textContent.
const API = '/admin/v1';
const TOKEN_KEY = 'd1authz.adminToken';

const $ = (id) => document.getElementById(id);
let identity = null;
let countdownTimer = null;

/** An element with attributes and children; strings become text nodes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function toast(message) {
  $('toast').textContent = message;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error_description ?? `HTTP ${status}`);
    this.status = status;
  }
}

async function api(method, path, body, headers = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const res = await fetch(API + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (res.status === 401) {
    signOut('Your session ended: the token is no longer valid.');
    throw new ApiError(401, json);
  }
  if (!res.ok) throw new ApiError(res.status, json);
  return { json, etag: res.headers.get('etag') };
}

// ---- sign-in -------------------------------------------------------------------------------------

async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    identity = (await api('GET', '/whoami')).json;
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw err;
  }
  $('whoami').textContent = `${identity.name} (${identity.role})`;
  $('sign-in').hidden = true;
  $('nav').hidden = false;
  $('page').hidden = false;
  if (!location.hash || location.hash === '#/') location.hash = '#/overview';
  else route();
}

function signOut(message = '') {
  sessionStorage.removeItem(TOKEN_KEY);
  identity = null;
  $('nav').hidden = true;
  $('page').hidden = true;
  $('page').replaceChildren();
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = message;
  $('token').value = '';
  $('token').focus();
}

$('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('sign-in-error').textContent = '';
  try {
    await signIn($('token').value.trim());
  } catch (err) {
    $('sign-in-error').textContent = err.status === 401 ? 'That token is unknown, revoked or mistyped.' : `Cannot sign in: ${err.message}`;
    $('token').focus();
  }
});
$('sign-out').addEventListener('click', () => signOut());

// ---- pages ---------------------------------------------------------------------------------------

const pages = { overview, clients, keys, audit };

async function route() {
  if (!identity) return;
  clearInterval(countdownTimer);
  const [, name = 'overview', arg] = location.hash.split('/');
  const page = pages[name] ?? overview;
  for (const a of document.querySelectorAll('#nav a')) a.toggleAttribute('aria-current', a.dataset.page === name);
  const root = $('page');
  root.replaceChildren(el('p', {}, 'Loading…'));
  try {
    await page(root, arg && decodeURIComponent(arg));
  } catch (err) {
    if (err.status !== 401) root.replaceChildren(el('p', { class: 'error', role: 'alert' }, `Could not load: ${err.message}`));
  }
  const heading = root.querySelector('h2');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}
window.addEventListener('hashchange', route);

const canChange = () => identity?.role === 'admin';
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const words = (text) => text.split(/[\s,]+/).filter(Boolean);

function table(headers, rows, caption) {
  return el(
    'table',
    {},
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.length ? rows : [el('tr', {}, el('td', { colspan: headers.length }, 'Nothing yet.'))]),
  );
}

function duration(ms) {
  if (ms <= 0) return 'ended';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h ? `${h} h ` : ''}${m ? `${m} min ` : ''}${s % 60} s`;
}

// Overview: tokens per minute and failures by reason, latency, key age.
async function overview(root) {
  const [{ json: stats }, { json: keyList }] = await Promise.all([api('GET', '/stats?minutes=60'), api('GET', '/keys')]);
  const signing = keyList.items.find((k) => k.state === 'signing');
  const retiring = keyList.items.filter((k) => k.retire_at && Date.parse(k.retire_at) > Date.now()).sort((a, b) => Date.parse(a.retire_at) - Date.parse(b.retire_at))[0];
  const total = (series) => series.reduce((a, b) => a + b, 0);
  const chart = el('div', { id: 'chart', class: 'chart', role: 'img', 'aria-label': 'Tokens issued and failed per minute, last hour' });
  root.replaceChildren(
    el('h2', {}, 'Overview'),
    el(
      'dl',
      { class: 'facts' },
      el('dt', {}, 'Tokens issued (last hour)'),
      el('dd', { id: 'issued-total' }, String(total(stats.issued))),
      el('dt', {}, 'Failed requests (last hour)'),
      el('dd', {}, String(total(stats.failed))),
      el('dt', {}, 'p99 latency of issued tokens'),
      el('dd', {}, stats.p99_ms === null ? '—' : `${stats.p99_ms} ms`),
      el('dt', {}, 'Signing key'),
      el('dd', {}, signing ? `${signing.kid} (${signing.alg}), ${duration(Date.now() - Date.parse(signing.activate_at))} old` : 'none'),
      el('dt', {}, 'Next retirement'),
      el('dd', {}, retiring ? `${retiring.kid} at ${when(retiring.retire_at)}` : 'none planned'),
    ),
    el('h3', {}, 'Per minute'),
    chart,
    el('h3', {}, 'Failures by reason (last hour)'),
    table(['Reason', 'Count'], Object.entries(stats.failures_by_reason).map(([reason, n]) => el('tr', {}, el('td', {}, reason), el('td', {}, String(n)))), 'Failed token requests by reason'),
  );
  if (window.uPlot && stats.minutes.length) {
    const data = [stats.minutes.map((t) => Date.parse(t) / 1000), stats.issued, stats.failed];
    new window.uPlot(
      {
        width: Math.min(900, root.clientWidth || 900),
        height: 220,
        series: [{}, { label: 'issued', stroke: '#1f6f3f', width: 2 }, { label: 'failed', stroke: '#a4262c', width: 2 }],
        axes: [{}, { label: 'per minute' }],
      },
      data,
      chart,
    );
  }
}

function clientForm(initial, onSubmit, submitLabel) {
  const field = (name, label, value, attrs = {}) =>
    el('div', { class: 'field' }, el('label', { for: `f-${name}` }, label), el('input', { id: `f-${name}`, name, value: value ?? '', ...attrs }));
  const form = el(
    'form',
    { class: 'client-form' },
    initial ? null : field('client_id', 'Client id', '', { required: true, pattern: '[A-Za-z0-9_.~\\-]{1,128}', autocomplete: 'off' }),
    field('name', 'Name', initial?.name),
    field('scopes', 'Scopes (space-separated)', initial?.scopes.join(' ')),
    field('default_scopes', 'Default scopes', initial?.default_scopes.join(' ')),
    field('token_ttl', 'Token lifetime in seconds (empty: server default)', initial?.token_ttl ?? '', { inputmode: 'numeric', pattern: '\\d*' }),
    field('audience', 'Audience (empty: server default)', initial?.audience ?? ''),
    el('button', { type: 'submit' }, submitLabel),
    el('p', { class: 'error', role: 'alert' }),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    const body = {
      ...(initial ? {} : { client_id: v.client_id }),
      ...(v.name ? { name: v.name } : {}),
      scopes: words(v.scopes),
      default_scopes: words(v.default_scopes),
      token_ttl: v.token_ttl === '' ? null : Number(v.token_ttl),
      audience: v.audience === '' ? null : v.audience,
    };
    try {
      await onSubmit(body);
    } catch (err) {
      form.querySelector('.error').textContent = err.message;
    }
  });
  return form;
}

function secretOnce(clientId, secret) {
  const output = el('output', { id: 'new-secret', class: 'secret' }, secret);
  const copy = el('button', {
    type: 'button',
    onclick: async () => {
      await navigator.clipboard?.writeText(secret).catch(() => {});
      toast('Secret copied to the clipboard.');
    },
  }, 'Copy');
  return el(
    'div',
    { class: 'once', role: 'alert' },
    el('p', {}, el('strong', {}, `The secret of ${clientId}. `), 'It is shown this once and cannot be shown again: store it now.'),
    output,
    ' ',
    copy,
  );
}

async function clients(root, selected) {
  if (selected) return clientDetail(root, selected);
  const search = el('input', { id: 'search', type: 'search', 'aria-label': 'Search clients', placeholder: 'Search by id or name' });
  const list = el('div', {});
  const load = async () => {
    const { json } = await api('GET', `/clients?limit=500&q=${encodeURIComponent(search.value)}`);
    list.replaceChildren(
      table(
        ['Client id', 'Name', 'Scopes', 'Enabled', 'Updated'],
        json.items.map((c) =>
          el('tr', {}, el('td', {}, el('a', { href: `#/clients/${encodeURIComponent(c.client_id)}` }, c.client_id)), el('td', {}, c.name), el('td', {}, c.scopes.join(' ')), el('td', {}, c.enabled ? 'yes' : 'no'), el('td', {}, when(c.updated_at))),
        ),
        'Clients',
      ),
    );
  };
  search.addEventListener('input', () => load().catch(() => {}));
  const created = el('div', { id: 'created' });
  root.replaceChildren(
    el('h2', {}, 'Clients'),
    search,
    list,
    canChange()
      ? el(
          'details',
          { id: 'create' },
          el('summary', {}, 'Create a client'),
          clientForm(null, async (body) => {
            const { json } = await api('POST', '/clients', body);
            created.replaceChildren(secretOnce(json.client_id, json.client_secret));
            toast(`Client ${json.client_id} created.`);
            await load();
          }, 'Create'),
        )
      : null,
    created,
  );
  await load();
}

async function clientDetail(root, clientId) {
  const { json: c, etag } = await api('GET', `/clients/${encodeURIComponent(clientId)}`);
  const reload = () => clientDetail(root, clientId);
  const rotated = el('div', { id: 'rotated' });
  const action = (label, run) => el('button', { type: 'button', onclick: async () => {
    try {
      await run();
    } catch (err) {
      toast(err.message);
    }
  } }, label);
  const grace = c.secrets.map((s) => s.expires_at).filter((t) => t && Date.parse(t) > Date.now()).sort()[0];
  const countdown = el('span', { id: 'grace-countdown' });
  const tick = () => (countdown.textContent = grace ? `old secret ends in ${duration(Date.parse(grace) - Date.now())}` : 'no secret in a grace period');
  tick();
  countdownTimer = setInterval(tick, 1000);
  const graceInput = el('input', { id: 'grace', type: 'number', min: 0, max: 2592000, value: 3600, inputmode: 'numeric' });
  root.replaceChildren(
    el('h2', {}, `Client ${c.client_id}`),
    el('p', {}, el('a', { href: '#/clients' }, '← all clients')),
    el(
      'dl',
      { class: 'facts' },
      ...[
        ['Name', c.name],
        ['Enabled', c.enabled ? 'yes' : 'no'],
        ['Scopes', c.scopes.join(' ') || '(none)'],
        ['Default scopes', c.default_scopes.join(' ') || '(none)'],
        ['Token lifetime', c.token_ttl === null ? 'server default' : `${c.token_ttl} s`],
        ['Audience', c.audience ?? 'server default'],
        ['Authentication', c.token_endpoint_auth_method],
        ['Secrets', c.secrets.map((s) => `created ${when(s.created_at)}${s.expires_at ? `, ends ${when(s.expires_at)}` : ''}`).join('; ')],
      ].flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]),
      el('dt', {}, 'Grace period'),
      el('dd', {}, countdown),
    ),
    canChange()
      ? el(
          'div',
          { class: 'actions' },
          action(c.enabled ? 'Disable' : 'Enable', async () => {
            await api('POST', `/clients/${encodeURIComponent(clientId)}/${c.enabled ? 'disable' : 'enable'}`);
            toast(`Client ${clientId} ${c.enabled ? 'disabled' : 'enabled'}.`);
            await reload();
          }),
          el('label', { for: 'grace' }, 'Grace for the old secret (s)'),
          graceInput,
          action('Rotate secret', async () => {
            const { json } = await api('POST', `/clients/${encodeURIComponent(clientId)}/rotate-secret`, { grace_seconds: Number(graceInput.value) });
            await reload();
            $('rotated').replaceChildren(secretOnce(clientId, json.client_secret));
          }),
        )
      : null,
    rotated,
    canChange()
      ? el('details', { id: 'edit' }, el('summary', {}, 'Edit'), clientForm(c, async (body) => {
          await api('PATCH', `/clients/${encodeURIComponent(clientId)}`, body, { 'if-match': etag });
          toast(`Client ${clientId} updated.`);
          await reload();
        }, 'Save'))
      : null,
  );
}

async function keys(root) {
  const { json } = await api('GET', '/keys');
  root.replaceChildren(
    el('h2', {}, 'Signing keys'),
    table(
      ['Key id', 'Algorithm', 'State', 'Created', 'Signs from', 'Retires'],
      json.items.map((k) => el('tr', {}, el('td', {}, el('code', {}, k.kid)), el('td', {}, k.alg), el('td', { class: `state-${k.state}` }, k.state), el('td', {}, when(k.created_at)), el('td', {}, when(k.activate_at)), el('td', {}, when(k.retire_at)))),
      'Signing keys, newest first',
    ),
    canChange()
      ? el('button', { type: 'button', id: 'rotate-key', onclick: async () => {
          try {
            const { json: key } = await api('POST', '/keys/rotate', {});
            toast(`Key ${key.kid} published; it signs from ${when(key.activate_at)}.`);
            await keys(root);
          } catch (err) {
            toast(err.message);
          }
        } }, 'Rotate the signing key')
      : null,
  );
}

async function audit(root) {
  const form = el(
    'form',
    { id: 'audit-filters', class: 'filters' },
    el('label', { for: 'a-event' }, 'Event'),
    el('input', { id: 'a-event', name: 'event', placeholder: 'e.g. client.created' }),
    el('label', { for: 'a-client' }, 'Client'),
    el('input', { id: 'a-client', name: 'client' }),
    el('label', { for: 'a-since' }, 'Since'),
    el('input', { id: 'a-since', name: 'since', type: 'datetime-local' }),
    el('button', { type: 'submit' }, 'Filter'),
  );
  const results = el('div', { id: 'audit-results' });
  let cursor = null;
  const load = async (append) => {
    const v = Object.fromEntries(new FormData(form));
    const q = new URLSearchParams({ limit: '50' });
    if (v.event) q.set('event', v.event);
    if (v.client) q.set('client', v.client);
    if (v.since) q.set('since', new Date(v.since).toISOString());
    if (append && cursor) q.set('cursor', cursor);
    const { json } = await api('GET', `/audit?${q}`);
    cursor = json.next_cursor;
    const rows = json.items.map((e) => el('tr', {}, el('td', {}, when(e.at)), el('td', {}, e.type), el('td', {}, e.actor ?? '—'), el('td', {}, e.client_id ?? '—'), el('td', {}, el('code', {}, JSON.stringify(e.details ?? {})))));
    if (append) results.querySelector('tbody').append(...rows);
    else results.replaceChildren(table(['When', 'Event', 'Actor', 'Client', 'Details'], rows, 'Audit events, newest first'));
    more.hidden = !cursor;
  };
  const more = el('button', { type: 'button', id: 'audit-more', hidden: true, onclick: () => load(true).catch((err) => toast(err.message)) }, 'Older events');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    load(false).catch((err) => toast(err.message));
  });
  root.replaceChildren(el('h2', {}, 'Audit trail'), form, results, more);
  await load(false);
}

// ---- start ---------------------------------------------------------------------------------------

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved).catch(() => signOut());
else $('token').focus();
