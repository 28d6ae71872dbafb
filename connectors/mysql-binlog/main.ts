/** Process wiring of `rtdw cdc`: config, logger, metrics endpoint, signals; the `position`, `reset` and `snapshot` commands. */
import mysql from 'mysql2/promise';
import type { RtdwConfig } from '../../schemas/config.js';
import { createKafka } from '../kafka/client.js';
import { createLogger } from '../observability/logger.js';
import { serveMetrics } from '../observability/metrics.js';
import { CanalTableFilter } from './canal/filter.js';
import { loadCdcOptions } from './config.js';
import { PositionStore, type StoredPosition } from './position-store.js';
import { PublisherThread } from './publisher-thread.js';
import { forgetSnapshotRequests, sendSnapshotRequest, signalTopicOf } from './snapshot-signals.js';

export async function runCdc(config: RtdwConfig): Promise<void> {
  const options = loadCdcOptions(config.mysql.database);
  // The publisher thread loads its Kafka client while this thread loads the service's modules.
  const publisher = new PublisherThread();
  const log = createLogger('cdc', config.logLevel);
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  let service: import('./service.js').CdcService;
  try {
    const { CdcService } = await import('./service.js');
    metrics = await serveMetrics(config, 'cdc');
    service = new CdcService(config, options, createKafka(config, 'cdc', log), log, publisher);
  } catch (err) {
    await publisher.terminate();
    throw err;
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'stopping after the current batch');
      service.stop();
    });
  }
  log.info({ name: options.name, serverId: options.serverId, topic: options.dynamicTopic || options.topic, filter: options.filterRegex }, 'cdc starting');
  try {
    await service.run();
  } finally {
    // An open metrics server would keep the process alive after SIGTERM.
    metrics?.close();
  }
  log.info('cdc stopped');
}

function store(config: RtdwConfig): PositionStore {
  const options = loadCdcOptions(config.mysql.database);
  const log = createLogger('cdc', config.logLevel);
  return new PositionStore(createKafka(config, 'cdc-admin', log), options.positionsTopic, options.name);
}

export async function showPosition(config: RtdwConfig): Promise<StoredPosition | undefined> {
  const s = store(config);
  await s.ensureTopic();
  return s.load();
}

/** Forgets the position, and the snapshot requests read or not: the next start is a fresh one. */
export async function resetPosition(config: RtdwConfig): Promise<void> {
  const s = store(config);
  await s.ensureTopic();
  await s.clear();
  const options = loadCdcOptions(config.mysql.database);
  await forgetSnapshotRequests(createKafka(config, 'cdc-admin', createLogger('cdc', config.logLevel)), signalTopicOf(options.name));
}

/** A table named on the command line that cannot be snapshotted, with why. */
export class SnapshotRequestError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'SnapshotRequestError';
  }
}

/**
 * `rtdw cdc snapshot <table...>`: asks the connector (CDC_NAME) to snapshot the tables again, through its
 * signal topic; a stopped connector acts on it when it starts. `table` or `database.table`.
 */
export async function requestSnapshot(config: RtdwConfig, names: string[]): Promise<{ tables: string[]; topic: string; offset: string }> {
  const options = loadCdcOptions(config.mysql.database);
  const filter = new CanalTableFilter({ filterRegex: options.filterRegex, blackRegex: options.blackRegex });
  const tables = names.map((name) => {
    const dot = name.indexOf('.');
    return dot === -1 ? { database: config.mysql.database, table: name } : { database: name.slice(0, dot), table: name.slice(dot + 1) };
  });
  const { host, port, user, password } = config.mysql;
  const conn = await mysql.createConnection({ host, port, user, password });
  const problems: string[] = [];
  try {
    for (const t of tables) {
      const [found] = await conn.query<mysql.RowDataPacket[]>("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND TABLE_TYPE = 'BASE TABLE'", [t.database, t.table]);
      const [key] = await conn.query<mysql.RowDataPacket[]>("SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY'", [t.database, t.table]);
      if (found.length === 0) problems.push(`no table ${t.database}.${t.table}`);
      else if (!filter.acceptsTable(t.database, t.table)) problems.push(`${t.database}.${t.table} is not captured by this connector (CDC_FILTER_REGEX / CDC_BLACK_REGEX)`);
      // Its snapshot rows would add to the rows a consumer holds: only the initial snapshot reads such a table.
      else if (key.length === 0) problems.push(`${t.database}.${t.table} has no primary key: a consumer could not tell its snapshot rows from the rows it holds`);
    }
  } finally {
    await conn.end();
  }
  if (problems.length > 0) throw new SnapshotRequestError(problems);
  const topic = signalTopicOf(options.name);
  const offset = await sendSnapshotRequest(createKafka(config, 'cdc-admin', createLogger('cdc', config.logLevel)), topic, options.name, tables);
  return { tables: tables.map((t) => `${t.database}.${t.table}`), topic, offset };
}
