/**
 * canal.instance.filter.regex / canal.instance.filter.black.regex, and the regex lists of the MQ routing
 * options, with Canal's semantics (AviaterRegexFilter + RegexFunction, Jakarta ORO Perl5):
 * - the option is split on ',' with empty items dropped and nothing trimmed (StringUtils.split);
 * - items are sorted longest first, each anchored as ^item$, and joined with '|';
 * - the target is lower-cased and matched case-insensitively; ORO's matches() takes the first match at
 *   offset 0 and accepts it only if it spans the whole target;
 * - an empty pattern list, or an empty target, gives the filter's default (true for the include list).
 * Patterns are Perl5 regexes run as JavaScript regexes: the common forms (.*\..* , shop\..* , shop.orders,
 * classes, groups, alternation) behave the same; Perl-only syntax such as (?i) or [[:alpha:]] throws.
 */
import type { QueryEventClass } from './ddl.js';

export class CanalRegexFilter {
  /** The combined expression Canal evaluates, e.g. '^shop\..*$|^.*\..*$'. */
  readonly expression: string;
  private readonly regex: RegExp | null;

  constructor(
    patterns: string,
    private readonly whenEmpty = true,
  ) {
    const items = patterns.split(',').filter((item) => item !== '');
    // Longest first (stable, like Java's List.sort), so 'foo|foot' cannot stop at 'foo' on "foot".
    items.sort((a, b) => b.length - a.length);
    this.expression = items.map((item) => `^${item}$`).join('|');
    this.regex = this.expression === '' ? null : new RegExp(this.expression, 'i');
  }

  matches(name: string): boolean {
    if (this.regex === null || name === '') return this.whenEmpty;
    const target = name.toLowerCase();
    const match = this.regex.exec(target);
    return match !== null && match.index === 0 && match[0].length === target.length;
  }
}

/** DDL result types LogEventConvert.processFilter checks against the table filters. */
const TABLE_DDL_TYPES = new Set(['ALTER', 'ERASE', 'CREATE', 'TRUNCATE', 'RENAME', 'CINDEX', 'DINDEX']);

export interface TableFilterConfig {
  /** canal.instance.filter.regex; empty accepts every table. */
  filterRegex?: string;
  /** canal.instance.filter.black.regex; empty excludes nothing. */
  blackRegex?: string;
}

export class CanalTableFilter {
  private readonly include: CanalRegexFilter;
  private readonly exclude: CanalRegexFilter;

  constructor(config: TableFilterConfig) {
    this.include = new CanalRegexFilter(config.filterRegex ?? '', true);
    // Canal's instance config builds the black list with defaultEmptyValue=false.
    this.exclude = new CanalRegexFilter(config.blackRegex ?? '', false);
  }

  /** Rows of `schema.table` are published (LogEventConvert.parseRowsEventForTableMeta). */
  acceptsTable(schema: string, table: string): boolean {
    const name = `${schema}.${table}`;
    return this.include.matches(name) && !this.exclude.matches(name);
  }

  /**
   * A classified QUERY event is published (LogEventConvert.processFilter): table DDL when one of its
   * results passes both lists, a RENAME when its old or new name does; database DDL, statement DML
   * and XA outcomes are not filtered by table.
   */
  acceptsQuery(queryClass: QueryEventClass): boolean {
    if (queryClass.kind === 'xa') return true;
    if (queryClass.kind !== 'statement') return false;
    return queryClass.results.some((result) => {
      if (!TABLE_DDL_TYPES.has(result.type)) return true;
      const name = `${result.schema}.${result.table ?? ''}`;
      const oldName = result.renamedFrom === null ? null : `${result.renamedFrom.schema}.${result.renamedFrom.table}`;
      const isRename = result.type === 'RENAME' && oldName !== null;
      if (!this.include.matches(name) && !(isRename && this.include.matches(oldName))) return false;
      if (this.exclude.matches(name) && (!isRename || this.exclude.matches(oldName))) return false;
      return true;
    });
  }
}
