/**
 * The alert stages with the DWD stages they read, as one job for in-memory runs: what warehouseJob runs for
 * the alerts, without the other ADS jobs.
 */
import { adsContext } from '../../jobs/ads/context.js';
import { ordersStage } from '../../jobs/ads/normalize.js';
import { alertJobs } from '../../jobs/alerts/index.js';
import { adEventJob } from '../../jobs/dwd/ad-event.js';
import type { DwdJobOptions } from '../../jobs/dwd/options.js';
import { orderWideJob } from '../../jobs/dwd/order-wide.js';
import type { JobSpec } from '../../jobs/runtime/job.js';

export function alertJob(o: DwdJobOptions): JobSpec {
  const ctx = adsContext(o);
  const jobs = alertJobs(ctx, o);
  const orderFeeds = jobs.flatMap((j) => (j.orders === undefined ? [] : [j.orders]));
  return { name: `${o.namespace}.alerts`, stages: [...orderWideJob(o).stages, ...adEventJob(o).stages, ordersStage(ctx, orderFeeds), ...jobs.flatMap((j) => j.stages)] };
}
