/** Runs the CDC service in-process or as a child process, and reads what it published. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import mysql from 'mysql2/promise';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import { repoRoot } from '../../schemas/config.js';
import { createKafka } from '../../connectors/kafka/client.js';
import { createLogger } from '../../connectors/observability/logger.js';
import { loadCdcOptions } from '../../connectors/mysql-binlog/config.js';
import type { PublisherThread } from '../../connectors/mysql-binlog/publisher-thread.js';
import { CdcService } from '../../connectors/mysql-binlog/service.js';
import type { CanalFlatMessage } from '../../connectors/mysql-binlog/canal/flat-message.js';
import { config, uniqueName } from './stack.js';
import { DeliveredOnce } from '../../connectors/kafka/delivered-once.js';

export interface CdcRun {
  env: Record<string, string>;
  topic: string;
  /** connected to the binlog (a snapshot, if any, runs meanwhile) */
  streaming: Promise<void>;
  /** no snapshot pending: the initial one, if any, committed its last chunk */
  snapshotted: Promise<void>;
  stop(): Promise<void>;
}

/** Environment of one isolated connector: its own name, topics, server id and table filter. */
export function cdcEnv(tablePrefix: string, extra: Record<string, string> = {}): Record<string, string> {
  const name = uniqueName('cdc');
  return {
    CDC_NAME: name,
    CDC_TOPIC: `${name}_out`,
    CDC_POSITIONS_TOPIC: `${name}_pos`,
    CDC_SERVER_ID: String(randomInt(10_000, 4_000_000)),
    CDC_FILTER_REGEX: `${config.mysql.database}\\.${tablePrefix}.*`,
    CDC_FLUSH_MS: '20',
    ...extra,
  };
}

/** `publisher`: a publisher thread of the test's own (the service starts one otherwise). */
export function startCdc(env: Record<string, string>, publisher?: PublisherThread): CdcRun {
  const log = createLogger('cdc-test', process.env.TEST_LOG_LEVEL ?? 'warn');
  const service = new CdcService(config, loadCdcOptions(config.mysql.database, env), createKafka(config, 'cdc-test', log), log, publisher);
  const running = service.run();
  return {
    env,
    topic: env.CDC_TOPIC as string,
    streaming: service.streaming,
    snapshotted: service.snapshotted,
    stop: async () => {
      service.stop();
      await running;
    },
  };
}

/** `rtdw cdc` as its own process, for kill -9. */
export function spawnCdc(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['bin/rtdw.mjs', 'cdc'], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

export interface Received {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** the record's Kafka timestamp: when the CDC published it */
  timestamp: number;
  message: CanalFlatMessage;
}

/** Reads topics (read_committed) from the start until `done` holds for what was read, or fails after timeoutMs. */
export async function readUntil(topics: string[], done: (all: Received[]) => boolean, timeoutMs = 60_000, brokers: string[] = config.kafka.brokers): Promise<Received[]> {
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), readUncommitted: false, maxBytes: 50 * 1024 * 1024 });
  const all: Received[] = [];
  const once = new DeliveredOnce();
  await consumer.connect();
  try {
    for (const topic of topics) await waitForTopic(kafka, topic, timeoutMs);
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms with ${all.length} messages`)), timeoutMs);
      void consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              if (!once.take(batch.topic, batch.partition, m.offset)) continue;
              all.push({ topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key?.toString() ?? null, timestamp: Number(m.timestamp), message: JSON.parse(String(m.value)) as CanalFlatMessage });
            }
            if (done(all)) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return all;
}

async function waitForTopic(kafka: Kafka, topic: string, timeoutMs: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (!(await admin.listTopics()).includes(topic)) {
      if (Date.now() > deadline) throw new Error(`topic ${topic} never appeared`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.disconnect();
  }
}

export function rowCount(received: Received[], type?: string): number {
  return received.reduce((n, r) => n + (type === undefined || r.message.type === type ? (r.message.data?.length ?? 0) : 0), 0);
}

export async function appDb(): Promise<mysql.Connection> {
  const { host, port, database, app } = config.mysql;
  return mysql.createConnection({ host, port, database, user: app.user, password: app.password, multipleStatements: true });
}
