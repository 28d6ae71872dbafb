/**
 * The rollups of schemas/clickhouse/rollups/0001_rollups.sql on the real ClickHouse: detail rows with every
 * version a pipeline writes (orders updated, moved to another 5 minutes, hour or day, deleted and
 * re-created; clicks whose `counted` flips both ways) arrive in three rounds, the rollups are made
 * current after each, and every rollup (5 min, 1 h, 1 day), read with FINAL, must equal the same
 * query over the detail rows with FINAL written here, per period and re-aggregated over the whole
 * range (distinct users merged across periods included). Last, the refreshable views are left to
 * their own schedule and must pick a new row up through all three levels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSERT_SETTINGS, quoteIdentifier, type ClickHouseClient } from '../../connectors/clickhouse/client.js';
import { migrate, readMigrations, ROLLUPS_DIR, ROLLUPS_LEDGER } from '../../connectors/clickhouse/migrations.js';
import { uniqueName } from '../support/stack.js';
import { clickhouse, dropDatabase, query, waitFor } from './support.js';

const database = uniqueName('rollups');
const db = quoteIdentifier(database);
const LEVELS = [
  { table: '5m', interval: 'INTERVAL 5 MINUTE' },
  { table: '1h', interval: 'INTERVAL 1 HOUR' },
  { table: '1d', interval: 'INTERVAL 1 DAY' },
] as const;
/** In dependency order: each level is computed from the one before. */
const REFRESH_VIEWS = ['order', 'ad_event'].flatMap((subject) => LEVELS.map((l) => `rollup_${subject}_${l.table}_refresh`));

/** mulberry32: the same rows on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ (t + t);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = random(13);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

const START = Date.UTC(2026, 10, 1, 22, 0, 0);
const SPAN_MS = 3 * 86_400_000;
const wall = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
const AREAS = [['浙江', '杭州'], ['浙江', '宁波'], ['广东', '深圳'], ['', '']] as const;
const STATUSES = ['created', 'paid', 'shipped', 'cancelled'] as const;

interface Order {
  order_id: number;
  user_id: number;
  province: string;
  city: string;
  amount: string;
  status: string;
  created_at: string;
  first_paid_at: string | null;
  paid_amount: string | null;
  _version: number;
  _is_deleted: number;
}

interface AdEvent {
  event_id: string;
  type: string;
  ts: string;
  user_id: number | null;
  ad_id: number | null;
  province: string;
  city: string;
  channel: string;
  device_id: string;
  session_id: string;
  ip: string;
  counted: number;
  _version: number;
}

function newOrder(orderId: number): Order {
  const [province, city] = pick(AREAS);
  const created = START + Math.floor(rnd() * SPAN_MS);
  const amount = (1 + Math.floor(rnd() * 50_000) / 100).toFixed(2);
  const paid = rnd() < 0.5;
  return {
    order_id: orderId,
    user_id: 1 + Math.floor(rnd() * 40),
    province,
    city,
    amount,
    status: paid ? 'paid' : pick(STATUSES),
    created_at: wall(created),
    first_paid_at: paid ? wall(created + 60_000) : null,
    paid_amount: paid ? amount : null,
    _version: 1,
    _is_deleted: 0,
  };
}

/** The next version of an order as the order wide job writes one: status, amount, payment, a moved created_at, or a delete. */
function changed(o: Order): Order {
  const next: Order = { ...o, _version: o._version + 1, _is_deleted: 0 };
  const r = rnd();
  if (r < 0.2) next._is_deleted = 1;
  else if (r < 0.45) next.created_at = wall(Date.parse(`${o.created_at.replace(' ', 'T')}Z`) + pick([-7, 3, 61, 1500, -1500]) * 60_000);
  else if (r < 0.7) next.status = pick(STATUSES);
  else if (r < 0.85) next.amount = (Number(o.amount) + 0.01 + Math.floor(rnd() * 1000) / 100).toFixed(2);
  else {
    next.first_paid_at = wall(Date.parse(`${o.created_at.replace(' ', 'T')}Z`) + 120_000);
    next.paid_amount = next.amount;
  }
  return next;
}

