/**
 * The alert jobs of the warehouse (issue 13): order_brushing, payment_failure and click_bot, each an
 * ADS job of the warehouse job, so that their watermarks come from the DWD stages they read.
 */
import type { AdsContext, AdsJob } from '../ads/context.js';
import type { DwdJobOptions } from '../dwd/options.js';
import { ALERT_DEFAULTS } from './alerts.js';
import { clickBotJob } from './click-bot.js';
import { orderBrushingJob } from './order-brushing.js';
import { paymentFailureJob } from './payment-failure.js';

export { ALERT_DEFAULTS, ALERTS_TABLE, type AlertSettings, alertId } from './alerts.js';

export function alertJobs(ctx: AdsContext, o: DwdJobOptions): AdsJob[] {
  const settings = o.alerts ?? ALERT_DEFAULTS;
  return [orderBrushingJob(ctx, settings), paymentFailureJob(ctx, o, settings), clickBotJob(ctx, o.blacklistClicks)];
}
