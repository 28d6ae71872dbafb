/**
 * Browsing sessions: page views (anonymous ones too), ad impressions on the pages of signed-in
 * users and clicks on some of them, ending now and then in an order, more often after a click (so
 * that click-to-order attribution has something to find).
 */
import { deviceId, ipFromHash, PAGES_STATIC, type Product } from './catalog.js';
import type { ModelContext } from './context.js';
import type { Orders } from './orders.js';
import { hashInts, type Random } from './random.js';
import { SESSION } from './traffic-shape.js';

interface Session {
  id: string;
  userId: number | null;
  deviceId: string;
  ip: string;
  areaId: number;
  channel: string;
  pagesLeft: number;
  clicked: boolean;
  /** time of its latest event */
  last: number;
  viewed: Product[];
}

export class Sessions {
  private count = 0;
  private readonly anonymousDevices: number;

  constructor(
    private readonly ctx: ModelContext,
    private readonly random: Random,
    private readonly orders: Orders,
    private readonly runTag: string,
  ) {
    // Anonymous visitors come back: a pool of devices about the size of the user pool.
    this.anonymousDevices = Math.max(1000, ctx.catalog.userCount);
  }

  /** A session that starts now. */
  start(now: number): void {
    this.open(now, Math.min(SESSION.maxPageViews, 1 + this.random.geometric(SESSION.extraPageViewP)));
  }

  /**
   * The sessions already under way when the run begins, as if traffic had been flowing before:
   * sessions that began in the `windowMs` before `start` at `perMs(t)` a ms, each joined at its
   * first page view from `start` on (those before stay unwritten). Without this, the event rate
   * would ramp up over the first minutes while sessions fill.
   */
  warmUp(start: number, windowMs: number, perMs: (t: number) => number): void {
    const r = this.random;
    for (let t = start - windowMs; ; ) {
      t += r.exponential(1 / perMs(t));
      if (t >= start) return;
      let pages = Math.min(SESSION.maxPageViews, 1 + r.geometric(SESSION.extraPageViewP));
      let at = Math.ceil(t);
      while (pages > 0 && at < start) {
        pages -= 1;
        at += this.pageGap();
      }
      if (pages > 0) {
        const joinAt = at;
        const left = pages;
        this.ctx.agenda.at(joinAt, (now) => this.open(now, left));
      }
    }
  }

  private pageGap(): number {
    return SESSION.pageGapMinMs + Math.round(this.random.exponential(SESSION.pageGapMeanMs));
  }

  private open(now: number, pagesLeft: number): void {
    const { catalog, options } = this.ctx;
    const r = this.random;
    const id = `${this.runTag}s${(this.count++).toString(36)}`;
    let session: Session;
    if (r.chance(options.anonymousShare)) {
      const visitor = r.int(this.anonymousDevices);
      session = {
        id,
        userId: null,
        deviceId: deviceId(options.seed, -1 - visitor, 0),
        ip: ipFromHash(hashInts(options.seed, visitor, 17)),
        areaId: catalog.randomArea(r).id,
        channel: catalog.randomChannel(r),
        pagesLeft,
        clicked: false,
        last: now,
        viewed: [],
      };
    } else {
      const userId = catalog.randomUser(r);
      session = {
        id,
        userId,
        deviceId: catalog.deviceOf(userId, r),
        ip: r.chance(SESSION.homeIpShare) ? catalog.homeIp(userId) : ipFromHash(r.uint32()),
        areaId: r.chance(SESSION.homeAreaShare) ? catalog.userAreaId(userId) : catalog.randomArea(r).id,
        channel: r.chance(SESSION.ownChannelShare) ? catalog.userChannelName(userId) : catalog.randomChannel(r),
        pagesLeft,
        clicked: false,
        last: now,
        viewed: [],
      };
    }
    this.pageView(session, now);
  }

  private pageView(s: Session, now: number): void {
    const { ctx } = this;
    const r = this.random;
    const base = { user_id: s.userId, device_id: s.deviceId, session_id: s.id, ip: s.ip, area_id: s.areaId, channel: s.channel };
    ctx.event({ type: 'page_view', ts: now, ...base, page: this.page(s) });
    s.last = Math.max(s.last, now);
    if (s.userId !== null) {
      const impressions = r.index(SESSION.impressionsPerPage);
      for (let i = 0; i < impressions; i++) {
        const ad = ctx.catalog.randomAd(r);
        const shownAt = now + r.intBetween(20, 300);
        ctx.event({ type: 'ad_impression', ts: shownAt, ...base, ad_id: ad.id });
        if (r.chance(SESSION.baseCtr * ad.ctrFactor)) {
          const clickedAt = shownAt + r.intBetween(SESSION.clickDelayMs[0], SESSION.clickDelayMs[1]);
          ctx.event({ type: 'ad_click', ts: clickedAt, ...base, ad_id: ad.id });
          s.clicked = true;
          s.last = Math.max(s.last, clickedAt);
        }
        s.last = Math.max(s.last, shownAt);
      }
    }
    s.pagesLeft -= 1;
    if (s.pagesLeft > 0) {
      ctx.agenda.at(now + this.pageGap(), (t) => this.pageView(s, t));
    } else if (s.userId !== null && r.chance(SESSION.conversion * (s.clicked ? SESSION.clickedConversionFactor : 1))) {
      const userId = s.userId;
      ctx.agenda.at(s.last + r.intBetween(3_000, 60_000), (t) => this.orders.place(t, userId, ctx.catalog.userAreaId(userId), s.viewed));
    }
  }

  private page(s: Session): string {
    const r = this.random;
    const kind = r.next();
    if (kind < 0.35) {
      const product = this.ctx.catalog.randomProduct(r);
      if (s.viewed.length < 5) s.viewed.push(product);
      return `/product/${product.id}`;
    }
    if (kind < 0.5) return `/category/${this.ctx.catalog.randomProduct(r).category}`;
    return r.pick(PAGES_STATIC);
  }
}
