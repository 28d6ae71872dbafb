/**
 * The Kafka → ClickHouse sink on the real stack: batches of thousands of rows, FINAL equal to a model
 * computed here from the input, a replay by a second group changing nothing, dead letters with their
 * reasons and original bytes, an insert whose answer is lost retried without a duplicate, an outage
 * during which no offset is committed (logged and counted once, caught up within 5 s of the return), and rows ClickHouse refuses isolated from their batch.
 */
import { spawn } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { createLogger, type Logger } from '../../connectors/observability/logger.js';
import { createClickHouse, quoteIdentifier, type ClickHouseClient } from '../../connectors/clickhouse/client.js';
import { ClickHouseSink, type DeadLetter, type SinkSpec } from '../../connectors/clickhouse/sink.js';
import { repoRoot } from '../../schemas/config.js';
import { killHard } from '../support/children.js';
import { config, uniqueName } from '../support/stack.js';
import { outagesCounted, serviceAvailable } from '../support/outages.js';
import { capturedLogger } from '../redis/support.js';
import { items, itemsSink as itemsSinkFor, latest, type Item } from './items.js';
import { caughtUp, clickhouse, committedOffsets, createTopic, deleteTopics, dropDatabase, produce, query, readTopic, waitFor } from './support.js';

const log = createLogger('sink-test', process.env.TEST_LOG_LEVEL ?? 'warn');
const ns = uniqueName('sink');
const deadLetterTopic = `${ns}.dead_letter`;
const topics: string[] = [deadLetterTopic];
const itemsSink = (name: string, topic: string, table: string): SinkSpec => itemsSinkFor(ns, name, topic, table);

async function final(client: ClickHouseClient, table: string): Promise<string[]> {
  const rows = await query<{ line: string }>(
    client,
    `SELECT concat(toString(id), '|', v, '|', toDecimalString(amount, 2), '|', toString(ts), '|', toString(_version)) AS line FROM ${quoteIdentifier(ns)}.${quoteIdentifier(table)} FINAL ORDER BY id`,
  );
  return rows.map((r) => r.line);
}

async function createTable(client: ClickHouseClient, table: string, extra = ''): Promise<void> {
  await client.command({
    query: `CREATE TABLE ${quoteIdentifier(ns)}.${quoteIdentifier(table)} (id UInt64, v String, amount Decimal(12, 2), ts DateTime64(3, 'UTC'), _version UInt64${extra})
            ENGINE = ReplacingMergeTree(_version) ORDER BY id SETTINGS non_replicated_deduplication_window = 1000`,
  });
}

async function runSink(spec: SinkSpec, url = config.clickhouse.url, batchRows = 5000, logger: Logger = log): Promise<{ sink: ClickHouseSink; client: ClickHouseClient }> {
  const client = createClickHouse({ ...config.clickhouse, url });
  const sink = new ClickHouseSink(createKafka(config, spec.name, logger), client, { database: ns, batchRows, flushMs: 200, maxRetryDelayMs: 500 }, spec, logger);
  await sink.start();
  return { sink, client };
}

async function stopSink(run: { sink: ClickHouseSink; client: ClickHouseClient }): Promise<void> {
  await run.sink.stop();
  await run.client.close();
}

