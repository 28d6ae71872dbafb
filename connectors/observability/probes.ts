/**
 * Cheap requests that tell whether a service answers, each bounded by a short timeout and without
 * retries of its own (the caller probes again on its interval, outage.ts).
 */
import mysql from 'mysql2/promise';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from '../kafka/kafkajs.js';

const PROBE_TIMEOUT_MS = 2000;

/** A MySQL login and a ping. */
export async function probeMysql(options: mysql.ConnectionOptions): Promise<void> {
  const conn = await mysql.createConnection({ ...options, connectTimeout: PROBE_TIMEOUT_MS });
  try {
    await conn.ping();
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

/** A Kafka metadata round trip that finds at least one broker. */
export async function probeKafka(brokers: string[], clientId: string): Promise<void> {
  const kafka = new Kafka({ clientId: `${clientId}-probe`, brokers, logLevel: logLevel.NOTHING, connectionTimeout: PROBE_TIMEOUT_MS, requestTimeout: PROBE_TIMEOUT_MS, retry: { retries: 0 } });
  const admin = kafka.admin({ retry: { retries: 0 } });
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('the cluster has no broker');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** A ClickHouse ping over HTTP. */
export async function probeClickHouse(options: { url: string; user: string; password: string }): Promise<void> {
  const client = createClient({ url: options.url, username: options.user, password: options.password, request_timeout: PROBE_TIMEOUT_MS, log: { level: ClickHouseLogLevel.OFF } });
  try {
    const ping = await client.ping();
    if (!ping.success) throw ping.error;
  } finally {
    await client.close();
  }
}

/** A Redis PING on a connection of its own. */
export async function probeRedis(url: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: PROBE_TIMEOUT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } finally {
    client.disconnect();
  }
}
