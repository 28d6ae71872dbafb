/**
 * Where Canal's Kafka producer sends a flat message (CanalKafkaProducer.send over MQMessageUtils):
 * - topic: canal.mq.topic, or by canal.mq.dynamicTopic (messageTopics/matchTopics): a message with a
 *   database and a table is matched as 'db.table' first, then as 'db'; a matching item 'topic:regex' names
 *   its topic, a bare item names the topic after the matched name, lower-cased; unmatched messages and
 *   those without a database or table go to canal.mq.topic. With a dynamicTopic, every '.' in the topic
 *   becomes '_'; without one, canal.mq.topic is used unchanged.
 * - partition count: canal.mq.dynamicTopicPartitionNum ('topic-regex:count,...') for the topic, else
 *   canal.mq.partitionsNum (1 when unset).
 * - partition: without canal.mq.partitionHash everything goes to canal.mq.partition (0). With it
 *   (messagePartition for flat messages): DDL and messages without rows go to 0, as do tables no item
 *   matches; 'db.table' (no ':') hashes the table name; 'db.table:col^col' or ':$pk$' hashes each row:
 *   hash = database.hashCode() (canal.mq.database.hash, default true) XOR value.hashCode() per key column
 *   (NULL as ''), partition = abs(abs(hash) % count), rows regrouped into one message per partition.
 *   Hashes are Java String.hashCode, so the numbers equal Canal's.
 * - key: Canal sends no key. rtdw's keyByPrimaryKey option (for compacted topics) publishes each row as
 *   its own message (same partition, same order) keyed JSON.stringify([database, table, ...pk values]),
 *   pk values in pkNames order, NULL as null; DDL/QUERY messages are keyed [database, table]; rows of
 *   tables without a primary key get no key (a compacted topic then rejects them instead of collapsing
 *   them into one).
 *   An UPDATE of a row's primary key is published in keyed mode as Debezium publishes it: a DELETE of
 *   the before image keyed and partitioned by the old key, a tombstone (null value) of the old key in
 *   the same partition, then an INSERT of the after image under the new key. Otherwise the old key's
 *   last record would stay in its partition forever (compaction keeps it) and the retraction would
 *   travel in another partition than the row it retracts. Canal's multi-row mode keeps the UPDATE.
 */
import type { CanalTableSchema } from './column-types.js';
import { CanalRegexFilter } from './filter.js';
import { emptyRecord, type CanalFlatMessage, type CanalRow } from './flat-message.js';
import { javaIntAbs, javaStringHashCode } from './java-lang.js';

export interface CanalMqRoutingConfig {
  /** canal.mq.topic */
  topic: string;
  /** canal.mq.dynamicTopic, e.g. '.*\..*' (one topic per table) or 'orders:shop\.orders.*,shop' */
  dynamicTopic?: string;
  /** canal.mq.partition: the partition when partitionHash is empty */
  partition?: number;
  /** canal.mq.partitionsNum */
  partitionsNum?: number;
  /** canal.mq.partitionHash, e.g. '.*\..*:$pk$' or 'shop.orders:id,shop\..*' */
  partitionHash?: string;
  /** canal.mq.dynamicTopicPartitionNum, e.g. 'shop_.*:6,test:2' */
  dynamicTopicPartitionNum?: string;
  /** canal.mq.database.hash */
  databaseHash?: boolean;
  /** rtdw: one message per row, keyed by primary key (see the module comment) */
  keyByPrimaryKey?: boolean;
}

/** Where the rows of one table go: a fixed partition, or one by hash of some columns' values. */
type PartitionPlan = { kind: 'fixed'; partition: number } | { kind: 'hash'; columns: readonly string[]; baseHash: number; count: number };

/** The topic of a table's rows and the partition of each row, given its Canal texts in column order. */
export interface RowPartitioner {
  topic: string;
  /** the columns whose texts partitionOf reads */
  reads: readonly number[];
  partitionOf(texts: ReadonlyArray<string | null>): number;
}

export interface RoutedMessage {
  topic: string;
  partition: number;
  key: string | null;
  /** null: a tombstone of `key` */
  message: CanalFlatMessage | null;
}

/** Characters that make an MQ routing item a regex rather than a plain name (MQMessageUtils.isWildCard). */
const WILDCARD = /[*?+|(){}[\]\\$^]/;

