/**
 * `npm run bench:sink`: throughput of the Kafka → ClickHouse sink through the ODS mirror. Fills a
 * private three-partition Canal topic with keyed INSERT messages of `orders` (as the CDC writes
 * them), then times the mirror from its first record to the commit of the topic's end: Canal JSON
 * parsed, rows checked against ods_orders' column types, inserted in batches, offsets committed.
 * Everything it creates is removed at the end.
 *
 *   npm run bench:sink -- [messages=200000] [batchRows=CLICKHOUSE_BATCH_ROWS]
 */
import { loadConfig } from '../schemas/config.js';
import { createKafka } from '../connectors/kafka/client.js';
import { ensureTopics } from '../connectors/kafka/topics.js';
import { createLogger } from '../connectors/observability/logger.js';
import { createClickHouse, quoteIdentifier } from '../connectors/clickhouse/client.js';
import { migrate } from '../connectors/clickhouse/migrations.js';
import { ClickHouseSink } from '../connectors/clickhouse/sink.js';
import { sinkMetrics } from '../connectors/clickhouse/metrics.js';
import { odsMirror } from '../jobs/ods/mirror.js';

const config = loadConfig();
const messages = Number(process.argv[2] ?? 200_000);
const batchRows = Number(process.argv[3] ?? config.clickhouse.batchRows);
const ns = `bench_sink_${Date.now().toString(36)}`;
const topic = `${ns}.ods_binlog`;
const log = createLogger('bench-sink', 'warn');
const kafka = createKafka(config, 'bench-sink', log);
const { url, user, password } = config.clickhouse;
const client = createClickHouse({ url, user, password });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function canalInsert(id: number): string {
  const created = new Date(Date.UTC(2026, 10, 1) + id * 37).toISOString().replace('T', ' ').replace('Z', '');
  return JSON.stringify({
    data: [{ id: String(id), user_id: String(1 + (id % 50_000)), area_id: String(1 + (id % 300)), amount: `${id % 100_000}.${String(id % 100).padStart(2, '0')}`, status: 'created', created_at: created, updated_at: created }],
    database: 'shop',
    es: 1_764_547_200_000,
    gtid: '0-1-1',
    id: 1 + Math.floor(id / 20_000),
    isDdl: false,
    mysqlType: { id: 'bigint(20)', user_id: 'bigint(20)', area_id: 'int(11)', amount: 'decimal(12,2)', status: 'varchar(16)', created_at: 'datetime(3)', updated_at: 'datetime(3)' },
    old: null,
    pkNames: ['id'],
    sql: '',
    sqlType: { id: -5, user_id: -5, area_id: 4, amount: 3, status: 12, created_at: 93, updated_at: 93 },
    table: 'orders',
    ts: 1_764_547_200_100,
    type: 'INSERT',
  });
}

async function main(): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const sink = new ClickHouseSink(kafka, createClickHouse({ url, user, password }), { database: ns, batchRows, flushMs: config.clickhouse.flushMs, maxRetryDelayMs: 10_000 }, odsMirror({ namespace: ns, sourceDatabase: 'shop' }), log);
  try {
    await migrate(client, ns);
    await ensureTopics(admin, [{ topic, partitions: 3 }, { topic: `${ns}.dead_letter`, partitions: 1 }]);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < messages; i += 10_000) {
      const chunk = Array.from({ length: Math.min(10_000, messages - i) }, (_, j) => {
        const id = i + j + 1;
        return { key: JSON.stringify(['shop', 'orders', String(id)]), value: canalInsert(id), partition: id % 3 };
      });
      await producer.send({ topic, acks: -1, messages: chunk });
    }
    await producer.disconnect();
    console.log(`${messages} Canal messages in ${topic}; mirror with CLICKHOUSE_BATCH_ROWS=${batchRows}, CLICKHOUSE_FLUSH_MS=${config.clickhouse.flushMs}`);

    await sink.start();
    while (sink.stats().records === 0) await sleep(10);
    const started = process.hrtime.bigint();
    const ends = await admin.fetchTopicOffsets(topic);
    for (;;) {
      const [committed] = await admin.fetchOffsets({ groupId: `${ns}-ods-mirror`, topics: [topic] });
      if (ends.every((e) => committed?.partitions.find((p) => p.partition === e.partition)?.offset === e.high)) break;
      await sleep(20);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const stats = sink.stats();
    const rows = stats.rows.ods_orders ?? 0;
    const latency = (await sinkMetrics().insertSeconds.get()).values;
    const count = latency.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    const sum = latency.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
    const [stored] = await (await client.query({ query: `SELECT count() AS n FROM ${quoteIdentifier(ns)}.ods_orders FINAL`, format: 'JSONEachRow' })).json<{ n: string }>();
    console.log(`rows inserted: ${rows} in ${stats.inserts.ods_orders ?? 0} inserts (${Math.round(rows / Math.max(1, stats.inserts.ods_orders ?? 1))} rows per insert, mean insert ${((sum / Math.max(1, count)) * 1000).toFixed(0)} ms); ${stored?.n} rows in ods_orders FINAL; dead letters ${stats.deadLetters}`);
    console.log(`sink rows/s: ${Math.round(rows / seconds)} (${seconds.toFixed(2)} s from the first record to the commit of the end)`);
  } finally {
    await sink.stop().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic, `${ns}.dead_letter`] }).catch(() => undefined);
    await admin.disconnect();
    await client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(ns)}` });
    await client.close();
  }
}

await main();
