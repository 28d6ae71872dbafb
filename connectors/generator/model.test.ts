/**
 * The traffic model on fixed seeds. Expected figures are computed here from the actions alone,
 * with the pipeline's definitions (blacklist: more than N clicks of one user on one ad in one
 * calendar day of the source's zone, deduplicated, late events excluded) and Intl for calendars.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { SourceState } from '../../test/generator/source-state.js';
import type { Action, EventAction, RowAction } from './actions.js';
import { keyPartition } from './kafka-writer.js';
import { generate } from './model.js';
import type { GeneratorOptionsInput } from './options.js';

// Each test walks hundreds of thousands of actions: seconds on a machine busy with other work.
vi.setConfig({ testTimeout: 60_000 });

const ZONE = 'Asia/Shanghai';
/** An hour across local midnight: calendar days change under the traffic. */
const HOUR: GeneratorOptionsInput = { seed: 7, start: '2025-06-01T23:30:00+08:00', rate: 100, minutes: 60, timezone: ZONE };
const hour = [...generate(HOUR)];
const start = Date.parse('2025-06-01T23:30:00+08:00');

const isRow = (a: Action): a is RowAction => a.kind === 'row';
const isEvent = (a: Action): a is EventAction => a.kind === 'event';
const inserts = <T extends RowAction['table']>(actions: Action[], table: T) =>
  actions.filter((a): a is Extract<RowAction, { table: T; op: 'insert' }> => isRow(a) && a.table === table && a.op === 'insert');

