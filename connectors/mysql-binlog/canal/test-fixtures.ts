/** Shared test inputs: information_schema rows and the Canal 1.1.4 reference messages. */
import { readFileSync } from 'node:fs';
import type { InformationSchemaColumn } from './column-types.js';
import type { CanalFlatMessage } from './flat-message.js';

export function isColumn(name: string, position: number | string, dataType: string, columnType: string, extra: Partial<InformationSchemaColumn> = {}): InformationSchemaColumn {
  return { COLUMN_NAME: name, ORDINAL_POSITION: position, DATA_TYPE: dataType, COLUMN_TYPE: columnType, NUMERIC_SCALE: null, DATETIME_PRECISION: null, COLUMN_KEY: '', ...extra };
}

/** dwshow.ad_show as information_schema describes it (MySQL 5.7, the reference's source). */
export const AD_SHOW_COLUMNS: InformationSchemaColumn[] = [
  isColumn('dt', 1, 'varchar', 'varchar(10)', { COLUMN_KEY: 'PRI' }),
  isColumn('cnt', 2, 'bigint', 'bigint(20)', { NUMERIC_SCALE: 0 }),
  isColumn('u_cnt', 3, 'bigint', 'bigint(20)', { NUMERIC_SCALE: 0 }),
  isColumn('device_cnt', 4, 'bigint', 'bigint(20)', { NUMERIC_SCALE: 0 }),
  isColumn('ad_action', 5, 'tinyint', 'tinyint(4)', { NUMERIC_SCALE: 0, COLUMN_KEY: 'PRI' }),
  isColumn('hour', 6, 'tinyint', 'tinyint(4)', { NUMERIC_SCALE: 0, COLUMN_KEY: 'PRI' }),
];

interface ReferenceFile {
  messages: Array<{ case: string; message: Omit<CanalFlatMessage, 'gtid'> }>;
}

/** Real Canal 1.1.4 messages (copied from /work/shared/reference/canal-flat-messages.json). */
export function referenceMessage(caseName: string): Omit<CanalFlatMessage, 'gtid'> {
  const file = JSON.parse(readFileSync(new URL('./canal-1.1.4-reference-messages.json', import.meta.url), 'utf8')) as ReferenceFile;
  const found = file.messages.find((m) => m.case === caseName);
  if (found === undefined) throw new Error(`no reference message ${caseName}`);
  return found.message;
}

/** Everything but the build time and batch id, which differ per run; gtid is absent before Canal 1.1.7. */
export function comparable(message: Omit<CanalFlatMessage, 'gtid'> | CanalFlatMessage): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(message)) as Record<string, unknown>;
  delete copy.ts;
  delete copy.id;
  delete copy.gtid;
  return copy;
}
