/**
 * Orders over their life: placed with items (amount = Σ quantity × price, in cents, always, also
 * after a correction), paid within minutes (or late, or never, or only after failed attempts),
 * corrected, cancelled, refunded, reversed, purged. Each step runs at its model time and checks the
 * order's state then, as the application would.
 */
import { formatCents, type OrderStatus } from './actions.js';
import type { Product } from './catalog.js';
import type { ModelContext } from './context.js';
import type { Random } from './random.js';
import { ABUSE, ORDER } from './traffic-shape.js';

interface Item {
  id: number;
  productId: number;
  quantity: number;
  priceCents: number;
}

interface Order {
  id: number;
  createdAt: number;
  items: Item[];
  amountCents: number;
  status: OrderStatus;
}

type Range = readonly [number, number];

export class Orders {
  constructor(
    private readonly ctx: ModelContext,
    private readonly random: Random,
  ) {}

  private inRange([min, max]: Range): number {
    return Math.round(this.random.between(min, max));
  }

  /** A normal order, shipped mostly to the user's home area; `viewed` are products the user looked at in the session, bought first. */
  place(now: number, userId: number, homeAreaId: number, viewed: readonly Product[] = []): void {
    const areaId = this.random.chance(ORDER.homeAreaShare) ? homeAreaId : this.ctx.catalog.randomArea(this.random).id;
    const count = this.random.index(ORDER.items) + 1;
    const products = [...viewed.slice(0, count)];
    while (products.length < count) products.push(this.ctx.catalog.randomProduct(this.random));
    const lines = products.map((p) => {
      const quantity = this.random.index(ORDER.quantity) + 1;
      const price = this.random.chance(ORDER.discountShare) ? Math.max(1, Math.round((p.priceCents * 9) / 10)) : p.priceCents;
      return { product: p, quantity, price };
    });
    const order = this.insert(now, now, userId, areaId, lines);
    this.plan(order, now);
  }

  /** A brushing order: one cheap item, paid at once, never cancelled. */
  placeBrushing(now: number, userId: number, areaId: number): void {
    const product = this.ctx.catalog.randomSmallProduct(this.random);
    const order = this.insert(now, now, userId, areaId, [{ product, quantity: 1, price: product.priceCents }]);
    this.ctx.agenda.at(now + this.inRange(ABUSE.brushPayMs), (t) => this.attempt(order, t, 1, true));
  }

  /**
   * An order from an offline shop synced late: created 10 min to 3 h ago (a tenth of them days
   * ago, beyond the pipeline's state retention), paid minutes after, all written now. Downstream
   * it is a correction of past figures, not a late event.
   */
  placeBackdated(now: number, userId: number, areaId: number): void {
    const createdAt = now - this.inRange(this.random.chance(ORDER.ancientShare) ? ORDER.ancientMs : ORDER.backdatedMs);
    const product = this.ctx.catalog.randomProduct(this.random);
    this.insert(now, createdAt, userId, areaId, [{ product, quantity: 1, price: product.priceCents }], createdAt + this.inRange(ORDER.backdatedPayMs));
  }

  private insert(
    now: number,
    createdAt: number,
    userId: number,
    areaId: number,
    lines: ReadonlyArray<{ product: Product; quantity: number; price: number }>,
    /** the order was paid already, at this time, before it was written */
    paidAt?: number,
  ): Order {
    const { ctx } = this;
    const items = lines.map((l) => ({ id: ctx.nextId('order_items'), productId: l.product.id, quantity: l.quantity, priceCents: l.price }));
    const order: Order = { id: ctx.nextId('orders'), createdAt, items, amountCents: amountOf(items), status: 'created' };
    const created = ctx.clock.dateTime(createdAt);
    if (paidAt !== undefined) order.status = 'paid';
    ctx.insert(now, 'orders', {
      id: order.id,
      user_id: userId,
      area_id: areaId,
      amount: formatCents(order.amountCents),
      status: order.status,
      created_at: created,
      updated_at: paidAt === undefined ? created : ctx.clock.dateTime(paidAt),
    });
    for (const item of items) {
      ctx.insert(now, 'order_items', { id: item.id, order_id: order.id, product_id: item.productId, quantity: item.quantity, price: formatCents(item.priceCents) });
    }
    if (paidAt !== undefined) {
      ctx.insert(now, 'payments', { id: ctx.nextId('payments'), order_id: order.id, amount: formatCents(order.amountCents), status: 'success', paid_at: ctx.clock.dateTime(paidAt) });
    }
    return order;
  }

  /** The order's fate, drawn when it is placed. */
  private plan(order: Order, now: number): void {
    const { agenda } = this.ctx;
    const fate = this.random.next();
    if (fate < ORDER.earlyCancel) {
      agenda.at(now + this.inRange(ORDER.earlyCancelMs), (t) => this.cancel(order, t));
    } else if (fate < ORDER.earlyCancel + ORDER.neverPays) {
      if (this.random.chance(ORDER.unpaidCancelShare)) agenda.at(now + this.inRange(ORDER.unpaidCancelMs), (t) => this.cancel(order, t));
    } else {
      const kind = this.random.next();
      if (kind < ORDER.paysAtBound) {
        // The interval join's bounds, both inclusive: at created_at, at +30 min, and 1 ms past it.
        const delay = [0, 30 * 60_000, 30 * 60_000 + 1][this.random.int(3)] as number;
        agenda.at(now + delay, (t) => this.attempt(order, t, 1, true));
      } else {
        const delay =
          kind < ORDER.paysAtBound + ORDER.paysLate
            ? this.inRange(ORDER.paysLateMs)
            : Math.round(Math.min(ORDER.payMs[1], Math.max(ORDER.payMs[0], this.random.logNormal(ORDER.payMedianMs, ORDER.paySigma))));
        agenda.at(now + delay, (t) => this.attempt(order, t, 1, false));
      }
    }
    if (this.random.chance(ORDER.correction)) agenda.at(now + this.inRange(ORDER.correctionMs), (t) => this.correct(order, t));
  }