/** Independent of the model's clock: Intl's calendar in the zone. */
const dayFormat = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });
const partsFormat = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const secondTexts = new Map<number, string>();
/** DATETIME(3) text on the zone's wall clock, by Intl (per second, memoised: it is slow). */
function localText(t: number): string {
  const second = Math.floor(t / 1000);
  let text = secondTexts.get(second);
  if (text === undefined) {
    const p = Object.fromEntries(partsFormat.formatToParts(second * 1000).map((x) => [x.type, x.value]));
    text = `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
    secondTexts.set(second, text);
  }
  return `${text}.${String(t - second * 1000).padStart(3, '0')}`;
}
/** DECIMAL text → cents, by hand; anything but two decimals fails the test. */
function cents(text: string | number | null | undefined): number {
  if (!/^\d+\.\d{2}$/.test(String(text))) throw new Error(`not a money amount with 2 decimals: ${String(text)}`);
  const [units, fraction] = String(text).split('.');
  return Number(units) * 100 + Number(fraction);
}
function digest(actions: Iterable<Action>): string {
  const h = createHash('sha256');
  for (const a of actions) h.update(`${JSON.stringify(a)}\n`);
  return h.digest('hex');
}

describe('determinism', () => {
  const small: GeneratorOptionsInput = { seed: 3, start: '2025-01-01T00:00:00Z', rate: 200, minutes: 5, timezone: ZONE };

  it('same seed and options give the same actions, byte for byte; another seed or start does not', () => {
    const once = digest(generate(small));
    expect(digest(generate(small))).toBe(once);
    expect(digest(generate({ ...small, seed: 4 }))).not.toBe(once);
    expect(digest(generate({ ...small, start: '2025-01-01T00:00:01Z' }))).not.toBe(once);
  });

  it('reads no clock and no Math.random', () => {
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => {
      throw new Error('the model read the clock');
    });
    const random = vi.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('the model used Math.random');
    });
    try {
      expect(digest(generate(small))).toBe(digest([...generate(small)]));
    } finally {
      clock.mockRestore();
      random.mockRestore();
    }
  });

  it('pins the traffic of one seed: a change of the model must update this digest on purpose', () => {
    expect(digest(generate({ ...small, minutes: 1 }))).toMatchInlineSnapshot(`"e440983872e57bc741b852c354a5053bb92bf2eeb3944a792367328669239c22"`);
  });
});

describe('order of actions', () => {
  it('dimensions first at the start, then everything in model-time order within [start, end)', () => {
    const firstTraffic = hour.findIndex((a) => !(isRow(a) && (a.table === 'areas' || a.table === 'users' || a.table === 'products') && a.at === start));
    expect(hour.slice(0, firstTraffic).every((a) => a.at === start)).toBe(true);
    expect(hour.findIndex((a, i) => i > 0 && a.at < (hour[i - 1] as Action).at)).toBe(-1);
    expect(hour.every((a) => a.at >= start && a.at < start + 3_600_000)).toBe(true);
  });
});

describe('dimensions', () => {
  const areas = inserts(hour, 'areas').map((a) => a.row);

  it('a few hundred real areas over ~30 provinces, in UTF-8', () => {
    expect(areas.length).toBeGreaterThanOrEqual(300);
    expect(new Set(areas.map((a) => a.province)).size).toBe(31);
    expect(areas).toContainEqual(expect.objectContaining({ province: '山东省', city: '青岛市' }));
    expect(areas).toContainEqual(expect.objectContaining({ province: '北京市', city: '海淀区' }));
    expect(areas.every((a) => a.province.length <= 32 && a.city.length <= 32)).toBe(true);
  });

  it('prices in whole cents', () => {
    expect(inserts(hour, 'products').filter((p) => cents(p.row.price) <= 0)).toEqual([]);
  });
});

describe('shape of the traffic (seed 7, one hour at 100/s)', () => {
  const events = hour.filter(isEvent);
  const first = events.filter((e) => !e.duplicate);
  const abuse = hour.flatMap((a) => (a.kind === 'abuse' ? [a.abuse] : []));
  const bursts = abuse.flatMap((a) => (a.type === 'payment_failure_burst' ? [a] : []));

  it('runs at the requested rate, with the requested share of source rows', () => {
    const dims = hour.filter((a) => isRow(a) && a.at === start && a.op === 'insert' && (a.table === 'areas' || a.table === 'products' || a.table === 'users')).length;
    const rows = hour.filter(isRow).length - dims;
    const perSecond = (rows + events.length) / 3600;
    // The diurnal curve (amplitude 0.5) around midnight in Shanghai: 0.55–0.35 of the profile's mean of ~0.95.
    expect(perSecond).toBeGreaterThan(60);
    expect(perSecond).toBeLessThan(100);
    expect(rows / (rows + events.length)).toBeGreaterThan(0.25);
    expect(rows / (rows + events.length)).toBeLessThan(0.35);
  });

  it('payments fail ~5 % of the time, most of the time during bursts', () => {
    const payments = inserts(hour, 'payments').filter((p) => p.row.paid_at === localText(p.at));
    const inBurst = (t: number) => bursts.some((b) => t >= b.from && t < b.to);
    const outside = payments.filter((p) => !inBurst(p.at));
    const during = payments.filter((p) => inBurst(p.at));
    const failShare = (ps: typeof payments) => ps.filter((p) => p.row.status === 'fail').length / ps.length;
    expect(bursts.length).toBeGreaterThanOrEqual(2);
    expect(failShare(outside)).toBeGreaterThan(0.03);
    expect(failShare(outside)).toBeLessThan(0.08);
    expect(failShare(during)).toBeGreaterThan(0.5);
  });

  it('events arrive on time, a few out of order within 5 s, a few later than 5 s + 60 s, some twice', () => {
    const share = (d: string) => first.filter((e) => e.delivery === d).length / first.length;
    expect(share('out_of_order')).toBeGreaterThan(0.02);
    expect(share('out_of_order')).toBeLessThan(0.04);
    expect(share('late')).toBeGreaterThan(0.0015);
    expect(share('late')).toBeLessThan(0.0045);
    const dupes = events.filter((e) => e.duplicate);
    expect(dupes.length / first.length).toBeGreaterThan(0.007);
    expect(dupes.length / first.length).toBeLessThan(0.013);

    // Out of order and late as a consumer sees them, per partition of a 3-partition topic:
    // behind the partition's highest event time so far, within the 5 s bound or beyond bound + lateness.
    const maxTs = [0, 0, 0];
    let disordered = 0;
    const wrong: EventAction[] = [];
    for (const e of events) {
      const p = keyPartition(e.event.device_id, 3);
      const behind = (maxTs[p] as number) - e.event.ts;
      if (!e.duplicate) {
        if (e.delivery === 'on_time' ? e.at !== e.event.ts : e.delivery === 'out_of_order' ? !(behind < 5_000 && e.at - e.event.ts < 5_000) : !(behind > 65_000)) wrong.push(e);
        if (behind > 0) disordered += 1;
      }
      maxTs[p] = Math.max(maxTs[p] as number, e.event.ts);
    }
    expect(wrong).toEqual([]);
    expect(disordered / first.length).toBeGreaterThan(0.02);

    // A duplicate is the same event delivered again later.
    const seen = new Map<string, EventAction>();
    const badDuplicates: EventAction[] = [];
    for (const e of events) {
      const earlier = seen.get(e.event.event_id);
      if (e.duplicate ? !(earlier !== undefined && JSON.stringify(earlier.event) === JSON.stringify(e.event) && e.at >= earlier.at) : earlier !== undefined) badDuplicates.push(e);
      if (!e.duplicate) seen.set(e.event.event_id, e);
    }
    expect(badDuplicates).toEqual([]);
  });

  it('click bots cross the blacklist threshold, and only they', () => {
    // The pipeline's definition: deduplicated on-time clicks, per user, ad and local calendar day.
    const counts = new Map<string, number>();
    for (const e of first) {
      if (e.event.type !== 'ad_click' || e.delivery === 'late') continue;
      const key = `${e.event.user_id}|${e.event.ad_id}|${dayFormat.format(e.event.ts)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const blacklisted = new Set([...counts].filter(([, n]) => n > 100).map(([k]) => Number(k.split('|')[0])));
    const bots = new Set(abuse.flatMap((a) => (a.type === 'click_bot' ? [a.user_id] : [])));
    expect(blacklisted.size).toBeGreaterThanOrEqual(3);
    for (const user of blacklisted) expect(bots).toContain(user);
    const normalMax = Math.max(...[...counts].filter(([k]) => !bots.has(Number(k.split('|')[0]))).map(([, n]) => n));
    expect(normalMax).toBeLessThan(20);
  });

  it('brushing users place many small orders within 10 minutes; normal users do not', () => {
    const small = new Map<number, number[]>();
    for (const o of inserts(hour, 'orders')) {
      if (cents(o.row.amount) > 1_000) continue;
      small.set(o.row.user_id, [...(small.get(o.row.user_id) ?? []), o.at]);
    }
    const most = new Map<number, number>();
    for (const [user, times] of small) {
      let best = 0;
      for (let i = 0, j = 0; j < times.length; j++) {
        while ((times[j] as number) - (times[i] as number) >= 600_000) i++;
        best = Math.max(best, j - i + 1);
      }
      most.set(user, best);
    }
    const brushers = abuse.flatMap((a) => (a.type === 'order_brushing' ? [a.user_id] : []));
    expect(brushers.length).toBeGreaterThanOrEqual(3);
    for (const b of brushers) expect(most.get(b)).toBeGreaterThanOrEqual(15);
    expect(Math.max(...[...most].filter(([u]) => !brushers.includes(u)).map(([, n]) => n))).toBeLessThanOrEqual(4);
  });

  it('page views, some anonymous; ad events of signed-in users, skewed over ads, areas and channels', () => {
    const views = first.filter((e) => e.event.type === 'page_view');
    const anonymous = views.filter((e) => e.event.user_id === null).length / views.length;
    expect(anonymous).toBeGreaterThan(0.1);
    expect(anonymous).toBeLessThan(0.2);
    const misshapen = first.filter((e) =>
      e.event.type === 'page_view'
        ? !(typeof e.event.page === 'string' && e.event.page.startsWith('/') && e.event.ad_id === undefined)
        : !(e.event.user_id !== null && (e.event.ad_id ?? 0) > 0 && e.event.page === undefined),
    );
    expect(misshapen).toEqual([]);
    const clicksByAd = new Map<number, number>();
    for (const e of first) if (e.event.type === 'ad_impression') clicksByAd.set(e.event.ad_id as number, (clicksByAd.get(e.event.ad_id as number) ?? 0) + 1);
    const shares = [...clicksByAd.values()].sort((a, b) => b - a);
    expect((shares[0] as number) / (shares[Math.floor(shares.length / 2)] as number)).toBeGreaterThan(20);

    const provinceOf = new Map(inserts(hour, 'areas').map((a) => [a.row.id, a.row.province]));
    const byProvince = new Map<string, number>();
    for (const o of inserts(hour, 'orders')) byProvince.set(provinceOf.get(o.row.area_id) as string, (byProvince.get(provinceOf.get(o.row.area_id) as string) ?? 0) + 1);
    const orders = inserts(hour, 'orders').length;
    expect((byProvince.get('广东省') as number) / orders).toBeGreaterThan(0.1);
    expect((byProvince.get('西藏自治区') ?? 0) / orders).toBeLessThan(0.01);
    expect(byProvince.size).toBeGreaterThanOrEqual(28);
    const channels = new Map<string, number>();
    for (const e of first) channels.set(e.event.channel, (channels.get(e.event.channel) ?? 0) + 1);
    expect(Math.max(...channels.values()) / Math.min(...channels.values())).toBeGreaterThan(2.5);
  });

  it('orders are paid mostly within minutes, some late or never, some exactly at the join bounds', () => {
    const created = new Map(inserts(hour, 'orders').map((o) => [o.row.id, o.at]));
    const firstSuccess = new Map<number, number>();
    for (const p of inserts(hour, 'payments')) {
      const t = created.get(p.row.order_id);
      if (p.row.status === 'success' && t !== undefined && !firstSuccess.has(p.row.order_id) && p.row.paid_at === localText(p.at)) firstSuccess.set(p.row.order_id, p.at - t);
    }
    const delays = [...firstSuccess.values()];
    expect(delays.filter((d) => d <= 5 * 60_000).length / delays.length).toBeGreaterThan(0.8);
    expect(delays.filter((d) => d > 30 * 60_000 + 1).length).toBeGreaterThan(0);
    for (const bound of [0, 30 * 60_000, 30 * 60_000 + 1]) expect(delays).toContain(bound);
    expect(created.size - firstSuccess.size).toBeGreaterThan(created.size * 0.05);
  });

  it('orders are cancelled, corrected, refunded, deleted after the fact; some arrive hours or days late', () => {
    const updates = hour.filter((a) => isRow(a) && a.op === 'update' && a.table === 'orders') as Array<Extract<RowAction, { op: 'update'; table: 'orders' }>>;
    expect(updates.filter((u) => u.set.status === 'cancelled').length).toBeGreaterThan(100);
    expect(updates.filter((u) => u.set.amount !== undefined).length).toBeGreaterThan(50);
    expect(updates.filter((u) => u.set.status === 'refunded').length).toBeGreaterThan(10);
    expect(inserts(hour, 'refunds').length).toBeGreaterThan(10);
    const deletes = hour.filter((a) => isRow(a) && a.op === 'delete');
    expect(deletes.filter((d) => d.kind === 'row' && d.table === 'payments').length).toBeGreaterThan(10);
    expect(deletes.filter((d) => d.kind === 'row' && d.table === 'orders').length).toBeGreaterThan(10);
    const backdated = inserts(hour, 'orders').filter((o) => o.row.created_at < localText(o.at - 10 * 60_000));
    expect(backdated.length).toBeGreaterThan(20);
    // Some beyond the pipeline's 48 h state retention: late changes downstream.
    expect(backdated.filter((o) => o.row.created_at < localText(o.at - 48 * 3_600_000)).length).toBeGreaterThan(0);
  });
});

