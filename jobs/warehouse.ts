/**
 * The warehouse pipeline as one job: the DWD stages of dwd_order_wide and dwd_ad_event, and every ADS
 * stage behind them. They are stages of one JobSpec so that watermarks flow from the DWD stages into
 * the ADS ones (job.ts links the stages of one job): the DWD topics carry their watermark markers, and
 * each ADS figure is emitted once every source it depends on has passed its window. The ADS table
 * topics carry markers too, so the ClickHouse sink can publish each table's progress. `rtdw run --jobs`
 * runs a subset of the stages per process (JobRunner's `only`).
 */
import { adClickTrendJob } from './ads/ad-click-trend.js';
import { adClicks1hJob } from './ads/ad-clicks-1h.js';
import { adCtrJob } from './ads/ad-ctr.js';
import { channelDailyJob } from './ads/channel-daily.js';
import { dailyKpiJob } from './ads/daily-kpi.js';
import { hotAdsJob } from './ads/hot-ads.js';
import { orderCityJob } from './ads/order-city.js';
import { orderPaymentJob } from './ads/order-payment.js';
import { type AdsJob, adsContext } from './ads/context.js';
import { eventsStage, ordersStage } from './ads/normalize.js';
import { alertJobs } from './alerts/index.js';
import { adEventJob } from './dwd/ad-event.js';
import type { DwdJobOptions } from './dwd/options.js';
import { orderWideJob } from './dwd/order-wide.js';
import type { JobSpec } from './runtime/job.js';

export { ADS_TABLES, ADS_TOPIC_NAMES, adsTopics } from './ads/context.js';

/** The stages of the DWD layer in warehouseJob (`rtdw run --jobs dwd`); the others are the ADS layer's. */
export function dwdStageNames(o: DwdJobOptions): Set<string> {
  return new Set([...orderWideJob(o).stages, ...adEventJob(o).stages].map((s) => s.name));
}

export function warehouseJob(o: DwdJobOptions): JobSpec {
  const ctx = adsContext(o);
  const jobs: AdsJob[] = [
    orderCityJob(ctx),
    orderPaymentJob(ctx),
    adClicks1hJob(ctx),
    adClickTrendJob(ctx),
    hotAdsJob(ctx),
    adCtrJob(ctx),
    channelDailyJob(ctx),
    dailyKpiJob(ctx, { sourceDatabase: o.sourceDatabase, outOfOrdernessMs: o.outOfOrdernessMs, idleTimeoutMs: o.idleTimeoutMs }),
    ...alertJobs(ctx, o),
  ];
  const orderFeeds = jobs.flatMap((j) => (j.orders === undefined ? [] : [j.orders]));
  const eventFeeds = jobs.flatMap((j) => (j.events === undefined ? [] : [j.events]));
  return {
    name: `${o.namespace}.warehouse`,
    stages: [
      ...orderWideJob(o).stages,
      ...adEventJob(o).stages,
      ...(orderFeeds.length > 0 ? [ordersStage(ctx, orderFeeds)] : []),
      ...(eventFeeds.length > 0 ? [eventsStage(ctx, eventFeeds)] : []),
      ...jobs.flatMap((j) => j.stages),
    ],
  };
}
