/**
 * The traffic model: a pure function of its options. `generate(options)` yields every action in
 * model-time order (`at`, ties in the order planned): first the dimension rows, then the traffic
 * (sessions, orders and their lives, sign-ups, abuse) until `minutes` of event time have passed, or
 * forever. Same options, same actions, byte for byte: no clock, no Math.random, every draw from a
 * seeded stream.
 */
import type { AdEvent, SourceTable } from '../../schemas/events.js';
import type { Action, Delivery, RowAction, SourceRows } from './actions.js';
import { Abuse } from './abuse.js';
import { Agenda } from './agenda.js';
import { Catalog, personName } from './catalog.js';
import type { GrowingTable, ModelContext } from './context.js';
import { resolveOptions, type GeneratorOptions, type GeneratorOptionsInput } from './options.js';
import { Orders } from './orders.js';
import { hashInts, Random } from './random.js';
import { Sessions } from './sessions.js';
import { DELIVERY, diurnalFactor, FAILURE_DRIFT, ORDER, rowsPerOrder, sessionMix } from './traffic-shape.js';
import { ZonedClock } from './zoned-time.js';

const MINUTE_MS = 60_000;
/** sessions that began up to this long before the start are still browsing when it comes */
const WARM_UP_MS = 15 * MINUTE_MS;

/** Every action of the run the options describe, lazily (an unbounded run never ends). */
export function generate(input: GeneratorOptionsInput): Generator<Action> {
  return modelActions(resolveOptions(input));
}

export function* modelActions(options: GeneratorOptions): Generator<Action> {
  yield* new TrafficModel(options).run();
}

/** Arrival rates per ms at the day's mean load, from `rate` and the traffic's average shape. */
interface ArrivalRates {
  sessions: number;
  directOrders: number;
  signups: number;
}

function arrivalRates(options: GeneratorOptions, meanCtrFactor: number): ArrivalRates {
  const mix = sessionMix(options.anonymousShare, options.duplicateShare, meanCtrFactor);
  const sessions = (options.rate * (1 - options.rowShare)) / mix.deliveries / 1000;
  const orders = (options.rate * options.rowShare) / rowsPerOrder(options.paymentFailureRate) / 1000;
  return { sessions, directOrders: Math.max(0, orders - sessions * mix.orders), signups: Math.max(orders, sessions * mix.orders) * ORDER.signupsPerOrder };
}

class TrafficModel implements ModelContext {
  readonly clock: ZonedClock;
  readonly catalog: Catalog;
  readonly agenda: Agenda;
  private readonly runTag: string;
  private readonly ids = new Map<GrowingTable, number>();
  private events = 0;
  private readonly delivery: Random;
  private readonly arrivals: Random;
  private readonly signupRandom: Random;
  private readonly orders: Orders;
  private readonly sessions: Sessions;
  private readonly abuse: Abuse;
  private loadMinute = Number.NaN;
  private load = 1;

  constructor(readonly options: GeneratorOptions) {
    const { seed } = options;
    this.clock = new ZonedClock(options.timezone);
    this.catalog = new Catalog({ seed, users: options.users, products: options.products, ads: options.ads });
    this.agenda = new Agenda(options.end);
    this.runTag = hashInts(seed, options.start, options.idBase).toString(36);
    this.delivery = Random.stream(seed, 'delivery');
    this.arrivals = Random.stream(seed, 'arrivals');
    this.signupRandom = Random.stream(seed, 'signups');
    this.orders = new Orders(this, Random.stream(seed, 'orders'));
    this.sessions = new Sessions(this, Random.stream(seed, 'sessions'), this.orders, this.runTag);
    this.abuse = new Abuse(this, this.orders, this.runTag);
  }

  *run(): Generator<Action> {
    const { start } = this.options;
    for (const area of this.catalog.areas) yield { kind: 'row', at: start, table: 'areas', op: 'insert', row: { id: area.id, province: area.province, city: area.city } };
    for (const product of this.catalog.products) yield { kind: 'row', at: start, table: 'products', op: 'insert', row: this.catalog.productRow(product) };
    for (let id = 1; id <= this.catalog.userCount; id++) yield { kind: 'row', at: start, table: 'users', op: 'insert', row: this.catalog.userRow(id, start, this.clock) };

    const rates = arrivalRates(this.options, this.catalog.meanCtrFactor);
    const directOrders = Random.stream(this.options.seed, 'direct-orders');
    this.sessions.warmUp(start, WARM_UP_MS, (t) => rates.sessions * this.loadAt(t));
    this.arrive(start, rates.sessions, (t) => this.sessions.start(t));
    this.arrive(start, rates.directOrders, (t) => this.directOrder(t, directOrders));
    this.arrive(start, rates.signups, (t) => this.signup(t));
    this.abuse.schedule(start);

    for (let entry = this.agenda.take(); entry !== undefined; entry = this.agenda.take()) {
      if (entry.action !== null) yield entry.action;
      else entry.step?.(entry.at);
    }
  }