  private attempt(order: Order, now: number, attempt: number, alwaysSucceeds: boolean): void {
    if (order.status !== 'created') return;
    const { ctx } = this;
    const success = alwaysSucceeds || !this.random.chance(ctx.failureRate(now));
    const paymentId = ctx.nextId('payments');
    const paidAt = ctx.clock.dateTime(now);
    ctx.insert(now, 'payments', { id: paymentId, order_id: order.id, amount: formatCents(order.amountCents), status: success ? 'success' : 'fail', paid_at: paidAt });
    if (success) {
      order.status = 'paid';
      ctx.update(now, 'orders', order.id, { status: 'paid', updated_at: paidAt });
      if (this.random.chance(ORDER.refund)) ctx.agenda.at(now + this.inRange(ORDER.refundMs), (t) => this.refund(order, t));
      else if (this.random.chance(ORDER.reversal)) ctx.agenda.at(now + this.inRange(ORDER.reversalMs), (t) => this.reverse(order, paymentId, t));
      return;
    }
    if (this.random.chance(ORDER.failedPaymentPurge)) ctx.agenda.at(now + this.inRange(ORDER.failedPaymentPurgeMs), (t) => ctx.remove(t, 'payments', paymentId));
    if (attempt < ORDER.maxAttempts && this.random.chance(ORDER.retryShare)) {
      ctx.agenda.at(now + this.inRange(ORDER.retryMs), (t) => this.attempt(order, t, attempt + 1, false));
    } else if (this.random.chance(ORDER.unpaidCancelShare)) {
      ctx.agenda.at(Math.max(now + 1_000, order.createdAt + this.inRange(ORDER.unpaidCancelMs)), (t) => this.cancel(order, t));
    }
  }

  /** A coupon or a changed quantity on one item; the order's amount follows in the same instant. */
  private correct(order: Order, now: number): void {
    if (order.status !== 'created') return;
    const { ctx } = this;
    const item = this.random.pick(order.items);
    if (this.random.chance(0.5) && item.priceCents > 1) {
      const discount = Math.max(1, Math.round(item.priceCents * this.random.between(0.05, 0.3)));
      item.priceCents -= Math.min(discount, item.priceCents - 1);
      ctx.update(now, 'order_items', item.id, { price: formatCents(item.priceCents) });
    } else {
      item.quantity = item.quantity > 1 && this.random.chance(0.5) ? item.quantity - 1 : item.quantity + 1;
      ctx.update(now, 'order_items', item.id, { quantity: item.quantity });
    }
    order.amountCents = amountOf(order.items);
    ctx.update(now, 'orders', order.id, { amount: formatCents(order.amountCents), updated_at: ctx.clock.dateTime(now) });
  }

  private cancel(order: Order, now: number): void {
    if (order.status !== 'created') return;
    const { ctx } = this;
    order.status = 'cancelled';
    ctx.update(now, 'orders', order.id, { status: 'cancelled', updated_at: ctx.clock.dateTime(now) });
    if (this.random.chance(ORDER.cancelledDelete)) {
      ctx.agenda.at(now + this.inRange(ORDER.cancelledDeleteMs), (t) => {
        ctx.remove(t, 'orders', order.id);
        for (const item of order.items) ctx.remove(t, 'order_items', item.id);
      });
    }
  }

  /** Full refunds mark the order refunded; a partial one (one item's line) leaves it paid. */
  private refund(order: Order, now: number): void {
    if (order.status !== 'paid') return;
    const { ctx } = this;
    const full = order.items.length === 1 || this.random.chance(ORDER.fullRefundShare);
    const item = this.random.pick(order.items);
    const amount = full ? order.amountCents : item.quantity * item.priceCents;
    ctx.insert(now, 'refunds', { id: ctx.nextId('refunds'), order_id: order.id, amount: formatCents(amount), created_at: ctx.clock.dateTime(now) });
    if (full) {
      order.status = 'refunded';
      ctx.update(now, 'orders', order.id, { status: 'refunded', updated_at: ctx.clock.dateTime(now) });
    }
  }

  /** A payment recorded in error is deleted; the order awaits payment again, and half the time gets it. */
  private reverse(order: Order, paymentId: number, now: number): void {
    if (order.status !== 'paid') return;
    const { ctx } = this;
    order.status = 'created';
    ctx.remove(now, 'payments', paymentId);
    ctx.update(now, 'orders', order.id, { status: 'created', updated_at: ctx.clock.dateTime(now) });
    if (this.random.chance(ORDER.reversalRepay)) ctx.agenda.at(now + this.inRange(ORDER.retryMs), (t) => this.attempt(order, t, 1, false));
  }
}

function amountOf(items: readonly Item[]): number {
  return items.reduce((sum, i) => sum + i.quantity * i.priceCents, 0);
}