/** A plain name compared ignoring case, or a Canal regex list. */
class NameMatcher {
  private readonly plainName: string | null;
  private readonly regex: CanalRegexFilter | null;

  constructor(item: string) {
    this.plainName = WILDCARD.test(item) ? null : item;
    this.regex = this.plainName === null ? new CanalRegexFilter(item) : null;
  }

  matches(name: string): boolean {
    return this.plainName !== null ? this.plainName.toLowerCase() === name.toLowerCase() : (this.regex?.matches(name) ?? false);
  }
}

/** Canal splits every MQ list option on ',' and ';', dropping empty items. */
function listItems(option: string | undefined): string[] {
  return (option ?? '').split(/[,;]/).filter((item) => item !== '');
}

interface DynamicTopicRule {
  /** Explicit topic of a 'topic:regex' item; null names the topic after the matched name. */
  topic: string | null;
  plainName: string | null;
  /** Items containing '\.' match 'db.table' names only; other regexes match database names only. */
  tableRegex: CanalRegexFilter | null;
  schemaRegex: CanalRegexFilter | null;
}

function dynamicTopicRule(item: string): DynamicTopicRule {
  const colon = item.indexOf(':');
  const topic = colon > -1 ? item.slice(0, colon).trim() : null;
  const expression = colon > -1 ? item.slice(colon + 1).trim() : item;
  if (!WILDCARD.test(expression)) return { topic, plainName: expression === '' ? null : expression, tableRegex: null, schemaRegex: null };
  const regex = new CanalRegexFilter(expression);
  return expression.includes('\\.') ? { topic, plainName: null, tableRegex: regex, schemaRegex: null } : { topic, plainName: null, tableRegex: null, schemaRegex: regex };
}

/** MQMessageUtils.matchDynamicTopic for one item. */
function ruleMatches(rule: DynamicTopicRule, name: string): boolean {
  if (rule.plainName !== null) return rule.plainName.toLowerCase() === name.toLowerCase();
  if (name.includes('.')) return rule.tableRegex?.matches(name) ?? false;
  return rule.schemaRegex?.matches(name) ?? false;
}

interface PartitionRule {
  matcher: NameMatcher;
  mode: { kind: 'table' } | { kind: 'primary-key' } | { kind: 'columns'; columns: string[] };
}

function partitionRule(item: string): PartitionRule {
  const colon = item.lastIndexOf(':');
  if (colon <= 0) return { matcher: new NameMatcher(item), mode: { kind: 'table' } };
  const columns = item.slice(colon + 1);
  return {
    matcher: new NameMatcher(item.slice(0, colon)),
    mode: columns.toLowerCase() === '$pk$' ? { kind: 'primary-key' } : { kind: 'columns', columns: columns.split('^').filter((c) => c !== '') },
  };
}

interface TopicPartitionCount {
  matcher: NameMatcher;
  count: number | null;
}

function topicPartitionCount(item: string): TopicPartitionCount | null {
  const colon = item.lastIndexOf(':');
  if (colon <= 0) return null;
  const count = item.slice(colon + 1);
  return { matcher: new NameMatcher(item.slice(0, colon)), count: /^\d+$/.test(count) ? Number(count) : null };
}

/** Math.abs(Math.abs(hash) % count): the second abs folds Integer.MIN_VALUE's negative remainder. */
function partitionOf(hash: number, count: number): number {
  return javaIntAbs(javaIntAbs(hash) % count);
}

/** The partition of one row under a hash plan. */
function rowPartition(plan: Extract<PartitionPlan, { kind: 'hash' }>, row: CanalRow): number {
  let hash = plan.baseHash;
  for (const column of plan.columns) hash ^= javaStringHashCode(fieldOf(row, column) ?? '');
  return partitionOf(hash, plan.count);
}

/** A row's value by column name; own fields only, a missing column reads as NULL (Java Map.get). */
function fieldOf(row: CanalRow, column: string): string | null {
  return Object.hasOwn(row, column) ? (row[column] ?? null) : null;
}

function withRows(message: CanalFlatMessage, data: CanalRow[], old: CanalRow[] | null): CanalFlatMessage {
  return { ...message, data, old };
}

