/**
 * The fixed shape of the traffic: how sessions browse, how orders live, how the load follows the
 * day; and what that shape gives on average, which turns `--rate` (source rows + event deliveries
 * per second) into arrival rates of sessions and orders. The knobs users turn are options
 * (options.ts); these are the habits of the simulated shop.
 */

export const SESSION = {
  /** page views per session: 1 + geometric, mean 1 + (1 − p) / p */
  extraPageViewP: 1 / 6,
  maxPageViews: 40,
  /** gap between page views: 1 s + exponential */
  pageGapMinMs: 1_000,
  pageGapMeanMs: 11_000,
  /** impressions per page view of a signed-in user: 0, 1, 2, 3 */
  impressionsPerPage: [0.3, 0.3, 0.25, 0.15],
  baseCtr: 0.03,
  /** an ad's click-through multiplier is log-normal around 1, capped here */
  maxCtrFactor: 3,
  clickDelayMs: [500, 8_000],
  /** a signed-in session ends in an order this often; three times as often after an ad click */
  conversion: 0.05,
  clickedConversionFactor: 3,
  /** the session keeps to the user's own area, channel and address this often */
  homeAreaShare: 0.8,
  ownChannelShare: 0.7,
  homeIpShare: 0.7,
} as const;

/** Delivery delays of events that do not arrive at their event time. */
export const DELIVERY = {
  outOfOrderMs: [300, 4_500],
  /** beyond a 5 s out-of-orderness bound plus 60 s allowed lateness, with margin */
  lateMs: [90_000, 180_000],
  duplicateAfterMs: [100, 20_000],
} as const;

export const ORDER = {
  /** items per order: 1..5 */
  items: [0.55, 0.25, 0.12, 0.05, 0.03],
  /** quantity per item: 1..3 */
  quantity: [0.8, 0.15, 0.05],
  discountShare: 0.1,
  /** shares of the fates of a normal order (the rest pays within minutes) */
  earlyCancel: 0.02,
  neverPays: 0.08,
  paysLate: 0.02,
  /** paid exactly at created_at, created_at + 30 min, or 1 ms after: the join bounds */
  paysAtBound: 0.005,
  earlyCancelMs: [10_000, 180_000],
  payMedianMs: 45_000,
  paySigma: 0.9,
  payMs: [2_000, 25 * 60_000],
  paysLateMs: [31 * 60_000, 90 * 60_000],
  unpaidCancelMs: [15 * 60_000, 30 * 60_000],
  unpaidCancelShare: 0.7,
  retryShare: 0.6,
  retryMs: [20_000, 120_000],
  maxAttempts: 3,
  failedPaymentPurge: 0.2,
  failedPaymentPurgeMs: [5 * 60_000, 30 * 60_000],
  correction: 0.03,
  correctionMs: [5_000, 5 * 60_000],
  refund: 0.03,
  refundMs: [2 * 60_000, 60 * 60_000],
  fullRefundShare: 0.7,
  reversal: 0.003,
  reversalMs: [60_000, 20 * 60_000],
  reversalRepay: 0.5,
  cancelledDelete: 0.2,
  cancelledDeleteMs: [60_000, 10 * 60_000],
  /** orders synced late from offline shops: inserted now, created 10 min to 3 h ago, already paid */
  backdated: 0.005,
  backdatedMs: [10 * 60_000, 3 * 60 * 60_000],
  /** of those, synced after days: older than the pipeline's 48 h state retention (a late change downstream) */
  ancientShare: 0.1,
  ancientMs: [50 * 60 * 60_000, 96 * 60 * 60_000],
  backdatedPayMs: [30_000, 5 * 60_000],
  /** new users per order */
  signupsPerOrder: 0.02,
  /** a new user places a first order this often, this soon after signing up */
  signupOrders: 0.3,
  signupOrderMs: [60_000, 30 * 60_000],
  /** the order ships to the user's own area this often */
  homeAreaShare: 0.9,
} as const;

export const ABUSE = {
  /** clicks beyond the threshold on the bot's ad, then a few on other ads */
  botExtraClicks: [10, 80],
  botOtherAdClicks: [5, 15],
  botGapMs: [150, 900],
  brushOrders: [20, 40],
  brushGapMs: [5_000, 25_000],
  brushPayMs: [2_000, 15_000],
  burstMs: [60_000, 180_000],
  burstFailureRate: [0.6, 0.9],
  /** the first episode of each kind starts this soon, so short runs see every kind */
  firstEpisodeMs: [10_000, 40_000],
} as const;