/** An HTTP proxy in front of ClickHouse that can refuse every request, or lose the answer to one insert. */
class FaultyProxy {
  mode: 'up' | 'down' = 'up';
  loseNextInsertAnswer = false;
  refused = 0;
  lostAnswers = 0;
  readonly insertTokens: string[] = [];
  private readonly upstream = new URL(config.clickhouse.url);
  private readonly server: Server = createServer((req, res) => {
    if (this.mode === 'down') {
      this.refused += 1;
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://proxy');
    const isInsert = /^\s*INSERT\b/i.test(url.searchParams.get('query') ?? '');
    if (isInsert) this.insertTokens.push(url.searchParams.get('insert_deduplication_token') ?? '');
    const upstream = request({ host: this.upstream.hostname, port: this.upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (isInsert && this.loseNextInsertAnswer && answer.statusCode === 200) {
        // ClickHouse wrote the rows; the sink never hears it.
        this.loseNextInsertAnswer = false;
        this.lostAnswers += 1;
        answer.resume();
        answer.once('end', () => req.socket.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.once('error', () => req.socket.destroy());
    req.pipe(upstream);
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('ClickHouse sink', () => {
  let client: ClickHouseClient;

  beforeAll(async () => {
    client = clickhouse();
    await client.command({ query: `CREATE DATABASE ${quoteIdentifier(ns)}` });
    await createTopic(deadLetterTopic, 1);
  });

  afterAll(async () => {
    await dropDatabase(client, ns);
    await client.close();
    await deleteTopics(topics);
  });

  describe('batches, replay, dead letters', () => {
    const topic = `${ns}.items`;
    const input = items(30_000, 8000, 1);
    const bad = [
      { partition: 0, value: '{"id": 1, "v": ' },
      { partition: 1, value: JSON.stringify({ id: 2, v: 'x', amount: '1.234', ts: 0, _version: 1 }) },
      { partition: 2, value: JSON.stringify({ id: 3, v: 'x', amount: '1', ts: 0, _version: 1, colour: 'red' }) },
      { partition: 0, value: JSON.stringify({ id: 4, v: 'x', ts: 0, _version: 1 }) },
    ];

    beforeAll(async () => {
      topics.push(topic);
      await createTopic(topic, 3);
      await createTable(client, 'items');
      // Without merges every insert stays one part: rows per part is rows per insert.
      await client.command({ query: `SYSTEM STOP MERGES ${quoteIdentifier(ns)}.items` });
      const records = input.map((item) => ({ partition: item.id % 3, value: JSON.stringify(item) }));
      await produce(topic, [...records.slice(0, 10_000), ...bad, ...records.slice(10_000)]);
    });

    it('inserts thousands of rows per INSERT and reads back exactly the latest version of every id', async () => {
      const spec = itemsSink('batches', topic, 'items');
      const run = await runSink(spec);
      try {
        await waitFor('the sink to commit the end of the topic', async () => ((await caughtUp(spec.groupId, topic)) ? true : undefined));
      } finally {
        await stopSink(run);
      }
      expect(await final(client, 'items')).toEqual(latest(input));
      // ReplacingMergeTree already collapses the versions of a key within one insert (optimize_on_insert),
      // so the rows per insert are the input's rows per part.
      const [parts] = await query<{ parts: string }>(client, `SELECT uniqExact(_part) AS parts FROM ${quoteIdentifier(ns)}.items`);
      const rowsPerInsert = input.length / Number(parts?.parts);
      console.log(`sink batching: ${input.length} rows in ${parts?.parts} inserts, ${rowsPerInsert.toFixed(0)} rows per insert`);
      expect(rowsPerInsert).toBeGreaterThan(1000);
    });

    it('dead-letters each bad record with its reason, source offset and original bytes', async () => {
      const letters = (await readTopic(deadLetterTopic)).map((r) => JSON.parse(String(r.value)) as DeadLetter).filter((l) => l.sink === 'batches');
      const source = (await readTopic(topic)).filter((r) => bad.some((b) => b.value === String(r.value)));
      expect(source).toHaveLength(bad.length);
      expect(letters.map((l) => [l.topic, l.partition, l.offset, Buffer.from(l.value ?? '', 'base64').toString()]).sort()).toEqual(
        source.map((r) => [topic, r.partition, r.offset, String(r.value)]).sort(),
      );
      const reasons = new Map(letters.map((l) => [Buffer.from(l.value ?? '', 'base64').toString(), l.reason]));
      expect(reasons.get(bad[0]?.value as string)).toMatch(/^malformed JSON/);
      expect(reasons.get(bad[1]?.value as string)).toBe('items.amount: 1.234 has more than 2 decimal places');
      expect(reasons.get(bad[2]?.value as string)).toBe('items: unknown column colour');
      expect(reasons.get(bad[3]?.value as string)).toBe('items: column amount is missing');
    });

    it('a replay of the same offsets by another group leaves FINAL unchanged, one row per id', async () => {
      const raw = async () => Number((await query<{ raw: string }>(client, `SELECT count() AS raw FROM ${quoteIdentifier(ns)}.items`))[0]?.raw);
      const before = await raw();
      const spec = itemsSink('replay', topic, 'items');
      const run = await runSink(spec);
      try {
        await waitFor('the replay to commit the end of the topic', async () => ((await caughtUp(spec.groupId, topic)) ? true : undefined));
      } finally {
        await stopSink(run);
      }
      const finalRows = await final(client, 'items');
      // The replay group committed the end of the topic (above), so it read every offset again. Where its
      // flushes covered the same offset ranges as the first group's, ClickHouse dropped them by token;
      // elsewhere the rows landed twice, with the same versions.
      console.log(`replay: the raw row count grew by ${(await raw()) - before} (inserts with the first group's offset ranges were dropped by their token)`);
      expect(finalRows).toEqual(latest(input));
      expect(new Set(finalRows.map((l) => l.split('|')[0])).size).toBe(finalRows.length);
    });
  });

  it('a kill -9 mid-load and a restart leave FINAL equal to the model', async () => {
    const topic = `${ns}.killed`;
    topics.push(topic);
    await createTopic(topic, 3);
    await createTable(client, 'killed');
    const input = items(60_000, 20_000, 5);
    await produce(topic, input.map((item) => ({ partition: item.id % 3, value: JSON.stringify(item) })));
    const groupId = `${ns}-killed`;
    const env = { ...process.env, LOG_LEVEL: 'warn', CLICKHOUSE_DATABASE: ns, CLICKHOUSE_BATCH_ROWS: '2000', CLICKHOUSE_FLUSH_MS: '100' };
    const spawnSink = () => spawn(process.execPath, ['--import', 'tsx', 'test/support/run-items-sink.ts', ns, 'killed', topic, 'killed'], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'inherit'] });
    const committed = async () => [...(await committedOffsets(groupId, topic)).values()].reduce((sum, o) => sum + (o > 0n ? o : 0n), 0n);

    const first = spawnSink();
    await waitFor('a first commit', async () => ((await committed()) > 0n ? true : undefined), 120_000, 20);
    await killHard(first);
    // The kill landed mid-load: some offsets were committed, not all.
    const atKill = await committed();
    expect(atKill).toBeGreaterThan(0n);
    expect(atKill).toBeLessThan(BigInt(input.length));

    const second = spawnSink();
    try {
      await waitFor('the restarted sink to commit the end', async () => ((await caughtUp(groupId, topic)) ? true : undefined), 150_000);
    } finally {
      const exited = new Promise((r) => second.once('exit', r));
      second.kill('SIGTERM');
      await exited;
    }
    expect(await final(client, 'killed')).toEqual(latest(input));
  }, 300_000);

  it('retries an insert whose answer was lost with the same token, and the deduplication window keeps one copy', async () => {
    const topic = `${ns}.lost`;
    topics.push(topic);
    await createTopic(topic, 1);
    await createTable(client, 'lost');
    // A merge would collapse a duplicate part too: without merges only the token can prevent one.
    await client.command({ query: `SYSTEM STOP MERGES ${quoteIdentifier(ns)}.lost` });
    const input = items(3000, 'distinct', 2);
    await produce(topic, input.map((item) => ({ partition: 0, value: JSON.stringify(item) })));
    const proxy = new FaultyProxy();
    const url = await proxy.start();
    proxy.loseNextInsertAnswer = true;
    const spec = itemsSink('lost', topic, 'lost');
    const run = await runSink(spec, url);
    try {
      await waitFor('the sink to commit the end of the topic', async () => ((await caughtUp(spec.groupId, topic)) ? true : undefined));
    } finally {
      await stopSink(run);
      await proxy.close();
    }
    expect(proxy.lostAnswers).toBe(1);
    // The first insert landed unanswered and was sent again with the same token.
    expect(proxy.insertTokens[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(proxy.insertTokens[1]).toBe(proxy.insertTokens[0]);
    const [counts] = await query<{ raw: string }>(client, `SELECT count() AS raw FROM ${quoteIdentifier(ns)}.lost`);
    expect(Number(counts?.raw)).toBe(input.length);
    expect(await final(client, 'lost')).toEqual(latest(input));
  });

  it('while ClickHouse is away it retries and commits nothing; afterwards every row lands', async () => {
    const topic = `${ns}.outage`;
    topics.push(topic);
    await createTopic(topic, 2);
    await createTable(client, 'outage');
    const proxy = new FaultyProxy();
    const url = await proxy.start();
    const spec = itemsSink('outage', topic, 'outage');
    const { log: captured, lines } = capturedLogger();
    const outagesBefore = await outagesCounted(spec.name, 'clickhouse');
    const run = await runSink(spec, url, 1000, captured);
    const input = items(5000, 2000, 3);
    let catchUpMs = Number.POSITIVE_INFINITY;
    try {
      proxy.mode = 'down';
      await produce(topic, input.map((item) => ({ partition: item.id % 2, value: JSON.stringify(item) })));
      await waitFor('several refused attempts', async () => (proxy.refused >= 5 ? true : undefined));
      const committed = await committedOffsets(spec.groupId, topic);
      expect([...committed.values()].every((o) => o < 0n)).toBe(true);
      expect(await serviceAvailable(spec.name, 'clickhouse')).toBe(0);
      proxy.mode = 'up';
      const returnedAt = Date.now();
      await waitFor('the sink to commit the end of the topic', async () => ((await caughtUp(spec.groupId, topic)) ? true : undefined));
      catchUpMs = Date.now() - returnedAt;
    } finally {
      await stopSink(run);
      await proxy.close();
    }
    expect(await final(client, 'outage')).toEqual(latest(input));
    // Probed every 500 ms while away: the held flushes go within a probe of the return.
    expect(catchUpMs).toBeLessThan(5000);
    expect(lines.filter((l) => l.msg === 'clickhouse unavailable: outage begins')).toHaveLength(1);
    const ended = lines.filter((l) => l.msg === 'clickhouse available again');
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ part: spec.name, service: 'clickhouse', outageMs: expect.any(Number) });
    expect((await outagesCounted(spec.name, 'clickhouse')) - outagesBefore).toBe(1);
    expect(await serviceAvailable(spec.name, 'clickhouse')).toBe(1);
  });

  it('isolates the rows ClickHouse refuses (a CHECK constraint) and dead-letters just those', async () => {
    const topic = `${ns}.refused`;
    topics.push(topic);
    await createTopic(topic, 1);
    await createTable(client, 'refused', ', CONSTRAINT not_7_mod_200 CHECK id % 200 != 7');
    const input = items(2000, 1_000_000, 4);
    await produce(topic, input.map((item) => ({ partition: 0, value: JSON.stringify(item) })));
    const spec = itemsSink('refused', topic, 'refused');
    const run = await runSink(spec);
    try {
      await waitFor('the sink to commit the end of the topic', async () => ((await caughtUp(spec.groupId, topic)) ? true : undefined));
    } finally {
      await stopSink(run);
    }
    const accepted = input.filter((i) => i.id % 200 !== 7);
    const refused = input.filter((i) => i.id % 200 === 7);
    expect(refused.length).toBeGreaterThan(3);
    expect(await final(client, 'refused')).toEqual(latest(accepted));
    const letters = (await readTopic(deadLetterTopic)).map((r) => JSON.parse(String(r.value)) as DeadLetter).filter((l) => l.sink === 'refused');
    expect(letters.map((l) => (JSON.parse(Buffer.from(l.value ?? '', 'base64').toString()) as Item)._version).sort((a, b) => a - b)).toEqual(refused.map((i) => i._version));
    expect(letters[0]?.reason).toMatch(/^ClickHouse refused the row for refused: .*not_7_mod_200/);
  });
});