function newEvent(i: number): AdEvent {
  const type = pick(['page_view', 'ad_impression', 'ad_click', 'ad_click'] as const);
  const [province, city] = pick(AREAS.slice(0, 3));
  const anonymous = type === 'page_view' && rnd() < 0.4;
  return {
    event_id: `ev-${i}`,
    type,
    ts: wall(START + Math.floor(rnd() * SPAN_MS)),
    user_id: anonymous ? null : 1 + Math.floor(rnd() * 30),
    ad_id: type === 'page_view' ? null : 1 + Math.floor(rnd() * 5),
    province,
    city,
    channel: pick(['app', 'web', 'mini']),
    device_id: `dev-${Math.floor(rnd() * 25)}`,
    session_id: `s-${i % 50}`,
    ip: `10.0.0.${i % 20}`,
    counted: 1,
    _version: 1,
  };
}

/** Orders query over the detail rows, the expected answer of every order rollup level. */
const ORDER_DETAIL = (interval: string) => `
  SELECT toDateTime(toStartOfInterval(created_at, ${interval}), 'UTC') AS period, province, city, status,
         toString(count()) AS orders, toString(sum(amount)) AS amount,
         toString(countIf(first_paid_at IS NOT NULL)) AS paid_orders, toString(sum(ifNull(paid_amount, 0))) AS paid_amount,
         toString(uniqExact(user_id)) AS buyers
  FROM ${db}.dwd_order_wide FINAL WHERE _is_deleted = 0
  GROUP BY period, province, city, status ORDER BY period, province, city, status`;
const ORDER_ROLLUP = (table: string) => `
  SELECT period, province, city, status, toString(orders) AS orders, toString(amount) AS amount,
         toString(paid_orders) AS paid_orders, toString(paid_amount) AS paid_amount, toString(uniqExactMerge(buyers)) AS buyers
  FROM ${db}.rollup_order_${table} FINAL
  GROUP BY period, province, city, status, orders, amount, paid_orders, paid_amount ORDER BY period, province, city, status`;
/** The BI question over the whole range: counted orders, their amount and distinct buyers per province. */
const ORDER_RANGE_DETAIL = `
  SELECT province, toString(count()) AS orders, toString(sum(amount)) AS amount, toString(uniqExact(user_id)) AS buyers
  FROM ${db}.dwd_order_wide FINAL WHERE _is_deleted = 0 AND status != 'cancelled' GROUP BY province ORDER BY province`;
const ORDER_RANGE_ROLLUP = (table: string) => `
  SELECT province, toString(sum(orders)) AS orders, toString(sum(amount)) AS amount, toString(uniqExactMerge(buyers)) AS buyers
  FROM ${db}.rollup_order_${table} FINAL WHERE status != 'cancelled' GROUP BY province ORDER BY province`;

const EVENT_DETAIL = (interval: string) => `
  SELECT toDateTime(toStartOfInterval(ts, ${interval}), 'UTC') AS period, toString(ifNull(ad_id, 0)) AS ad, province, channel,
         toString(countIf(type = 'page_view')) AS page_views, toString(countIf(type = 'ad_impression')) AS impressions,
         toString(countIf(type = 'ad_click' AND counted = 1)) AS clicks, toString(uniqExact(user_id)) AS users,
         toString(uniqExactIf(user_id, type = 'ad_click' AND counted = 1)) AS clickers, toString(uniqExactIf(device_id, type = 'page_view')) AS devices
  FROM ${db}.dwd_ad_event FINAL
  GROUP BY period, ad, province, channel ORDER BY period, ad, province, channel`;
const EVENT_ROLLUP = (table: string) => `
  SELECT period, toString(ad_id) AS ad, province, channel, toString(page_views) AS page_views, toString(impressions) AS impressions,
         toString(clicks) AS clicks, toString(uniqExactMerge(users)) AS users, toString(uniqExactMerge(clickers)) AS clickers,
         toString(uniqExactMerge(devices)) AS devices
  FROM ${db}.rollup_ad_event_${table} FINAL
  GROUP BY period, ad_id, province, channel, page_views, impressions, clicks ORDER BY period, ad, province, channel`;
/** Per ad over the whole range: counted clicks, impressions and distinct clickers. */
const EVENT_RANGE_DETAIL = `
  SELECT toString(ifNull(ad_id, 0)) AS ad, toString(countIf(type = 'ad_click' AND counted = 1)) AS clicks,
         toString(countIf(type = 'ad_impression')) AS impressions, toString(uniqExactIf(user_id, type = 'ad_click' AND counted = 1)) AS clickers,
         toString(uniqExact(user_id)) AS users
  FROM ${db}.dwd_ad_event FINAL GROUP BY ad ORDER BY ad`;