describe('integrity and money', () => {
  it('replays like a database would; amounts are exact cents and every order’s amount is the sum of its items, always', () => {
    const state = new SourceState();
    const orders = state.table('orders');
    const items = state.table('order_items');
    const itemsOf = new Map<number, number[]>();
    // Checked per action without expect() (400k actions): failures are collected and shown at the end.
    const failures: string[] = [];
    const must = (ok: boolean, what: string): void => {
      if (!ok && failures.length < 20) failures.push(what);
    };
    const money = (text: unknown): number => {
      must(typeof text === 'string' && /^\d+\.\d{2}$/.test(text), `money ${String(text)}`);
      const [units, fraction] = String(text).split('.');
      return Number(units) * 100 + Number(fraction);
    };
    let touched = new Set<number>();
    let at = start;
    const check = (): void => {
      for (const id of touched) {
        const order = orders.get(id);
        if (order === undefined) continue;
        const sum = (itemsOf.get(id) ?? []).reduce((s, i) => s + (items.get(i)?.quantity as number) * money(items.get(i)?.price), 0);
        must(money(order.amount) === sum, `order ${id}: amount ${order.amount}, items ${sum} cents`);
      }
      touched = new Set();
    };
    const allowed: Record<string, string[]> = { created: ['paid', 'cancelled'], paid: ['refunded', 'created'] };
    for (const a of hour) {
      if (a.at !== at) {
        check();
        at = a.at;
      }
      if (!isRow(a)) {
        if (isEvent(a)) {
          must(state.table('areas').has(a.event.area_id), `event area ${a.event.area_id}`);
          must(a.event.user_id === null || state.table('users').has(a.event.user_id), `event user ${a.event.user_id}`);
        }
        continue;
      }
      if (a.op === 'insert') {
        if (a.table === 'order_items') {
          must(orders.has(a.row.order_id), `item of missing order ${a.row.order_id}`);
          itemsOf.set(a.row.order_id, [...(itemsOf.get(a.row.order_id) ?? []), a.row.id]);
          touched.add(a.row.order_id);
          must(a.row.quantity > 0 && money(a.row.price) > 0, `item ${a.row.id}`);
        } else if (a.table === 'orders') {
          touched.add(a.row.id);
          must(state.table('users').has(a.row.user_id), `order of missing user ${a.row.user_id}`);
          must(a.row.updated_at >= a.row.created_at, `order ${a.row.id} updated before created`);
          // Written at its creation and created, or synced late and paid already.
          must(a.row.created_at === localText(a.at) ? a.row.status === 'created' : a.row.status === 'paid' && a.row.created_at < localText(a.at), `order ${a.row.id} inserted ${a.row.status} at ${a.row.created_at}`);
        } else if (a.table === 'payments') {
          const order = orders.get(a.row.order_id);
          must(order !== undefined && money(a.row.amount) === money(order.amount), `payment ${a.row.id} of ${a.row.amount} for order ${a.row.order_id}`);
          must(a.row.paid_at === localText(a.at) || (order?.status === 'paid' && a.row.paid_at < localText(a.at)), `payment ${a.row.id} paid_at ${a.row.paid_at}`);
        } else if (a.table === 'refunds') {
          const order = orders.get(a.row.order_id);
          must(order?.status === 'paid' && money(a.row.amount) <= money(order.amount) && a.row.created_at === localText(a.at), `refund ${a.row.id}`);
        }
      } else if (a.op === 'update' && a.table === 'orders') {
        const before = orders.get(a.id)?.status as string;
        must(a.set.status === undefined || (allowed[before] ?? []).includes(a.set.status), `order ${a.id}: ${before} → ${a.set.status}`);
        must(a.set.updated_at === localText(a.at), `order ${a.id} updated_at ${a.set.updated_at}`);
        touched.add(a.id);
      } else if (a.op === 'update' && a.table === 'order_items') {
        touched.add(items.get(a.id)?.order_id as number);
      } else if (a.op === 'delete' && a.table === 'orders') {
        must(orders.get(a.id)?.status === 'cancelled', `deleted order ${a.id} was ${orders.get(a.id)?.status}`);
      }
      state.apply(a);
    }
    check();
    expect(failures).toEqual([]);
    expect(orders.size).toBeGreaterThan(10_000);
  });
});

describe('the day curve', () => {
  const day: GeneratorOptionsInput = { seed: 2, start: '2025-06-02T00:00:00+08:00', rate: 4, minutes: 24 * 60, timezone: ZONE, botsPerHour: 0, brushersPerHour: 0, failureBurstsPerHour: 0 };
  const hourly = (diurnal: number): number[] => {
    const counts = new Array<number>(24).fill(0);
    for (const a of generate({ ...day, diurnal })) {
      if (!isEvent(a) || a.duplicate) continue;
      const h = Math.floor((a.event.ts - Date.parse('2025-06-01T16:00:00Z')) / 3_600_000) % 24;
      counts[h] = (counts[h] as number) + 1;
    }
    return counts;
  };

  it('follows local hours: quiet at 4 am, busiest in the evening; flat with diurnal 0', () => {
    const full = hourly(1);
    expect((full[21] as number) / (full[4] as number)).toBeGreaterThan(5);
    const flat = hourly(0);
    expect(Math.max(...flat) / Math.min(...flat)).toBeLessThan(1.3);
  });
});
