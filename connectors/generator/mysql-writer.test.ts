import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SOURCE_TABLES } from '../../schemas/events.js';
import { SOURCE_COLUMNS, type RowAction } from './actions.js';
import { batchStatements } from './mysql-writer.js';

describe('source columns', () => {
  it('are those of schemas/source/shop.sql, in order', () => {
    const ddl = readFileSync(new URL('../../schemas/source/shop.sql', import.meta.url), 'utf8');
    const tables = Object.fromEntries(
      [...ddl.matchAll(/CREATE TABLE IF NOT EXISTS (\w+) \(([\s\S]*?)\) ENGINE/g)].map((m) => [
        m[1],
        (m[2] ?? '')
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => /^\w+ [A-Z]/.test(l) && !/^(KEY|PRIMARY|UNIQUE)\b/.test(l))
          .map((l) => l.split(' ')[0]),
      ]),
    );
    expect(Object.keys(tables)).toEqual([...SOURCE_TABLES]);
    for (const t of SOURCE_TABLES) expect(SOURCE_COLUMNS[t], t).toEqual(tables[t]);
  });
});

describe('batchStatements', () => {
  const order = (id: number, amount: string): RowAction => ({
    kind: 'row',
    at: 1,
    table: 'orders',
    op: 'insert',
    row: { id, user_id: 7, area_id: 3, amount, status: 'created', created_at: '2025-01-01 00:00:00.000', updated_at: '2025-01-01 00:00:00.000' },
  });

  it('groups inserts per table, then updates in order, then deletes, and escapes text', () => {
    const statements = batchStatements([
      order(1, '10.00'),
      { kind: 'row', at: 1, table: 'order_items', op: 'insert', row: { id: 5, order_id: 1, product_id: 2, quantity: 1, price: '10.00' } },
      { kind: 'row', at: 2, table: 'orders', op: 'update', id: 1, set: { status: 'paid' } },
      order(2, '3.50'),
      { kind: 'row', at: 3, table: 'orders', op: 'delete', id: 2 },
      { kind: 'row', at: 3, table: 'orders', op: 'update', id: 1, set: { status: 'refunded', updated_at: '2025-01-01 00:10:00.000' } },
      { kind: 'row', at: 4, table: 'users', op: 'insert', row: { id: 9, name: "O'Brien \\ 王", area_id: 1, channel: 'wechat', created_at: '2024-01-01 00:00:00.000' } },
    ]);
    expect(statements).toEqual([
      "INSERT INTO `users` (`id`,`name`,`area_id`,`channel`,`created_at`) VALUES (9,'O\\'Brien \\\\ 王',1,'wechat','2024-01-01 00:00:00.000') ON DUPLICATE KEY UPDATE `name`=VALUES(`name`),`area_id`=VALUES(`area_id`),`channel`=VALUES(`channel`),`created_at`=VALUES(`created_at`)",
      "INSERT INTO `orders` (`id`,`user_id`,`area_id`,`amount`,`status`,`created_at`,`updated_at`) VALUES (1,7,3,'10.00','created','2025-01-01 00:00:00.000','2025-01-01 00:00:00.000'),(2,7,3,'3.50','created','2025-01-01 00:00:00.000','2025-01-01 00:00:00.000')",
      "INSERT INTO `order_items` (`id`,`order_id`,`product_id`,`quantity`,`price`) VALUES (5,1,2,1,'10.00')",
      "UPDATE `orders` SET `status`='paid' WHERE id=1",
      "UPDATE `orders` SET `status`='refunded',`updated_at`='2025-01-01 00:10:00.000' WHERE id=1",
      'DELETE FROM `orders` WHERE id IN (2)',
    ]);
  });
});