const EVENT_RANGE_ROLLUP = (table: string) => `
  SELECT toString(ad_id) AS ad, toString(sum(clicks)) AS clicks, toString(sum(impressions)) AS impressions,
         toString(uniqExactMerge(clickers)) AS clickers, toString(uniqExactMerge(users)) AS users
  FROM ${db}.rollup_ad_event_${table} FINAL GROUP BY ad ORDER BY ad`;

describe('rollups', () => {
  let client: ClickHouseClient;
  const orders = new Map<number, Order>();
  const events = new Map<string, AdEvent>();

  const insert = async (table: string, values: object[]): Promise<void> => {
    await client.insert({ table: `${db}.${table}`, values, format: 'JSONEachRow', clickhouse_settings: INSERT_SETTINGS });
  };
  const serverSecond = async (): Promise<number> => Number((await query<{ s: string }>(client, 'SELECT toUnixTimestamp(now()) AS s'))[0]?.s);

  /**
   * Brings every rollup up to the detail: for each view in dependency order, a refresh that started
   * after everything below it was written (system.view_refreshes.last_success_time is the start of
   * the latest successful refresh, in whole seconds, hence the strict >).
   */
  const makeCurrent = async (): Promise<void> => {
    for (const view of REFRESH_VIEWS) {
      const after = await serverSecond();
      let requested = false;
      await waitFor(`${view} refreshed after ${after}`, async () => {
        // Polled, not SYSTEM WAIT VIEW: the local engine serves one request at a time, and a waiting one would hold it.
        if (!requested) await client.command({ query: `SYSTEM REFRESH VIEW ${db}.${view}` });
        requested = true;
        const [state] = await query<{ started: string | null; status: string; exception: string }>(
          client,
          'SELECT toUnixTimestamp(last_success_time) AS started, status, exception FROM system.view_refreshes WHERE database = {database:String} AND view = {view:String}',
          { database, view },
        );
        if (state === undefined) throw new Error(`${view} is not a refreshable view of ${database}`);
        if (state.exception !== '') throw new Error(`${view}: ${state.exception}`);
        if (state.started !== null && Number(state.started) > after) return true;
        // Refreshed, but started within the second of `after`: ask for another once this one is done.
        if (state.status === 'Scheduled') requested = false;
        return undefined;
      }, 60_000, 200);
    }
  };

  const expectRollupsEqualDetail = async (): Promise<void> => {
    for (const level of LEVELS) {
      const expectedOrders = await query(client, ORDER_DETAIL(level.interval));
      expect(expectedOrders.length).toBeGreaterThan(0);
      expect(await query(client, ORDER_ROLLUP(level.table)), `rollup_order_${level.table}`).toEqual(expectedOrders);
      expect(await query(client, ORDER_RANGE_ROLLUP(level.table)), `rollup_order_${level.table} over the range`).toEqual(await query(client, ORDER_RANGE_DETAIL));
      const expectedEvents = await query(client, EVENT_DETAIL(level.interval));
      expect(expectedEvents.length).toBeGreaterThan(0);
      expect(await query(client, EVENT_ROLLUP(level.table)), `rollup_ad_event_${level.table}`).toEqual(expectedEvents);
      expect(await query(client, EVENT_RANGE_ROLLUP(level.table)), `rollup_ad_event_${level.table} over the range`).toEqual(await query(client, EVENT_RANGE_DETAIL));
    }
  };

  const lhasa = async (table: string): Promise<{ final: string; tombstones: string } | undefined> =>
    (await query<{ final: string; tombstones: string }>(
      client,
      `SELECT toString((SELECT count() FROM ${db}.rollup_order_${table} FINAL WHERE province = '西藏')) AS final,
              toString((SELECT count() FROM ${db}.rollup_order_${table} WHERE province = '西藏' AND _is_deleted = 1)) AS tombstones`,
    ))[0];

  /** The next versions of a share of the orders and of the clicks, written as the DWD jobs write them. */
  const changeRound = async (share: number): Promise<void> => {
    // The one-order group (id 1000) stays deleted. An order deleted before comes back with a higher
    // version (the source re-inserted its id); every other order changes with probability `share`.
    const candidates = [...orders.values()].filter((o) => o.order_id !== 1000);
    const revived = candidates.filter((o) => o._is_deleted === 1).slice(0, 3).map((o) => ({ ...newOrder(o.order_id), _version: o._version + 1 }));
    const nextOrders = candidates.filter((o) => !revived.some((r) => r.order_id === o.order_id) && rnd() < share).map(changed);
    const nextClicks = [...events.values()].filter((e) => e.type === 'ad_click' && rnd() < share).map((e) => ({ ...e, counted: 1 - e.counted, _version: e._version + 1 }));
    for (const o of [...nextOrders, ...revived]) orders.set(o.order_id, o);
    for (const e of nextClicks) events.set(e.event_id, e);
    await insert('dwd_order_wide', [...nextOrders, ...revived]);
    await insert('dwd_ad_event', nextClicks);
  };

  beforeAll(async () => {
    client = clickhouse();
    await migrate(client, database);
    await migrate(client, database, readMigrations(ROLLUPS_DIR), ROLLUPS_LEDGER);
  });

  afterAll(async () => {
    await dropDatabase(client, database);
    await client.close();
  });

  it('equal the detail with FINAL at every period size after inserts, updates, moves and deletes', async () => {
    for (let id = 1; id <= 400; id++) orders.set(id, newOrder(id));
    for (let i = 1; i <= 800; i++) {
      const e = newEvent(i);
      events.set(e.event_id, e);
    }
    // A group of one order, deleted in the next round: its rollup rows must become tombstones.
    orders.set(1000, { ...newOrder(1000), province: '西藏', city: '拉萨', status: 'paid', created_at: '2026-11-02 03:04:05.000' });
    await insert('dwd_order_wide', [...orders.values()]);
    await insert('dwd_ad_event', [...events.values()]);
    await makeCurrent();
    await expectRollupsEqualDetail();
    for (const level of LEVELS) expect(await lhasa(level.table), `rollup_order_${level.table}: the one-order group`).toEqual({ final: '1', tombstones: '0' });

    const only = orders.get(1000) as Order;
    orders.set(1000, { ...only, _version: only._version + 1, _is_deleted: 1 });
    await insert('dwd_order_wide', [orders.get(1000) as Order]);
    await changeRound(0.4);
    await makeCurrent();
    await expectRollupsEqualDetail();
    for (const level of LEVELS) {
      // Gone from FINAL because its latest row is a tombstone (merges keep that one, drop the rows it replaced).
      expect(await lhasa(level.table), `rollup_order_${level.table}: the deleted group`).toEqual({ final: '0', tombstones: '1' });
    }

    await changeRound(0.3);
    await makeCurrent();
    await expectRollupsEqualDetail();

    // The scenario did what it claims: versions superseded, orders deleted, moved and revived, clicks flipped both ways.
    const [shape] = await query<{ raw: string; current: string }>(
      client,
      `SELECT toString((SELECT count() FROM ${db}.dwd_order_wide)) AS raw, toString((SELECT count() FROM ${db}.dwd_order_wide FINAL)) AS current`,
    );
    expect(Number(shape?.raw)).toBeGreaterThan(Number(shape?.current));
    // FINAL leaves the deleted orders out (ReplacingMergeTree's is_deleted): as many as the rows written say.
    expect(Number(shape?.current)).toBe([...orders.values()].filter((o) => o._is_deleted === 0).length);
    expect([...orders.values()].filter((o) => o._is_deleted === 1).length).toBeGreaterThan(10);
    expect([...orders.values()].filter((o) => o._is_deleted === 0 && o._version > 2).length).toBeGreaterThan(0);
    expect([...events.values()].filter((e) => e._version === 3 && e.counted === 1).length).toBeGreaterThan(0);
    const [tombstones] = await query<{ n: string }>(client, `SELECT toString(count()) AS n FROM ${db}.rollup_order_5m WHERE _is_deleted = 1`);
    expect(Number(tombstones?.n)).toBeGreaterThan(1);
  });

  it('refresh on their own schedule, every level', async () => {
    const late = { ...newOrder(5000), province: '海南', city: '三亚', status: 'paid', created_at: '2026-11-20 10:00:00.000' };
    await insert('dwd_order_wide', [late]);
    // Nobody triggers a refresh here: REFRESH EVERY 1 MINUTE, and each level DEPENDS ON the one below.
    const day = await waitFor('the new order in rollup_order_1d', async () => {
      const rows = await query<{ period: string; orders: string }>(client, `SELECT period, toString(orders) AS orders FROM ${db}.rollup_order_1d FINAL WHERE province = '海南'`);
      return rows.length > 0 ? rows : undefined;
    }, 240_000, 1000);
    expect(day).toEqual([{ period: '2026-11-20 00:00:00', orders: '1' }]);
    await expectRollupsEqualDetail();
  }, 300_000);
});
