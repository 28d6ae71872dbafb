// The live screen's page: renders each snapshot pushed on /events (server-sent events). Every text
// from the snapshot is data and goes into the DOM through textContent only, never as HTML.
'use strict';

const KPIS = ['gmv', 'paid_gmv', 'orders', 'pv', 'uv', 'ip', 'vv', 'dau'];
const COLORS = ['#38bdf8', '#f472b6', '#a78bfa', '#34d399', '#fbbf24', '#fb923c', '#60a5fa', '#f87171', '#2dd4bf', '#c084fc'];
/** ads drawn in the clicks chart; the table below it lists them all */
const CHARTED_ADS = 10;
/** a watermark further behind than this is shown as late */
const LATE_MS = 120000;

const byId = (id) => document.getElementById(id);
let last = null;
/** server clock minus this browser's, measured at each snapshot: ages are the server's */
let skewMs = 0;
let pushedAt = null;
let received = 0;
let adsChart = null;
let trendChart = null;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** Digits of a count or decimal text grouped by thousands, without going through a float. */
function group(text) {
  if (text === null || text === undefined) return '–';
  const s = String(text);
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(s);
  if (m === null) return s;
  return m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (m[3] || '');
}

const formats = new Map();
function fmt(ms, parts) {
  const zone = last ? last.timezone : 'UTC';
  const key = zone + parts;
  let f = formats.get(key);
  if (f === undefined) {
    const options = { timeZone: zone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' };
    if (parts.includes('s')) options.second = '2-digit';
    if (parts.includes('d')) Object.assign(options, { year: 'numeric', month: '2-digit', day: '2-digit' });
    f = new Intl.DateTimeFormat('sv-SE', options);
    formats.set(key, f);
  }
  return f.format(new Date(ms));
}

function age(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return s + ' s';
  const m = Math.floor(s / 60);
  if (m < 120) return m + ' min ' + (s % 60) + ' s';
  const h = Math.floor(m / 60);
  return h < 48 ? h + ' h ' + (m % 60) + ' min' : Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
}

const now = () => Date.now() + skewMs;

function windowLabel(start, end) {
  return fmt(start, 'd') + ' – ' + fmt(end, '') + ' (' + last.timezone + ')';
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function show(id, visible) {
  byId(id).hidden = !visible;
}

function renderKpis(s) {
  byId('kpi-day').textContent = s.today.day;
  show('kpi-none', s.today.kpi === null);
  for (const k of KPIS) {
    const value = s.today.kpi === null ? null : s.today.kpi[k];
    document.querySelector('[data-kpi="' + k + '"]').textContent = group(value);
  }
  byId('blacklist-size').textContent = group(s.blacklistSize);
}

function renderOrders(s) {
  const o = s.orders;
  show('orders-empty', o === null);
  byId('orders-window').textContent = o === null ? '' : windowLabel(o.start, o.end);
  byId('top3-window').textContent = o !== null && o.top3Start !== null && o.top3Start !== o.start ? 'of ' + fmt(o.top3Start, 'd') : '';
  const totals = byId('orders-totals');
  totals.replaceChildren();
  if (o !== null) {
    totals.append('all provinces: ', el('b', 'total-orders', group(o.totals.orders)), ' orders, ', el('b', 'total-amount', group(o.totals.amount)), ' in ' + o.totals.cities + ' cities');
  }
  fill(
    byId('provinces').tBodies[0],
    (o === null ? [] : o.provinces).map((p) => {
      const tr = el('tr');
      tr.dataset.province = p.province;
      const cities = el('ol');
      for (const c of p.top3) {
        const li = el('li');
        li.dataset.rank = String(c.rank);
        li.append(el('span', 'rank', c.rank), el('span', 'city', c.city), el('span', 'fig', group(c.orders) + ' · ' + group(c.amount)));
        cities.append(li);
      }
      const top3 = el('td', 'top3');
      top3.append(cities);
      tr.append(el('td', 'province', p.province), el('td', 'num orders', group(p.orders)), el('td', 'num amount', group(p.amount)), top3);
      return tr;
    }),
  );
}

function chartDefaults() {
  Chart.defaults.color = '#8a9ab5';
  Chart.defaults.borderColor = '#24324a';
  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
}

function renderAds(s) {
  const a = s.ads;
  byId('ads-window').textContent = a === null ? '' : windowLabel(a.start, a.end);
  const totals = byId('ads-totals');
  totals.replaceChildren();
  if (a !== null) totals.append(el('b', 'total-clicks', group(a.totalClicks)), ' clicks on ' + a.ads.length + ' ads');
  const ads = a === null ? [] : a.ads;
  fill(
    byId('ads').tBodies[0],
    ads.map((ad) => {
      const tr = el('tr');
      tr.dataset.ad = String(ad.adId);
      tr.append(el('td', 'ad', 'ad ' + ad.adId), el('td', 'num clicks', group(ad.clicks)));
      return tr;
    }),
  );
  const charted = ads.slice(0, CHARTED_ADS);
  const data = { labels: charted.map((ad) => 'ad ' + ad.adId), datasets: [{ label: 'clicks', data: charted.map((ad) => ad.clicks), backgroundColor: COLORS[0] }] };
  if (adsChart === null) {
    adsChart = new Chart(byId('ads-chart'), { type: 'bar', data, options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } });
  } else {
    adsChart.data = data;
    adsChart.update();
  }
}

function renderTrend(s) {
  const t = s.trend;
  show('trend-empty', t === null);
  byId('trend-window').textContent = t === null ? '' : fmt(t.minutes[0], '') + ' – ' + fmt(t.minutes[t.minutes.length - 1] + 60000, '');
  const data = {
    labels: t === null ? [] : t.minutes.map((m) => fmt(m, '')),
    datasets: (t === null ? [] : t.series).map((series, i) => ({
      label: 'ad ' + series.adId,
      data: series.clicks,
      borderColor: COLORS[i % COLORS.length],
      backgroundColor: COLORS[i % COLORS.length],
      pointRadius: 0,
      borderWidth: 2,
      tension: 0.25,
    })),
  };
  if (trendChart === null) {
    trendChart = new Chart(byId('trend-chart'), {
      type: 'line',
      data,
      options: { interaction: { mode: 'index', intersect: false }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: { maxTicksLimit: 12 } } } },
    });
  } else {
    trendChart.data = data;
    trendChart.update();
  }
}

