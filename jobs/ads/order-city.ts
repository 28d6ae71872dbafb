/**
 * ads_order_city_1h and ads_order_top3_city_1h, with the screens order_city_1h and order_top3_city_1h:
 *
 *   ads_order_city_1h =
 *     SELECT window_start, window_end, province, city, count(*) AS orders, sum(amount) AS amount
 *     FROM TABLE(HOP(TABLE dwd_order_wide, DESCRIPTOR(created_at), INTERVAL '5' MINUTE, INTERVAL '1' HOUR))
 *     WHERE status <> 'cancelled' AND province <> ''          -- counted orders of a known area
 *     GROUP BY window_start, window_end, province, city
 *   ads_order_top3_city_1h =
 *     SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, province
 *                                                 ORDER BY amount DESC, orders DESC, city) AS rank
 *                    FROM ads_order_city_1h) WHERE rank <= 3
 *
 * Orders are re-keyed by (province, city) and aggregated on shared 5-minute slices, with the state
 * retention as allowed lateness: a source row written or corrected late updates the windows it is in.
 * Each window's rows are gathered by window, so its screen hash is written whole when the window is
 * complete, and each province's ranking is computed over all its cities; later changes update one city
 * and re-rank its province.
 */
import { HOUR_MS, aggregateFields, count, field, parseDecimal, slidingWindows, sumDecimal, type TimeWindow } from '../runtime/core/index.js';
import { gatherRecord, gatherStage } from '../runtime/gather-stage.js';
import type { Emitted } from '../runtime/stage.js';
import { slicedWindows, upsertWindowStage } from '../runtime/upsert-window-stage.js';
import { type AdsContext, type AdsJob, internalTopic, sinkOutputs } from './context.js';
import { compareBigInt, compareCodePoints, rankChanges, topN } from './ranking.js';
import { isCounted } from './rows.js';
import { dateTime, screenRecord, tableRow } from './sinks.js';

const TABLE = 'ads_order_city_1h';
const TOP3 = 'ads_order_top3_city_1h';
const SLIDE_MS = 5 * 60_000;

interface CityFigures {
  orders: number;
  amount: string;
}

type City = CityFigures & { province: string; city: string };

/** amount desc, orders desc, city by code point */
const cityOrder = (a: City, b: City): number => compareBigInt(parseDecimal(b.amount, 2), parseDecimal(a.amount, 2)) || b.orders - a.orders || compareCodePoints(a.city, b.city);

function cityFigures(v: unknown): CityFigures {
  const f = v as Partial<CityFigures> | null;
  if (f === null || typeof f !== 'object' || !Number.isSafeInteger(f.orders) || typeof f.amount !== 'string') throw new Error('not city figures {orders, amount}');
  return { orders: f.orders as number, amount: f.amount };
}

const areaOf = (key: string): [province: string, city: string] => JSON.parse(key) as [string, string];

