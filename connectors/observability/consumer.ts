/**
 * What every rtdw Kafka consumer shows an operator: its readiness (joined its group and running, not
 * crashed or stopped) and its consumer lag, the records between the group's committed offsets and the
 * ends of its topics, read from Kafka's admin API when Prometheus scrapes (like a lag exporter): a
 * consumer that hangs shows a growing lag, which a figure the consumer reports itself would not.
 */
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { Counter, Gauge } from 'prom-client';
import { addReadinessCheck } from './health.js';
import { registry } from './metrics.js';

export interface ObservedConsumer {
  groupId: string;
  topics: readonly string[];
}

interface Watch extends ObservedConsumer {
  admin: SharedAdmin;
}

/** A lag read that takes longer counts as failed: a scrape must not wait on Kafka's own retries. */
const LAG_TIMEOUT_MS = 3000;

/** One admin client per Kafka client, shared by the consumers observed on it. */
class SharedAdmin {
  private connected: Promise<void> | undefined;
  users = 0;
  readonly admin: Admin;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }

  async get(): Promise<Admin> {
    this.connected ??= this.admin.connect().catch((err: unknown) => {
      this.connected = undefined;
      throw err;
    });
    await this.connected;
    return this.admin;
  }

  close(): void {
    this.connected = undefined;
    this.admin.disconnect().catch(() => undefined);
  }
}

const admins = new Map<Kafka, SharedAdmin>();
const watches = new Set<Watch>();

const lagFailures = new Counter({
  name: 'rtdw_kafka_consumer_lag_read_failures_total',
  help: 'scrapes whose consumer-lag read from Kafka failed or timed out (the group has no lag series then)',
  labelNames: ['group'],
  registers: [registry],
});

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Kafka in ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

type Ends = Map<number, { low: bigint; high: bigint }>;

/** The partitions' offset ranges of each topic, asked once per scrape however many groups read the topic. */
function topicEnds(admin: Admin): (topic: string) => Promise<Ends> {
  const asked = new Map<string, Promise<Ends>>();
  return (topic) => {
    let ends = asked.get(topic);
    if (ends === undefined) {
      ends = admin.fetchTopicOffsets(topic).then((os) => new Map(os.map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }])));
      asked.set(topic, ends);
    }
    return ends;
  };
}

/** Records per topic between the group's committed offsets (never committed: the partition's start) and the topic's end. */
export async function groupLag(admin: Admin, groupId: string, topics: readonly string[], endsOf = topicEnds(admin)): Promise<Map<string, bigint>> {
  const lag = new Map<string, bigint>();
  const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
  for (const t of committed) {
    const ends = await endsOf(t.topic);
    let behind = 0n;
    for (const p of t.partitions) {
      const end = ends.get(p.partition);
      if (end === undefined) continue;
      const at = BigInt(p.offset) < 0n ? end.low : BigInt(p.offset);
      if (end.high > at) behind += end.high - at;
    }
    lag.set(t.topic, behind);
  }
  return lag;
}

new Gauge({
  name: 'rtdw_kafka_consumer_lag_records',
  help: 'records between the consumer group\'s committed offsets and the end of the topic, read from Kafka at each scrape (transactional topics: a caught-up group may show one commit marker per partition)',
  labelNames: ['group', 'topic'],
  registers: [registry],
  async collect() {
    this.reset();
    const ends = new Map<SharedAdmin, Promise<(topic: string) => Promise<Ends>>>();
    const endsVia = (shared: SharedAdmin) => {
      let e = ends.get(shared);
      if (e === undefined) {
        e = shared.get().then(topicEnds);
        ends.set(shared, e);
      }
      return e;
    };
    await Promise.all(
      [...watches].map(async (w) => {
        try {
          const read = async () => groupLag(await w.admin.get(), w.groupId, w.topics, await endsVia(w.admin));
          const lag = await withTimeout(read(), LAG_TIMEOUT_MS);
          for (const [topic, records] of lag) this.set({ group: w.groupId, topic }, Number(records));
        } catch {
          lagFailures.inc({ group: w.groupId });
        }
      }),
    );
  },
});

type ConsumerState = 'joining' | 'running' | 'restarting' | 'crashed' | 'stopped' | 'disconnected';

/**
 * Observes a consumer until the returned function is called (at its stop): a readiness check
 * `kafka consumer <group>` and the group's lag. Call it before consumer.run(), so the join is seen.
 */
export function observeConsumer(kafka: Kafka, consumer: Consumer, observed: ObservedConsumer): () => void {
  let state: ConsumerState = 'joining';
  let crash = '';
  const { GROUP_JOIN, CRASH, STOP, DISCONNECT } = consumer.events;
  const listeners = [
    consumer.on(GROUP_JOIN, () => {
      state = 'running';
    }),
    consumer.on(CRASH, ({ payload }: { payload: { error: Error; restart: boolean } }) => {
      state = payload.restart ? 'restarting' : 'crashed';
      crash = payload.error.message;
    }),
    consumer.on(STOP, () => {
      state = 'stopped';
    }),
    consumer.on(DISCONNECT, () => {
      state = 'disconnected';
    }),
  ];
  const removeCheck = addReadinessCheck(`kafka consumer ${observed.groupId}`, () => ({
    ok: state === 'running',
    detail: state === 'restarting' || state === 'crashed' ? `${state} after: ${crash}` : state,
  }));
  let shared = admins.get(kafka);
  if (shared === undefined) {
    shared = new SharedAdmin(kafka);
    admins.set(kafka, shared);
  }
  shared.users += 1;
  const watch: Watch = { ...observed, admin: shared };
  watches.add(watch);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    for (const remove of listeners) remove();
    removeCheck();
    watches.delete(watch);
    watch.admin.users -= 1;
    if (watch.admin.users === 0) {
      admins.delete(kafka);
      watch.admin.close();
    }
  };
}
