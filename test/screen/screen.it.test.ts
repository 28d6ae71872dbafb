/**
 * `rtdw screen` in headless Chromium against the real Redis and Kafka: a scenario written with the
 * Redis sink under a namespace of its own, the page opened, and every figure it shows compared
 * with Redis, read here independently (expected rankings and sums are computed by this file, not
 * by the screen's code). Then a new window lands and the page must change without a reload. The
 * screenshots are kept in .rtdw/test-artifacts/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import { repoRoot } from '../../schemas/config.js';
import { redisLayout, type RedisLayout } from '../../schemas/redis-keys.js';
import { encodeScreenRecord } from '../../connectors/redis/encoder.js';
import { parseScreenRecord } from '../../connectors/redis/records.js';
import { RedisSink } from '../../connectors/redis/sink.js';
import { config, uniqueName } from '../support/stack.js';
import { capturedLogger, deleteNamespace, waitFor } from '../redis/support.js';
import { chromiumUnavailable, launchChromium } from './chromium.js';
import { readPageView, ungrouped, type PageView } from './page-view.js';

const H = 3_600_000;
const SLIDE = 300_000;
const M = 60_000;
const ZONE = 'Asia/Shanghai';
const ARTIFACTS = join(repoRoot, '.rtdw', 'test-artifacts');

const skip = await chromiumUnavailable();
if (skip !== undefined) console.warn(`screen browser test skipped: ${skip}`);

/** "Today" in the zone, by Intl (en-CA prints YYYY-MM-DD), independently of the screen's TimeZone. */
function today(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

const cents = (amount: string): bigint => BigInt(amount.replace('.', ''));
const money = (c: bigint): string => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;
const byCodePoint = (a: string, b: string): number => {
  const x = [...a].map((ch) => ch.codePointAt(0)!);
  const y = [...b].map((ch) => ch.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
};

/** What the page must show, from Redis read here, with the ranking rules. */
async function expectedView(redis: Redis, k: RedisLayout) {
  const latest = await redis.hgetall(k.latest());
  const cityHash = await redis.hgetall(k.orderCity1h(Number(latest.order_city_1h)));
  const top3Hash = await redis.hgetall(k.orderTop3City1h(Number(latest.order_top3_city_1h)));
  const sums = new Map<string, { orders: number; amount: bigint }>();
  for (const [field, value] of Object.entries(cityHash)) {
    const province = field.split('|')[0]!;
    const v = JSON.parse(value) as { orders: number; amount: string };
    const s = sums.get(province) ?? { orders: 0, amount: 0n };
    sums.set(province, { orders: s.orders + v.orders, amount: s.amount + cents(v.amount) });
  }
  const provinces = [...sums]
    .sort(([pa, a], [pb, b]) => (a.amount !== b.amount ? (b.amount > a.amount ? 1 : -1) : b.orders - a.orders || byCodePoint(pa, pb)))
    .map(([province, s]) => ({
      province,
      orders: String(s.orders),
      amount: money(s.amount),
      top3: (JSON.parse(top3Hash[province] ?? '[]') as Array<{ rank: number; city: string; orders: number; amount: string }>).map((r) => ({ rank: String(r.rank), city: r.city, fig: `${r.orders} · ${r.amount}` })),
    }));
  const ads = Object.entries(await redis.hgetall(k.adClicks1h(Number(latest.ad_clicks_1h))))
    .map(([ad, clicks]) => ({ ad, clicks: Number(clicks) }))
    .sort((a, b) => b.clicks - a.clicks || Number(a.ad) - Number(b.ad));
  const newestMinute = Number(latest.ad_click_trend_1m);
  const minutes = Array.from({ length: 60 }, (_, i) => String(newestMinute - (59 - i) * M));
  const trend = [];
  for (const { ad } of ads.slice(0, 5)) trend.push({ label: `ad ${ad}`, data: (await redis.hmget(k.adClickTrend1m(Number(ad)), ...minutes)).map((c) => Number(c ?? 0)) });
  const hot = Object.entries(await redis.hgetall(k.hotAdsDaily(today())))
    .map(([province, v]) => ({ province, ranking: JSON.parse(v) as Array<{ ad_id: number; clicks: number }> }))
    .sort((a, b) => b.ranking[0]!.clicks - a.ranking[0]!.clicks || byCodePoint(a.province, b.province))
    .map(({ province, ranking }) => ({ province, ranks: [0, 1, 2].map((i) => (ranking[i] === undefined ? '' : `ad ${ranking[i]!.ad_id} · ${ranking[i]!.clicks}`)) }));
  const alerts = (await redis.lrange(k.alerts(), 0, 19)).map((a) => JSON.parse(a) as { kind: string; subject: string; detail: string }).map(({ kind, subject, detail }) => ({ kind, subject, detail }));
  const watermarks = Object.entries(await redis.hgetall(k.watermark()))
    .sort(([a], [b]) => byCodePoint(a, b))
    .map(([job, watermark]) => ({ job, watermark }));
  return {
    windowStart: Number(latest.order_city_1h),
    provinces,
    totals: { orders: String(provinces.reduce((s, p) => s + Number(p.orders), 0)), amount: money(provinces.reduce((s, p) => s + cents(p.amount), 0n)), clicks: String(ads.reduce((s, a) => s + a.clicks, 0)) },
    ads: ads.map((a) => ({ ad: a.ad, clicks: String(a.clicks) })),
    adsChart: ads.slice(0, 10).map((a) => a.clicks),
    trend,
    hot,
    kpi: await redis.hgetall(k.dailyKpi(today())),
    blacklist: String(await redis.scard(k.blacklist())),
    alerts,
    watermarks,
  };
}

function compare(view: PageView, expected: Awaited<ReturnType<typeof expectedView>>): void {
  expect(view.provinces.map((p) => ({ province: p.province, orders: ungrouped(p.orders), amount: ungrouped(p.amount), top3: p.top3.map((c) => ({ ...c, fig: ungrouped(c.fig) })) }))).toEqual(expected.provinces);
  expect(view.provinces.every((p) => p.shown === p.province && p.elements === 0)).toBe(true);
  expect({ orders: ungrouped(view.totals.orders), amount: ungrouped(view.totals.amount), clicks: ungrouped(view.totals.clicks) }).toEqual(expected.totals);
  expect(view.ads.map((a) => ({ ad: a.ad, clicks: ungrouped(a.clicks) }))).toEqual(expected.ads);
  expect(view.adsChart?.datasets[0]?.data).toEqual(expected.adsChart);
  expect(view.trendChart?.datasets).toEqual(expected.trend);
  expect(view.hotAds.map((h) => ({ province: h.province, ranks: h.ranks.map((r) => ungrouped(r)) }))).toEqual(expected.hot);
  expect(Object.fromEntries(Object.entries(view.kpi).map(([kpi, v]) => [kpi, ungrouped(v)]))).toEqual(expected.kpi);
  expect(view.kpiDay).toBe(today());
  expect(ungrouped(view.blacklist)).toBe(expected.blacklist);
  expect(view.alerts).toEqual(expected.alerts);
  expect(view.watermarks.map(({ job, watermark }) => ({ job, watermark }))).toEqual(expected.watermarks);
  expect(view.problems).toEqual([]);
}

describe.skipIf(skip !== undefined)('rtdw screen in Chromium', () => {
  const ns = uniqueName('it_screen');
  const k = redisLayout({ namespace: ns, hashTags: false });
  const redis = new Redis(config.redis.url);
  const sink = new RedisSink({ url: config.redis.url, ttlSeconds: 3600, alertsMax: 100, retryMaxMs: 1000 }, capturedLogger().log);
  const kafka = new Kafka({ brokers: config.kafka.brokers, clientId: 'screen-test', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const topic = `${ns}.screen_in`;
  const group = `rtdw-${ns}.screen_job.read`;
  let version = 0;
  let screen: ChildProcess | undefined;
  let url = '';
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  // Windows that ended before now: the second one (W + 5 min) too.
  const W = Math.floor(Date.now() / SLIDE) * SLIDE - H - SLIDE;
  const newestMinute = Math.floor(Date.now() / M) * M - M;

  async function write(...records: unknown[]): Promise<void> {
    const outcome = await sink.write(records.flatMap((r) => encodeScreenRecord(parseScreenRecord(r), ++version, k)));
    expect(outcome.rejected).toEqual([]);
  }

  const cityWindow = (start: number, entries: Array<[string, string, number, string]>) => ({
    kind: 'order_city_1h',
    window_start: start,
    window_end: start + H,
    op: 'replace',
    entries: entries.map(([province, city, orders, amount]) => ({ province, city, orders, amount })),
  });
  const top3 = (start: number, province: string, ranking: Array<[string, number, string]>) => ({
    kind: 'order_top3_city_1h',
    window_start: start,
    window_end: start + H,
    op: 'upsert',
    entries: [{ province, ranking: ranking.map(([city, orders, amount], i) => ({ rank: i + 1, city, orders, amount })) }],
  });
  const adWindow = (start: number, clicks: Record<number, number>) => ({ kind: 'ad_clicks_1h', window_start: start, window_end: start + H, op: 'replace', entries: Object.entries(clicks).map(([ad, c]) => ({ ad_id: Number(ad), clicks: c })) });
  const alert = (ageMs: number, kind: string, subject: string, detail: string) => ({ kind: 'alert', alert: { time: Date.now() - ageMs, kind, subject, value: 101, threshold: 100, detail } });
  const XSS_CITY = `<img src=x onerror="document.title='xss'">`;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await write(
      cityWindow(W, [
        ['山东省', '青岛市', 3, '120.50'],
        ['山东省', '济南市', 1, '9.90'],
        ['山东省', '烟台市', 2, '45.00'],
        ['山东省', '潍坊市', 1, '5.00'],
        ['浙江省', '杭州市', 5, '200.00'],
        ['浙江省', '宁波市', 2, '80.10'],
        ['广东省', '广州市', 4, '150.00'],
        ['广东省', '深圳市', 6, '310.25'],
        ['江苏省', '南京市', 2, '60.00'],
        ['北京市', XSS_CITY, 1, '19.99'],
      ]),
      top3(W, '山东省', [['青岛市', 3, '120.50'], ['烟台市', 2, '45.00'], ['济南市', 1, '9.90']]),
      top3(W, '浙江省', [['杭州市', 5, '200.00'], ['宁波市', 2, '80.10']]),
      top3(W, '广东省', [['深圳市', 6, '310.25'], ['广州市', 4, '150.00']]),
      top3(W, '江苏省', [['南京市', 2, '60.00']]),
      top3(W, '北京市', [[XSS_CITY, 1, '19.99']]),
      adWindow(W, { 1: 40, 2: 35, 3: 90, 5: 12, 8: 41, 9: 12, 10: 12, 12: 7, 20: 3, 33: 66, 41: 1, 57: 28 }),
      ...[1, 2, 3, 8, 33, 57].map((ad) => ({
        kind: 'ad_click_trend_1m',
        ad_id: ad,
        op: 'upsert',
        // 70 minutes back: the oldest ten are outside the last hour and must not be drawn; minutes without clicks are not written.
        entries: Array.from({ length: 70 }, (_, i) => ({ minute_start: newestMinute - i * M, clicks: Math.max(0, Math.round(ad / 4 + 3 * Math.sin(i / 7 + ad))) })).filter((e) => e.clicks > 0),
      })),
      { kind: 'hot_ads_daily', day: today(), op: 'upsert', entries: [
        { province: '浙江省', ranking: [{ rank: 1, ad_id: 3, clicks: 90 }, { rank: 2, ad_id: 8, clicks: 41 }] },
        { province: '山东省', ranking: [{ rank: 1, ad_id: 33, clicks: 66 }, { rank: 2, ad_id: 1, clicks: 40 }, { rank: 3, ad_id: 2, clicks: 35 }] },
        { province: '广东省', ranking: [{ rank: 1, ad_id: 57, clicks: 28 }] },
      ] },
      { kind: 'daily_kpi', day: today(), op: 'upsert', complete: false, entries: [
        { kpi: 'pv', value: 123456 }, { kpi: 'uv', value: 3012 }, { kpi: 'ip', value: 2500 }, { kpi: 'vv', value: 4100 },
        { kpi: 'dau', value: 2800 }, { kpi: 'orders', value: 27 }, { kpi: 'gmv', value: '10234.74' }, { kpi: 'paid_gmv', value: '9000.5' },
      ] },
      { kind: 'blacklist', user_id: 1042 },
      { kind: 'blacklist', user_id: 77 },
      { kind: 'blacklist', user_id: 5 },
      { kind: 'watermark', job: 'ads_orders', watermark: Date.now() - 3000 },
      { kind: 'watermark', job: 'ads_clicks', watermark: Date.now() - 8000 },
      alert(600_000, 'order_brushing', 'user 7', '12 small orders in 10 min'),
      alert(300_000, 'payment_failure', 'payments', 'failure rate 0.31 in 1 min'),
      alert(60_000, 'click_bot', 'user 1042', 'ad 3: 101 clicks today'),
    );

    // A group of this namespace 6 records behind: 10 − 4 on partition 0, 5 − 5 on partition 1.
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [...Array.from({ length: 10 }, () => ({ partition: 0, value: 'x' })), ...Array.from({ length: 5 }, () => ({ partition: 1, value: 'y' }))] });
    await producer.disconnect();
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '4' }, { partition: 1, offset: '5' }] });

    const child = spawn(process.execPath, ['bin/rtdw.mjs', 'screen'], {
      cwd: repoRoot,
      env: { ...process.env, RTDW_NAMESPACE: ns, RTDW_TIMEZONE: ZONE, RTDW_SCREEN_PORT: '0', RTDW_SCREEN_LAG_POLL_MS: '1000', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    screen = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    url = await waitFor('the screen URL', () => {
      if (child.exitCode !== null) throw new Error(`rtdw screen exited ${child.exitCode}: ${stderr}`);
      return /rtdw screen: serving (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)?.[1];
    });

    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') pageErrors.push(m.text());
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    if (screen !== undefined && screen.exitCode === null) {
      const exited = new Promise((r) => screen!.once('exit', r));
      screen.kill('SIGTERM');
      await exited;
    }
    await admin.deleteGroups([group]).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await sink.close();
    await deleteNamespace(redis, ns);
    redis.disconnect();
  });

  it('shows what Redis holds, then the next window without a reload', async () => {
    await page.goto(url);
    await page.waitForFunction('Number(document.body.dataset.snapshots) >= 1 && document.querySelectorAll("#lag tbody tr").length > 0');
    let view = await readPageView(page);
    compare(view, await expectedView(redis, k));
    expect(view.connection).toBe('live');
    expect(view.redisError).toBeNull();
    expect(view.title).toBe('rtdw live screen');
    expect(view.lag).toEqual([{ group, lag: '6' }]);
    // The newest window is the newest trend minute (it ends a minute after it starts), shown with its age.
    expect(view.freshWindow).toMatch(/^\d{2}:\d{2}:\d{2} \(\d+ (s|min \d+ s) ago\)$/);
    expect(view.freshWatermark).toMatch(/\(\d+ s ago\)$/);
    expect(view.watermarks.every((w) => /^\d+ s$/.test(w.delay ?? ''))).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'screen-first.png'), fullPage: true });

    // The page is not reloaded: a mark left in it survives the update.
    await page.evaluate('window.__sameDocument = true');
    const before = view.snapshots;
    const W2 = W + SLIDE;
    await write(
      cityWindow(W2, [
        ['山东省', '青岛市', 4, '130.50'],
        ['河南省', '郑州市', 9, '999.90'],
        ['河南省', '洛阳市', 1, '0.10'],
      ]),
      top3(W2, '山东省', [['青岛市', 4, '130.50']]),
      top3(W2, '河南省', [['郑州市', 9, '999.90'], ['洛阳市', 1, '0.10']]),
      adWindow(W2, { 3: 95, 7: 50, 1: 50 }),
      { kind: 'blacklist', user_id: 9 },
      alert(1000, 'click_bot', 'user 9', 'ad 7: 101 clicks today'),
      { kind: 'watermark', job: 'ads_orders', watermark: Date.now() - 1000 },
    );
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '10' }] });
    await page.waitForFunction(`Number(document.body.dataset.snapshots) > ${before} && document.querySelector('#provinces tr[data-province="河南省"]') !== null && document.querySelector('#lag .lag')?.textContent === '0'`, undefined, { timeout: 30_000 });
    view = await readPageView(page);
    expect(await page.evaluate('window.__sameDocument === true')).toBe(true);
    const expected = await expectedView(redis, k);
    expect(expected.windowStart).toBe(W2);
    compare(view, expected);
    expect(view.provinces.map((p) => p.province)).toEqual(['河南省', '山东省']);
    expect(view.alerts[0]).toEqual({ kind: 'click_bot', subject: 'user 9', detail: 'ad 7: 101 clicks today' });
    expect(view.lag).toEqual([{ group, lag: '0' }]);
    await page.screenshot({ path: join(ARTIFACTS, 'screen.png'), fullPage: true });

    // Markup in the data was shown as text and never ran; no script error, no CSP violation.
    expect(view.title).toBe('rtdw live screen');
    expect(pageErrors).toEqual([]);
  });
});