export function orderCityJob(ctx: AdsContext): AdsJob {
  const byCity = internalTopic(ctx, TABLE, 'by_city');
  const windows = internalTopic(ctx, TABLE, 'windows');
  const late = ctx.topics.lateChanges;
  const common = { checkpointIntervalMs: ctx.checkpointIntervalMs };
  const bounds = (w: TimeWindow) => ({ window_start: dateTime(w.start), window_end: dateTime(w.end) });
  const screen = (w: TimeWindow) => ({ window_start: w.start, window_end: w.end });

  /** a province's top 3 as table rows and as its screen field */
  const ranking = (cities: readonly City[]) => topN(cities, 3, cityOrder).map(({ rank, city, orders, amount }) => ({ rank, city, orders, amount }));
  const rankRows = (w: TimeWindow, province: string, changes: ReturnType<typeof rankChanges<ReturnType<typeof ranking>[number]>>, version: () => number): Emitted[] =>
    changes.map(({ rank, entry }) =>
      tableRow(ctx, TOP3, [w.start, w.end, province, rank], { ...bounds(w), province, rank, city: entry?.city ?? '', orders: entry?.orders ?? 0, amount: entry?.amount ?? '0.00' }, version(), entry === undefined),
    );

  return {
    orders: {
      topics: [byCity],
      contribute: (o) => (isCounted(o) && o.province !== '' ? [{ topic: byCity.topic, key: JSON.stringify([o.province, o.city]), t: o.createdAt, v: o.amount }] : []),
    },
    stages: [
      {
        ...common,
        name: `${ctx.namespace}.${TABLE}.window`,
        input: byCity.topic,
        outputs: [windows, ...sinkOutputs(ctx, TABLE, late, false)],
        createProcessor: upsertWindowStage({
          window: slicedWindows({
            assigner: slidingWindows(HOUR_MS, SLIDE_MS),
            aggregate: aggregateFields({ orders: field(count(), (a: string) => a), amount: field(sumDecimal(2), (a: string) => parseDecimal(a, 2)) }),
            allowedLateness: ctx.retentionMs,
          }),
          value: (v) => {
            if (typeof v !== 'string') throw new Error('an order city item is its amount as decimal text');
            return v;
          },
          emit: (c) => {
            const [province, city] = areaOf(c.key);
            const figures = c.kind === 'upsert' ? { orders: c.value.orders, amount: c.value.amount ?? '0.00' } : { orders: 0, amount: '0.00' };
            return [
              tableRow(ctx, TABLE, [c.window.start, c.window.end, province, city], { ...bounds(c.window), province, city, ...figures }, c.version, c.kind === 'delete'),
              gatherRecord(windows.topic, TABLE, c.window, c.key, c.kind === 'upsert' ? figures : undefined),
            ];
          },
          watermarks: 'upstream',
          lateTopic: late,
          deadLetterTopic: ctx.topics.deadLetter,
        }),
      },
      {
        ...common,
        name: `${ctx.namespace}.${TABLE}.gather`,
        input: windows.topic,
        outputs: sinkOutputs(ctx, TOP3, late, true),
        createProcessor: gatherStage<CityFigures>({
          latenessOf: () => ctx.retentionMs,
          value: (_table, v) => cityFigures(v),
          emit: (o, version) => {
            const cities = (rows: Iterable<readonly [string, CityFigures]>, only?: string): City[] => {
              const out: City[] = [];
              for (const [key, f] of rows) {
                const [province, city] = areaOf(key);
                if (only === undefined || province === only) out.push({ province, city, ...f });
              }
              return out;
            };
            if (o.kind === 'complete') {
              const all = cities(o.rows);
              const provinces = [...new Set(all.map((c) => c.province))].sort(compareCodePoints);
              const rankings = provinces.map((province) => ({ province, ranking: ranking(all.filter((c) => c.province === province)) }));
              return [
                screenRecord(ctx, 'order_city_1h', screen(o.window), 'replace', all.map(({ province, city, orders, amount }) => ({ province, city, orders, amount }))),
                ...rankings.flatMap(({ province, ranking: r }) => rankRows(o.window, province, rankChanges([], r, 3), version)),
                screenRecord(ctx, 'order_top3_city_1h', screen(o.window), 'replace', rankings),
              ];
            }
            const [province, city] = areaOf(o.row);
            const after = cities(o.rows, province);
            const before = after.filter((c) => c.city !== city);
            if (o.before !== undefined) before.push({ province, city, ...o.before });
            const changes = rankChanges(ranking(before), ranking(after), 3);
            const now = ranking(after);
            return [
              o.after === undefined
                ? screenRecord(ctx, 'order_city_1h', screen(o.window), 'remove', [{ province, city }])
                : screenRecord(ctx, 'order_city_1h', screen(o.window), 'upsert', [{ province, city, ...o.after }]),
              ...rankRows(o.window, province, changes, version),
              ...(changes.length === 0
                ? []
                : [now.length === 0 ? screenRecord(ctx, 'order_top3_city_1h', screen(o.window), 'remove', [{ province }]) : screenRecord(ctx, 'order_top3_city_1h', screen(o.window), 'upsert', [{ province, ranking: now }])]),
            ];
          },
          watermarks: 'upstream',
          lateTopic: late,
          deadLetterTopic: ctx.topics.deadLetter,
        }),
      },
    ],
  };
}