/** The normal failure rate drifts ±30 % over six hours: a slow drift alerts must not fire on. */
export const FAILURE_DRIFT = { amplitude: 0.3, periodMs: 6 * 60 * 60_000 } as const;

/** Relative load per local hour 0..23 of a Chinese online shop: quiet at 4 am, peaks at lunch and at 9 pm. */
const HOURLY_LOAD = [0.55, 0.35, 0.22, 0.15, 0.12, 0.14, 0.25, 0.45, 0.7, 0.9, 1.0, 1.05, 1.15, 1.1, 1.0, 1.0, 1.05, 1.1, 1.2, 1.4, 1.65, 1.8, 1.6, 1.05];
const HOURLY_MEAN = HOURLY_LOAD.reduce((s, v) => s + v, 0) / HOURLY_LOAD.length;
/** the busiest hour's load relative to the daily mean */
export const PEAK_LOAD = Math.max(...HOURLY_LOAD) / HOURLY_MEAN;

/**
 * The load at a local hour (fractional), as a factor around 1: the hourly profile interpolated,
 * normalised to a daily mean of 1, flattened by `amplitude` (0: flat, 1: the full profile).
 */
export function diurnalFactor(hourOfDay: number, amplitude: number): number {
  const h = Math.floor(hourOfDay) % 24;
  const f = hourOfDay - Math.floor(hourOfDay);
  const profile = ((HOURLY_LOAD[h] as number) * (1 - f) + (HOURLY_LOAD[(h + 1) % 24] as number) * f) / HOURLY_MEAN;
  return 1 + amplitude * (profile - 1);
}

const mean = (dist: readonly number[], first = 0): number => dist.reduce((s, p, i) => s + p * (i + first), 0);

const MEAN_PAGE_VIEWS = 1 + (1 - SESSION.extraPageViewP) / SESSION.extraPageViewP;
const MEAN_IMPRESSIONS_PER_PAGE = mean(SESSION.impressionsPerPage);

export interface SessionMix {
  deliveries: number;
  impressions: number;
  clicks: number;
  orders: number;
}

/** Per session on average: event deliveries (duplicates included), impressions, clicks and orders. */
export function sessionMix(anonymousShare: number, duplicateShare: number, meanCtrFactor: number): SessionMix {
  const signedIn = 1 - anonymousShare;
  const ctr = SESSION.baseCtr * meanCtrFactor;
  const perSignedIn = MEAN_PAGE_VIEWS * MEAN_IMPRESSIONS_PER_PAGE;
  const impressions = signedIn * perSignedIn;
  const clicks = impressions * ctr;
  const events = MEAN_PAGE_VIEWS + impressions + clicks;
  const clickedShare = 1 - (1 - ctr) ** perSignedIn;
  const orders = signedIn * SESSION.conversion * (1 + (SESSION.clickedConversionFactor - 1) * clickedShare);
  return { deliveries: events * (1 + duplicateShare), impressions, clicks, orders };
}

/** Source rows one normal order writes over its life, on average (inserts, updates and deletes). */
export function rowsPerOrder(failureRate: number): number {
  const items = mean(ORDER.items, 1);
  const payers = 1 - ORDER.earlyCancel - ORDER.neverPays;
  // Attempts until success or giving up: each failure is retried with retryShare, up to maxAttempts.
  let attempts = 0;
  let reach = 1;
  let paid = 0;
  for (let n = 1; n <= ORDER.maxAttempts; n++) {
    attempts += reach;
    paid += reach * (1 - failureRate);
    reach *= failureRate * ORDER.retryShare;
  }
  const failures = attempts - paid;
  const unpaid = ORDER.neverPays + payers * (1 - paid);
  const cancelled = ORDER.earlyCancel + unpaid * ORDER.unpaidCancelShare;
  const paidOrders = payers * paid;
  return (
    1 +
    items +
    payers * attempts +
    paidOrders +
    failures * payers * ORDER.failedPaymentPurge +
    ORDER.correction * 2 +
    cancelled * (1 + ORDER.cancelledDelete * (1 + items)) +
    paidOrders * ORDER.refund * (1 + ORDER.fullRefundShare) +
    paidOrders * ORDER.reversal * 2
  );
}