function renderHotAds(s) {
  byId('hot-day').textContent = s.today.day;
  show('hot-empty', s.today.hotAds.length === 0);
  fill(
    byId('hot-ads').tBodies[0],
    s.today.hotAds.map((h) => {
      const tr = el('tr');
      tr.dataset.province = h.province;
      tr.append(el('td', 'province', h.province));
      for (let rank = 1; rank <= 3; rank++) {
        const r = h.ranking[rank - 1];
        const td = el('td', 'hot', r === undefined ? '' : 'ad ' + r.ad_id + ' · ' + group(r.clicks));
        td.dataset.rank = String(rank);
        tr.append(td);
      }
      return tr;
    }),
  );
}

function renderAlerts(s) {
  show('alerts-empty', s.alerts.length === 0);
  byId('alerts').replaceChildren(
    ...s.alerts.map((a) => {
      const li = el('li', a.kind);
      li.append(el('span', 'time', fmt(a.time, 'ds')), el('span', 'kind', a.kind), el('span', 'subject', a.subject), el('span', 'muted', ' value ' + a.value + ' > threshold ' + a.threshold), el('span', 'detail', a.detail));
      return li;
    }),
  );
}

function renderHealth(s) {
  show('watermarks-empty', s.watermarks.length === 0);
  fill(
    byId('watermarks').tBodies[0],
    s.watermarks.map((w) => {
      const tr = el('tr');
      tr.dataset.job = w.job;
      tr.dataset.watermark = String(w.watermark);
      const delay = el('td', 'num delay');
      tr.append(el('td', 'job', w.job), el('td', 'watermark', fmt(w.watermark, 'ds')), delay);
      return tr;
    }),
  );
  const lag = s.lag;
  byId('lag-state').textContent = lag.state === 'off' ? 'not read (RTDW_SCREEN_LAG_POLL_MS=0): see the metrics' : lag.state === 'pending' ? 'reading…' : lag.state === 'error' ? 'unreadable: ' + lag.message : lag.groups.length === 0 ? 'no consumer group of this namespace' : '';
  fill(
    byId('lag').tBodies[0],
    (lag.state === 'ok' ? lag.groups : []).map((g) => {
      const tr = el('tr');
      tr.dataset.group = g.group;
      tr.title = g.topics.join(', ');
      tr.append(el('td', 'group', g.group), el('td', 'num lag', group(g.lag)));
      return tr;
    }),
  );
  show('problems-title', s.problems.length > 0);
  byId('problems').replaceChildren(...s.problems.map((p) => el('li', '', p)));
}

/** The parts that age with the clock: refreshed every second between snapshots. */
function renderAges() {
  if (last === null) return;
  const t = now();
  const f = last.freshness;
  const windowAge = byId('fresh-window');
  windowAge.textContent = f.newestWindowEnd === null ? 'none yet' : fmt(f.newestWindowEnd, 's') + ' (' + age(t - f.newestWindowEnd) + ' ago)';
  windowAge.classList.toggle('stale', f.newestWindowEnd !== null && t - f.newestWindowEnd > LATE_MS);
  const watermark = byId('fresh-watermark');
  watermark.textContent = f.newestWatermark === null ? 'none yet' : fmt(f.newestWatermark, 's') + ' (' + age(t - f.newestWatermark) + ' ago)';
  watermark.classList.toggle('stale', f.newestWatermark !== null && t - f.newestWatermark > LATE_MS);
  byId('fresh-pushed').textContent = pushedAt === null ? '–' : age(Date.now() - pushedAt) + ' ago';
  for (const tr of byId('watermarks').tBodies[0].rows) {
    const delay = t - Number(tr.dataset.watermark);
    const cell = tr.querySelector('.delay');
    cell.textContent = age(delay);
    cell.classList.toggle('late', delay > LATE_MS);
  }
}

function render(s) {
  last = s;
  skewMs = s.readAt - Date.now();
  pushedAt = Date.now();
  byId('namespace').textContent = s.namespace;
  const banner = byId('redis-error');
  banner.hidden = s.redisError === null;
  banner.textContent = s.redisError === null ? '' : 'Redis cannot be read (' + s.redisError + '): the figures below are the last ones read.';
  renderKpis(s);
  renderOrders(s);
  renderAds(s);
  renderTrend(s);
  renderHotAds(s);
  renderAlerts(s);
  renderHealth(s);
  renderAges();
  received += 1;
  document.body.dataset.snapshots = String(received);
  document.body.dataset.readAt = String(s.readAt);
}

function connect() {
  const status = byId('connection');
  const source = new EventSource('/events');
  source.addEventListener('open', () => {
    status.className = 'status live';
    status.textContent = 'live';
  });
  source.addEventListener('error', () => {
    status.className = 'status down';
    status.textContent = 'reconnecting';
  });
  source.addEventListener('snapshot', (e) => render(JSON.parse(e.data)));
}

chartDefaults();
connect();
setInterval(renderAges, 1000);