/** An UPDATE row changed its primary key: `old` holds a key column with another value than `data`. */
function keyChanged(pkNames: readonly string[], row: CanalRow, oldRow: CanalRow): boolean {
  return pkNames.some((name) => Object.hasOwn(oldRow, name) && oldRow[name] !== fieldOf(row, name));
}

/** The before image of an UPDATE row: its after image with `old`'s values, in the same key order. */
function beforeImage(row: CanalRow, oldRow: CanalRow): CanalRow {
  const before: CanalRow = Object.getPrototypeOf(row) === null ? emptyRecord<string | null>() : {};
  for (const name of Object.keys(row)) before[name] = Object.hasOwn(oldRow, name) ? (oldRow[name] ?? null) : (row[name] ?? null);
  return before;
}

/** rtdw's Kafka key: [database, table, ...pk values] for a one-row message, [database, table] without rows, else none. */
export function primaryKeyMessageKey(message: CanalFlatMessage): string | null {
  const row = message.data?.[0];
  if (row === undefined) return JSON.stringify([message.database, message.table]);
  if (message.pkNames === null || message.data?.length !== 1) return null;
  return JSON.stringify([message.database, message.table, ...message.pkNames.map((name) => fieldOf(row, name))]);
}

export class CanalMqRouter {
  private readonly dynamicTopics: DynamicTopicRule[];
  private readonly partitionRules: PartitionRule[];
  private readonly partitionCounts: TopicPartitionCount[];
  private readonly partitioners = new WeakMap<CanalTableSchema, RowPartitioner>();

  constructor(private readonly config: CanalMqRoutingConfig) {
    this.dynamicTopics = listItems(config.dynamicTopic).map(dynamicTopicRule);
    this.partitionRules = listItems(config.partitionHash).map(partitionRule);
    this.partitionCounts = listItems(config.dynamicTopicPartitionNum).flatMap((item) => topicPartitionCount(item) ?? []);
  }

  /**
   * MQMessageUtils.messageTopics + CanalKafkaProducer's '.' -> '_', which Canal applies only on its
   * dynamic-topic path (to the default topic too); with no dynamicTopic, canal.mq.topic is used as is.
   */
  topicFor(database: string, table: string): string {
    if ((this.config.dynamicTopic ?? '') === '') return this.config.topic;
    const matched = database === '' || table === '' ? undefined : (this.matchTopic(`${database}.${table}`) ?? this.matchTopic(database));
    return (matched ?? this.config.topic).replaceAll('.', '_');
  }

  /** MQMessageUtils.matchTopics: the first item that matches decides. */
  private matchTopic(name: string): string | undefined {
    const rule = this.dynamicTopics.find((r) => ruleMatches(r, name));
    return rule === undefined ? undefined : (rule.topic ?? name.toLowerCase());
  }

  /** MQMessageUtils.parseDynamicTopicPartition, falling back to canal.mq.partitionsNum. */
  partitionCountFor(topic: string): number {
    const entry = this.partitionCounts.find((e) => e.matcher.matches(topic));
    return entry?.count ?? this.config.partitionsNum ?? 1;
  }

  /** MQMessageUtils.messagePartition for the rows of one table (pkNames: the message's, null without a primary key). */
  private partitionPlan(database: string, table: string, pkNames: readonly string[] | null, partitionCount: number): PartitionPlan {
    if (this.partitionRules.length === 0) return { kind: 'fixed', partition: this.config.partition ?? 0 };
    const name = `${database}.${table}`;
    const rule = this.partitionRules.find((r) => r.matcher.matches(name));
    if (rule === undefined) return { kind: 'fixed', partition: 0 };
    if (rule.mode.kind === 'table') return { kind: 'fixed', partition: partitionOf(javaStringHashCode(table), partitionCount) };
    const columns = rule.mode.kind === 'primary-key' ? (pkNames ?? []) : rule.mode.columns;
    return { kind: 'hash', columns, baseHash: this.config.databaseHash === false ? 0 : javaStringHashCode(database), count: partitionCount };
  }