  /** A Poisson process of `perMs` arrivals at mean load, following the day's curve; several may fall in one ms. */
  private arrive(start: number, perMs: number, happen: (now: number) => void): void {
    if (!(perMs > 0)) return;
    let clock = start;
    const plan = (): void => {
      clock += this.arrivals.exponential(1 / (perMs * this.loadAt(clock)));
      this.agenda.at(Math.ceil(clock), step);
    };
    const step = (now: number): void => {
      happen(now);
      plan();
    };
    plan();
  }

  private loadAt(now: number): number {
    const minute = Math.floor(now / MINUTE_MS);
    if (minute !== this.loadMinute) {
      this.load = Math.max(0.01, diurnalFactor(this.clock.hourOfDay(minute * MINUTE_MS), this.options.diurnal));
      this.loadMinute = minute;
    }
    return this.load;
  }

  private directOrder(now: number, random: Random): void {
    const userId = this.catalog.randomUser(random);
    if (random.chance(ORDER.backdated)) this.orders.placeBackdated(now, userId, this.catalog.userAreaId(userId));
    else this.orders.place(now, userId, this.catalog.userAreaId(userId));
  }

  private signup(now: number): void {
    const r = this.signupRandom;
    const id = this.nextId('users');
    const areaId = this.catalog.randomArea(r).id;
    this.insert(now, 'users', { id, name: personName(hashInts(this.options.seed, id, 13)), area_id: areaId, channel: this.catalog.randomChannel(r), created_at: this.clock.dateTime(now) });
    // A third of new users place a first order within half an hour.
    if (r.chance(ORDER.signupOrders)) this.agenda.at(now + r.intBetween(ORDER.signupOrderMs[0], ORDER.signupOrderMs[1]), (t) => this.orders.place(t, id, areaId));
  }

  nextId(table: GrowingTable): number {
    const n = (this.ids.get(table) ?? 0) + 1;
    this.ids.set(table, n);
    // Sign-ups come after the initial pool, whatever the base.
    return (table === 'users' ? Math.max(this.options.idBase, this.catalog.userCount) : this.options.idBase) + n;
  }

  insert<T extends SourceTable>(at: number, table: T, row: SourceRows[T]): void {
    this.agenda.emit({ kind: 'row', at, table, op: 'insert', row } as RowAction);
  }

  update<T extends SourceTable>(at: number, table: T, id: number, set: Partial<Omit<SourceRows[T], 'id'>>): void {
    this.agenda.emit({ kind: 'row', at, table, op: 'update', id, set } as RowAction);
  }

  remove(at: number, table: SourceTable, id: number): void {
    this.agenda.emit({ kind: 'row', at, table, op: 'delete', id } as RowAction);
  }

  event(e: Omit<AdEvent, 'event_id'>): void {
    const event: AdEvent = { event_id: `${this.runTag}-${(this.events++).toString(36)}`, ...e };
    const o = this.options;
    const r = this.delivery;
    const draw = r.next();
    let at = event.ts;
    let delivery: Delivery = 'on_time';
    if (draw < o.lateShare) {
      delivery = 'late';
      at += r.intBetween(DELIVERY.lateMs[0], DELIVERY.lateMs[1]);
    } else if (draw < o.lateShare + o.outOfOrderShare) {
      delivery = 'out_of_order';
      at += r.intBetween(DELIVERY.outOfOrderMs[0], DELIVERY.outOfOrderMs[1]);
    }
    this.agenda.emit({ kind: 'event', at, event, delivery, duplicate: false });
    if (r.chance(o.duplicateShare)) {
      this.agenda.emit({ kind: 'event', at: at + r.intBetween(DELIVERY.duplicateAfterMs[0], DELIVERY.duplicateAfterMs[1]), event, delivery, duplicate: true });
    }
  }

  failureRate(now: number): number {
    const burst = this.abuse.burstFailureRate(now);
    if (burst !== undefined) return burst;
    return this.options.paymentFailureRate * (1 + FAILURE_DRIFT.amplitude * Math.sin((2 * Math.PI * now) / FAILURE_DRIFT.periodMs));
  }
}
