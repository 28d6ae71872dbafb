/** Topic creation with the partition count and configs a topic needs; existing topics are checked, never altered. */
import type { Admin, ITopicMetadata } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** e.g. { 'cleanup.policy': 'compact' } */
  config?: Record<string, string>;
}

export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<void> {
  if (specs.length === 0) return;
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length > 0) {
    await admin.createTopics({
      // kafkajs' wait gives up when the broker does not list a new topic yet (UNKNOWN_TOPIC_OR_PARTITION): see visibleTopics.
      waitForLeaders: false,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: -1,
        configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
      })),
    }).catch((err: unknown) => {
      // Another process may have created the same topic in between: that is fine.
      if (!(err instanceof Error && /already exists/i.test(err.message))) throw err;
    });
  }
  // Every topic is checked, new ones too: one created by another process in between (kafkajs then
  // reports nothing) may have been created with another partition count.
  for (const t of await visibleTopics(admin, specs.map((s) => s.topic))) {
    const want = specs.find((s) => s.topic === t.name)?.partitions ?? 0;
    // Changing the count would move keys to other partitions and break per-key order: never do it silently.
    if (t.partitions.length !== want) {
      throw new Error(`topic ${t.name} has ${t.partitions.length} partitions but ${want} are configured; recreate the topic or change the configuration`);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The topics' metadata once the broker lists each of them with a leader for every partition. Right
 * after a creation, the broker answering may not know the topic yet (UNKNOWN_TOPIC_OR_PARTITION) or
 * its leaders (LEADER_NOT_AVAILABLE): both are waited out, anything else is thrown.
 */
async function visibleTopics(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<ITopicMetadata[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics });
      if (meta.topics.every((t) => t.partitions.every((p) => p.leader >= 0))) return meta.topics;
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw err;
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leader after ${timeoutMs} ms`);
    await sleep(100);
  }
}