  /** The partition plan of a message: DDL and messages without rows go to 0, like everything without partitionHash. */
  private messagePlan(message: CanalFlatMessage, partitionCount: number): PartitionPlan {
    if (this.partitionRules.length === 0) return { kind: 'fixed', partition: this.config.partition ?? 0 };
    if (message.isDdl || message.data === null || message.data.length === 0) return { kind: 'fixed', partition: 0 };
    return this.partitionPlan(message.database, message.table, message.pkNames, partitionCount);
  }

  /** MQMessageUtils.messagePartition(FlatMessage, ...): per-partition messages in partition order. */
  partitionsFor(message: CanalFlatMessage, partitionCount: number): Array<{ partition: number; message: CanalFlatMessage }> {
    const plan = this.messagePlan(message, partitionCount);
    if (plan.kind === 'fixed') return [{ partition: plan.partition, message }];

    const groups = new Map<number, { data: CanalRow[]; old: CanalRow[] }>();
    (message.data ?? []).forEach((row, i) => {
      const partition = rowPartition(plan, row);
      const group = groups.get(partition) ?? { data: [], old: [] };
      groups.set(partition, group);
      group.data.push(row);
      const oldRow = message.old?.[i];
      if (oldRow !== undefined) group.old.push(oldRow);
    });
    const hasOld = message.old !== null && message.old.length > 0;
    return [...groups.entries()]
      .sort(([a], [b]) => a - b)
      .map(([partition, group]) => ({ partition, message: withRows(message, group.data, hasOld ? group.old : null) }));
  }

  /** partitionsFor for rows of `schema` known by their texts: the same partitions, without building messages. */
  rowPartitioner(schema: CanalTableSchema): RowPartitioner {
    let partitioner = this.partitioners.get(schema);
    if (partitioner === undefined) {
      const topic = this.topicFor(schema.database, schema.table);
      const plan = this.partitionPlan(schema.database, schema.table, schema.pkNames.length > 0 ? schema.pkNames : null, this.partitionCountFor(topic));
      if (plan.kind === 'fixed') {
        partitioner = { topic, reads: [], partitionOf: () => plan.partition };
      } else {
        const names = schema.columns.map((c) => c.name);
        // A column the table lacks reads as NULL, like fieldOf.
        const indexes = plan.columns.map((column) => names.indexOf(column));
        partitioner = {
          topic,
          reads: indexes.filter((i) => i !== -1),
          partitionOf: (texts) => {
            let hash = plan.baseHash;
            for (const i of indexes) hash ^= javaStringHashCode((i === -1 ? null : texts[i]) ?? '');
            return partitionOf(hash, plan.count);
          },
        };
      }
      this.partitioners.set(schema, partitioner);
    }
    return partitioner;
  }

  route(message: CanalFlatMessage): RoutedMessage[] {
    const topic = this.topicFor(message.database, message.table);
    const count = this.partitionCountFor(topic);
    if (this.config.keyByPrimaryKey !== true) return this.partitionsFor(message, count).map(({ partition, message: part }) => ({ topic, partition, key: null, message: part }));
    const rows = message.data;
    const plan = this.messagePlan(message, count);
    if (rows === null || rows.length === 0) return [{ topic, partition: plan.kind === 'fixed' ? plan.partition : 0, key: primaryKeyMessageKey(message), message }];
    const keyed = (single: CanalFlatMessage): RoutedMessage => ({
      topic,
      partition: plan.kind === 'fixed' ? plan.partition : rowPartition(plan, single.data?.[0] ?? {}),
      key: primaryKeyMessageKey(single),
      message: single,
    });
    const pkNames = message.type === 'UPDATE' ? message.pkNames : null;
    const routed = rows.flatMap((row, i): RoutedMessage[] => {
      const oldRow = message.old === null || message.old.length === 0 ? null : (message.old[i] ?? {});
      if (pkNames === null || oldRow === null || !keyChanged(pkNames, row, oldRow)) return [keyed(rows.length === 1 ? message : withRows(message, [row], oldRow === null ? null : [oldRow]))];
      const deleted = keyed({ ...message, type: 'DELETE', data: [beforeImage(row, oldRow)], old: null });
      return [deleted, { ...deleted, message: null }, keyed({ ...message, type: 'INSERT', data: [row], old: null })];
    });
    // Like partitionsFor: partitions in ascending order, binlog order within each (the sort is stable).
    return routed.sort((a, b) => a.partition - b.partition);
  }
}
