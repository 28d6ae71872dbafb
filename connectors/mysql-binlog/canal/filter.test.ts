import { describe, expect, it } from 'vitest';
import { classifyQueryEvent } from './ddl.js';
import { CanalRegexFilter, CanalTableFilter } from './filter.js';

describe('CanalRegexFilter equals Canal 1.1.7 AviaterRegexFilter', () => {
  // Expected: AviaterRegexFilter(pattern).filter(name), AviaterRegexFilter(pattern, false).filter(name) and its
  // getPattern(), run on Canal 1.1.7 (Jakarta ORO 2.0.8). The connector.core copy gave the same results.
  it.each([
    ['.*\\..*', 'shop.orders', true, true, '^.*\\..*$'],
    ['.*\\..*', 'shop', false, false, '^.*\\..*$'],
    ['shop\\..*', 'shop.orders', true, true, '^shop\\..*$'],
    ['shop\\..*', 'shopx.orders', false, false, '^shop\\..*$'],
    ['shop.orders', 'shop.orders', true, true, '^shop.orders$'],
    ['shop.orders', 'shopXorders', true, true, '^shop.orders$'],
    ['shop.orders', 'SHOP.ORDERS', true, true, '^shop.orders$'],
    ['Shop\\.Orders', 'shop.orders', true, true, '^Shop\\.Orders$'],
    ['foo,foot', 'foot', true, true, '^foot$|^foo$'],
    ['foo|foot', 'foot', false, false, '^foo|foot$'],
    ['foo|foot', 'foo', true, true, '^foo|foot$'],
    ['a|b', 'ab', false, false, '^a|b$'],
    ['shop\\.order_\\d+', 'shop.order_12', true, true, '^shop\\.order_\\d+$'],
    ['', 'shop.orders', true, false, ''],
    [',', 'shop.orders', true, false, ''],
    ['shop\\..*, mysql\\..*', 'mysql.user', false, false, '^ mysql\\..*$|^shop\\..*$'],
    ['shop\\..*,mysql\\..*', 'mysql.user', true, true, '^mysql\\..*$|^shop\\..*$'],
    ['shop\\..*', '', true, false, '^shop\\..*$'],
    ['shop\\.(orders|items)', 'shop.items', true, true, '^shop\\.(orders|items)$'],
    ['foooo,f.*t', 'fooooot', true, true, '^foooo$|^f.*t$'],
    ['shop\\.t[0-9]{2}', 'shop.t12', true, true, '^shop\\.t[0-9]{2}$'],
    ['shop\\.t[0-9]{2}', 'shop.t123', false, false, '^shop\\.t[0-9]{2}$'],
    ['canal\\.canal.*', 'canal.canal_x', true, true, '^canal\\.canal.*$'],
    ['.*', 'shop.orders', true, true, '^.*$'],
    ['shop', 'shop', true, true, '^shop$'],
    ['ß\\..*', 'ß.x', true, true, '^ß\\..*$'],
  ])('%j on %j -> %s (black list %s), expression %s', (patterns, name, included, blacklisted, expression) => {
    const include = new CanalRegexFilter(patterns);
    expect(include.matches(name)).toBe(included);
    expect(new CanalRegexFilter(patterns, false).matches(name)).toBe(blacklisted);
    expect(include.expression).toBe(expression);
  });
});

describe('CanalTableFilter', () => {
  it('rows: the include list must match and the black list must not', () => {
    const filter = new CanalTableFilter({ filterRegex: 'shop\\..*', blackRegex: 'shop\\.tmp_.*' });
    expect(filter.acceptsTable('shop', 'orders')).toBe(true);
    expect(filter.acceptsTable('Shop', 'Orders')).toBe(true);
    expect(filter.acceptsTable('shop', 'tmp_1')).toBe(false);
    expect(filter.acceptsTable('crm', 'users')).toBe(false);
    expect(new CanalTableFilter({}).acceptsTable('any', 'table')).toBe(true);
  });

  it('table DDL is filtered by table; a multi-table statement passes if one table does', () => {
    const filter = new CanalTableFilter({ filterRegex: 'shop\\..*', blackRegex: 'shop\\.tmp_.*' });
    expect(filter.acceptsQuery(classifyQueryEvent('ALTER TABLE orders ADD c INT', 'shop'))).toBe(true);
    expect(filter.acceptsQuery(classifyQueryEvent('ALTER TABLE users ADD c INT', 'crm'))).toBe(false);
    expect(filter.acceptsQuery(classifyQueryEvent('DROP TABLE tmp_1', 'shop'))).toBe(false);
    expect(filter.acceptsQuery(classifyQueryEvent('DROP TABLE crm.users, shop.orders', 'x'))).toBe(true);
  });

  it('RENAME passes when its old or new name is included, and is dropped only when both are blacklisted', () => {
    const filter = new CanalTableFilter({ filterRegex: 'shop\\..*', blackRegex: 'shop\\.tmp_.*' });
    expect(filter.acceptsQuery(classifyQueryEvent('RENAME TABLE crm.a TO shop.a', ''))).toBe(true);
    expect(filter.acceptsQuery(classifyQueryEvent('RENAME TABLE shop.a TO crm.a', ''))).toBe(true);
    expect(filter.acceptsQuery(classifyQueryEvent('RENAME TABLE crm.a TO crm.b', ''))).toBe(false);
    expect(filter.acceptsQuery(classifyQueryEvent('RENAME TABLE shop.tmp_1 TO shop.orders', ''))).toBe(true);
    expect(filter.acceptsQuery(classifyQueryEvent('RENAME TABLE shop.orders TO shop.tmp_1', ''))).toBe(true);
    expect(filter.acceptsQuery(classifyQueryEvent('RENAME TABLE shop.tmp_1 TO shop.tmp_2', ''))).toBe(false);
  });

  it('database DDL, statement DML and XA outcomes are not filtered by table; boundaries and ignored statements are never published', () => {
    const filter = new CanalTableFilter({ filterRegex: 'shop\\..*' });
    expect(filter.acceptsQuery(classifyQueryEvent('CREATE DATABASE crm', ''))).toBe(true);
    expect(filter.acceptsQuery(classifyQueryEvent('INSERT INTO crm.users VALUES (1)', ''))).toBe(true);
    expect(filter.acceptsQuery(classifyQueryEvent("XA COMMIT X'01'", ''))).toBe(true);
    expect(filter.acceptsQuery(classifyQueryEvent('BEGIN', 'shop'))).toBe(false);
    expect(filter.acceptsQuery(classifyQueryEvent('CREATE VIEW v AS SELECT 1', 'shop'))).toBe(false);
  });
});
