/**
 * Consumer lag of the pipeline's groups, from Kafka's admin API: per group, the records between its
 * committed offsets and the ends of the namespace's topics it reads. A few requests per group, read
 * every RTDW_SCREEN_LAG_POLL_MS, not on every screen poll.
 *
 * The pipeline's groups are found by their names: a stage worker's group is `rtdw-<stage name>` with
 * stage names `<ns>.<job>.<stage>` (jobs/runtime/worker.ts, jobs/dwd/options.ts), a sink's is
 * `<ns>-<sink>` (`<ns>-redis-sink`, connectors/redis/config.ts). Only topics named `<ns>.…` count;
 * a group that committed only on other topics (another namespace whose name starts like this one)
 * is remembered and not asked again.
 *
 * End offsets are the partitions' high watermarks: on a topic written in transactions a caught-up
 * group still shows one record per partition, the commit marker after its last record.
 */
import type { Admin } from 'kafkajs';
import type { LagReport } from './snapshot.js';

type Ends = Map<number, { low: bigint; high: bigint }>;

export class LagReader {
  private readonly foreign = new Set<string>();
  private connected = false;

  constructor(
    private readonly admin: Admin,
    private readonly namespace: string,
  ) {}

  /** A name this namespace's workers or sinks would carry. */
  private isPipelineGroup(groupId: string): boolean {
    return groupId.startsWith(`rtdw-${this.namespace}.`) || groupId.startsWith(`${this.namespace}-`);
  }

  /** Connects on first use and again after a failure: Kafka may come up after the screen. */
  async read(): Promise<Extract<LagReport, { state: 'ok' }>> {
    try {
      if (!this.connected) {
        await this.admin.connect();
        this.connected = true;
      }
      return await this.readConnected();
    } catch (err) {
      this.connected = false;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.connected = false;
    await this.admin.disconnect();
  }

  private async readConnected(): Promise<Extract<LagReport, { state: 'ok' }>> {
    const { groups: listed } = await this.admin.listGroups();
    const ids = listed
      .map((g) => g.groupId)
      .filter((id) => this.isPipelineGroup(id) && !this.foreign.has(id))
      .sort();
    const endsOf = new Map<string, Promise<Ends>>();
    const ends = (topic: string): Promise<Ends> => {
      let e = endsOf.get(topic);
      if (e === undefined) {
        e = this.admin.fetchTopicOffsets(topic).then((ps) => new Map(ps.map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }])));
        endsOf.set(topic, e);
      }
      return e;
    };
    const groups: Array<{ group: string; topics: string[]; lag: number }> = [];
    for (const group of ids) {
      const committed = await this.admin.fetchOffsets({ groupId: group });
      const own = committed.filter((t) => t.topic.startsWith(`${this.namespace}.`));
      if (own.length === 0) {
        // Nothing committed yet: ask again next time; committed only elsewhere: not this pipeline's.
        if (committed.length > 0) this.foreign.add(group);
        continue;
      }
      let lag = 0n;
      for (const t of own) {
        const range = await ends(t.topic);
        for (const p of t.partitions) {
          const end = range.get(p.partition);
          if (end === undefined) continue;
          // -1: never committed; the group starts at the partition's first offset.
          const at = BigInt(p.offset) < 0n ? end.low : BigInt(p.offset);
          if (end.high > at) lag += end.high - at;
        }
      }
      groups.push({ group, topics: own.map((t) => t.topic).sort(), lag: Number(lag) });
    }
    return { state: 'ok', groups };
  }
}
