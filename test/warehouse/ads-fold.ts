/**
 * What the sinks make of the ADS topics, for tests: a table's rows folded as ClickHouse FINAL folds a
 * ReplacingMergeTree(_version, _is_deleted) (per key the highest version, deleted keys dropped), and the
 * screen records applied as the Redis sink applies them (README "Redis layout": replace makes the hash
 * exactly its entries, upsert sets fields, remove deletes them; an empty hash is no key).
 */
type Row = Record<string, unknown>;

/** The ORDER BY key of each ADS table (schemas/clickhouse/0004_ads.sql). */
export const TABLE_KEYS = {
  ads_order_city_1h: ['window_start', 'window_end', 'province', 'city'],
  ads_order_top3_city_1h: ['window_start', 'window_end', 'province', 'rank'],
  ads_order_payment_5m: ['window_start', 'province'],
  ads_ad_clicks_1h: ['window_start', 'window_end', 'ad_id'],
  ads_ad_click_trend_1m: ['minute', 'ad_id'],
  ads_hot_ads_daily: ['day', 'province', 'rank'],
  ads_ad_ctr_5m: ['window_start', 'ad_id'],
  ads_channel_daily: ['day', 'channel'],
  ads_daily_kpi: ['day'],
} as const;

/** FINAL: per key the row of the highest _version (two rows of one key and version are an error), without _version and _is_deleted. */
export function foldTable(rows: readonly Row[], key: readonly string[]): Row[] {
  const latest = new Map<string, Row>();
  for (const row of rows) {
    const id = JSON.stringify(key.map((k) => row[k]));
    const seen = latest.get(id);
    if (seen !== undefined && seen._version === row._version) throw new Error(`two rows of key ${id} with _version ${String(row._version)}`);
    if (seen === undefined || (row._version as number) > (seen._version as number)) latest.set(id, row);
  }
  return [...latest.values()].filter((r) => r._is_deleted === 0).map(({ _version, _is_deleted, ...r }) => r);
}

/** The field and value a screen entry writes, per kind. */
function fieldOf(kind: string, entry: Row): [field: string, value: string | undefined] {
  switch (kind) {
    case 'order_city_1h':
      return [`${String(entry.province)}|${String(entry.city)}`, entry.orders === undefined ? undefined : JSON.stringify({ orders: entry.orders, amount: entry.amount })];
    case 'order_top3_city_1h':
    case 'hot_ads_daily':
      return [String(entry.province), entry.ranking === undefined ? undefined : JSON.stringify(entry.ranking)];
    case 'ad_clicks_1h':
      return [String(entry.ad_id), entry.clicks === undefined ? undefined : String(entry.clicks)];
    case 'ad_click_trend_1m':
      return [String(entry.minute_start), entry.clicks === undefined ? undefined : String(entry.clicks)];
    case 'daily_kpi':
      return [String(entry.kpi), entry.value === undefined ? undefined : String(entry.value)];
    default:
      throw new Error(`unknown screen kind ${kind}`);
  }
}

/** Redis key (without the namespace) -> field -> value, applying the records in order. */
export function foldScreens(records: readonly Row[]): Map<string, Map<string, string>> {
  const hashes = new Map<string, Map<string, string>>();
  for (const r of records) {
    const kind = String(r.kind);
    const id = 'window_start' in r ? r.window_start : 'ad_id' in r ? r.ad_id : r.day;
    const key = `${kind}:${String(id)}`;
    const entries = r.entries as Row[];
    const hash = r.op === 'replace' ? new Map<string, string>() : (hashes.get(key) ?? new Map<string, string>());
    for (const entry of entries) {
      const [field, value] = fieldOf(kind, entry);
      if (r.op === 'remove') hash.delete(field);
      else hash.set(field, value as string);
    }
    if (hash.size === 0) hashes.delete(key);
    else hashes.set(key, hash);
  }
  return hashes;
}
