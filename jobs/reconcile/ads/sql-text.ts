/**
 * MySQL statements built from fragments: values become `?` placeholders in order, identifiers and
 * SQL text are fragments (identifiers checked by sql.ts `quoted`). Nothing a caller passes as a value
 * is ever spliced into the text.
 */
import type { SqlValue } from '../mysql.js';

export interface Fragment {
  readonly sql: string;
  readonly params: readonly SqlValue[];
}

const isFragment = (v: unknown): v is Fragment => typeof v === 'object' && v !== null && 'sql' in v && 'params' in v;

/** SQL text that is not a value (an identifier already quoted, a keyword, a constant of the code). */
export function raw(text: string): Fragment {
  return { sql: text, params: [] };
}

/** `sql\`SELECT … WHERE a >= ${value} AND ${fragment}\``: values become placeholders, fragments are inlined with theirs. */
export function sql(strings: TemplateStringsArray, ...parts: ReadonlyArray<Fragment | SqlValue>): Fragment {
  let text = strings[0] ?? '';
  const params: SqlValue[] = [];
  parts.forEach((part, i) => {
    if (isFragment(part)) {
      text += part.sql;
      params.push(...part.params);
    } else {
      text += '?';
      params.push(part);
    }
    text += strings[i + 1] ?? '';
  });
  return { sql: text, params };
}

export function join(fragments: readonly Fragment[], separator: string): Fragment {
  return { sql: fragments.map((f) => f.sql).join(separator), params: fragments.flatMap((f) => f.params) };
}
