import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADS_TABLES } from '../../ads/context.js';
import { repoRoot } from '../../../schemas/config.js';
import { ADS_TABLE_DEFS } from './tables.js';

/** Each table's columns and ORDER BY in the migration, read from its DDL. */
function migrationTables(): Map<string, { columns: string[]; orderBy: string[] }> {
  const sql = readFileSync(join(repoRoot, 'schemas/clickhouse/0004_ads.sql'), 'utf8');
  const out = new Map<string, { columns: string[]; orderBy: string[] }>();
  for (const m of sql.matchAll(/CREATE TABLE IF NOT EXISTS \{\{database\}\}\.(\w+)\s*\(([\s\S]*?)\)\s*ENGINE[\s\S]*?ORDER BY \(?([\w, ]+)\)?\s*\n/g)) {
    const columns = (m[2] ?? '').split('\n').map((l) => l.trim().split(' ')[0] ?? '').filter((c) => c !== '' && !c.startsWith('_'));
    out.set(m[1] ?? '', { columns, orderBy: (m[3] ?? '').split(',').map((c) => c.trim()) });
  }
  return out;
}

describe('the ADS tables reconcile compares', () => {
  it('are the tables of the ADS jobs, with the key and columns of migration 0004_ads.sql', () => {
    expect(ADS_TABLE_DEFS.map((d) => d.table)).toEqual([...ADS_TABLES]);
    const ddl = migrationTables();
    for (const def of ADS_TABLE_DEFS) {
      const t = ddl.get(def.table);
      expect(t?.orderBy, def.table).toEqual(def.keys);
      expect([...(t?.columns ?? [])].sort(), def.table).toEqual([...def.keys, ...def.figures.map((f) => f.name)].sort());
    }
  });
});
