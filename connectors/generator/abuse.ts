/**
 * Injected abuse, for the blacklist and the alerts to catch: click bots that click one ad past the
 * blacklist threshold within minutes (then a few other ads), users brushing many small orders,
 * bursts of failed payments. Episodes of each kind come about `perHour` times an hour, the first
 * within the first minute after `abuseAfterMinutes` (0 by default) so that short runs see every kind.
 * Each starts with an abuse action saying what it will do.
 */
import type { AbuseEpisode } from './actions.js';
import { deviceId, ipFromHash } from './catalog.js';
import type { ModelContext } from './context.js';
import type { Orders } from './orders.js';
import { hashInts, Random } from './random.js';
import { ABUSE } from './traffic-shape.js';

interface Burst {
  to: number;
  failureRate: number;
}

type Range = readonly [number, number];
const inRange = (r: Random, [min, max]: Range): number => Math.round(r.between(min, max));

export class Abuse {
  private readonly bursts: Burst[] = [];
  private episodes = 0;

  constructor(
    private readonly ctx: ModelContext,
    private readonly orders: Orders,
    private readonly runTag: string,
  ) {}

  schedule(start: number): void {
    const { options } = this.ctx;
    this.every('bots', options.botsPerHour, start, (t, r) => this.clickBot(t, r));
    this.every('brushing', options.brushersPerHour, start, (t, r) => this.brushing(t, r));
    this.every('failure-bursts', options.failureBurstsPerHour, start, (t, r) => this.failureBurst(t, r));
  }

  /** The failure rate of an open burst at `now`, if any. */
  burstFailureRate(now: number): number | undefined {
    while (this.bursts.length > 0 && (this.bursts[0] as Burst).to <= now) this.bursts.shift();
    return this.bursts[0]?.failureRate;
  }

  private every(stream: string, perHour: number, start: number, episode: (now: number, random: Random) => void): void {
    if (perHour <= 0) return;
    const random = Random.stream(this.ctx.options.seed, stream);
    const intervalMs = 3_600_000 / perHour;
    const next = (now: number): void => {
      episode(now, random);
      this.ctx.agenda.at(now + Math.round(intervalMs * random.between(0.5, 1.5)), next);
    };
    this.ctx.agenda.at(start + Math.round(this.ctx.options.abuseAfterMinutes * 60_000) + inRange(random, ABUSE.firstEpisodeMs), next);
  }

  private announce(at: number, abuse: AbuseEpisode): void {
    this.ctx.agenda.emit({ kind: 'abuse', at, abuse });
  }

  private clickBot(now: number, r: Random): void {
    const { ctx } = this;
    const { catalog, options } = ctx;
    const userId = r.intBetween(1, catalog.userCount);
    const ad = catalog.randomAd(r);
    const clicks = options.blacklistClicks + inRange(r, ABUSE.botExtraClicks);
    const total = clicks + (catalog.ads.length > 1 ? inRange(r, ABUSE.botOtherAdClicks) : 0);
    const device = deviceId(options.seed, userId, 99);
    const ip = ipFromHash(hashInts(options.seed, userId, 99));
    const base = { user_id: userId, device_id: device, session_id: `${this.runTag}b${(this.episodes++).toString(36)}`, ip, area_id: catalog.userAreaId(userId), channel: catalog.randomChannel(r) };
    this.announce(now, { type: 'click_bot', user_id: userId, ad_id: ad.id, clicks, device_id: device, ip });
    const click = (t: number, n: number): void => {
      let adId = ad.id;
      // After its ad, a few clicks on others: the blacklist holds for every ad.
      while (n >= clicks && adId === ad.id) adId = catalog.randomAd(r).id;
      ctx.event({ type: 'ad_click', ts: t, ...base, ad_id: adId });
      if (n + 1 < total) ctx.agenda.at(t + inRange(r, ABUSE.botGapMs), (next) => click(next, n + 1));
    };
    click(now, 0);
  }

  private brushing(now: number, r: Random): void {
    const { catalog } = this.ctx;
    const userId = r.intBetween(1, catalog.userCount);
    const orders = inRange(r, ABUSE.brushOrders);
    this.announce(now, { type: 'order_brushing', user_id: userId, orders });
    const order = (t: number, n: number): void => {
      this.orders.placeBrushing(t, userId, catalog.userAreaId(userId));
      if (n + 1 < orders) this.ctx.agenda.at(t + inRange(r, ABUSE.brushGapMs), (next) => order(next, n + 1));
    };
    order(now, 0);
  }

  private failureBurst(now: number, r: Random): void {
    const to = now + inRange(r, ABUSE.burstMs);
    const failureRate = Math.round(r.between(ABUSE.burstFailureRate[0], ABUSE.burstFailureRate[1]) * 100) / 100;
    this.announce(now, { type: 'payment_failure_burst', from: now, to, failure_rate: failureRate });
    this.bursts.push({ to, failureRate });
    this.bursts.sort((a, b) => a.to - b.to);
  }
}
