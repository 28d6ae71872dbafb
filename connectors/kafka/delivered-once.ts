/**
 * kafkajs may hand a consumer the same records again (a rebalance or a retried fetch before the
 * group's offsets were committed: at-least-once delivery). A reader that counts or folds records
 * takes each offset once; a record's identity is its topic, partition and offset.
 */
export class DeliveredOnce {
  /** per topic and partition, the next offset not yet taken */
  private readonly next = new Map<string, bigint>();
  /** records handed over again and skipped */
  redelivered = 0;

  /** True the first time a record is seen; offsets within a partition only grow. */
  take(topic: string, partition: number, offset: string | bigint): boolean {
    const key = `${topic}\u0000${partition}`;
    const at = BigInt(offset);
    if (at < (this.next.get(key) ?? 0n)) {
      this.redelivered += 1;
      return false;
    }
    this.next.set(key, at + 1n);
    return true;
  }
}
