/** Topic creation with the partition count and configs a topic needs; existing topics are checked, never altered. */
import type { Admin } from 'kafkajs';

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
      waitForLeaders: true,
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
  const meta = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
  for (const t of meta.topics) {
    const want = specs.find((s) => s.topic === t.name)?.partitions ?? 0;
    // Changing the count would move keys to other partitions and break per-key order: never do it silently.
    if (t.partitions.length !== want) {
      throw new Error(`topic ${t.name} has ${t.partitions.length} partitions but ${want} are configured; recreate the topic or change the configuration`);
    }
  }
}
