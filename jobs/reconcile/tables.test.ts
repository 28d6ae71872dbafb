import { describe, expect, it } from 'vitest';
import { parseSinkType } from './tables.js';

describe('ClickHouse types that mirror a source column exactly', () => {
  it('are recognised with their scale and nullability', () => {
    expect(parseSinkType('Int64')).toEqual({ kind: 'integer', scale: 0, nullable: false });
    expect(parseSinkType('Nullable(UInt32)')).toEqual({ kind: 'integer', scale: 0, nullable: true });
    expect(parseSinkType('Decimal(12, 2)')).toEqual({ kind: 'decimal', scale: 2, nullable: false });
    expect(parseSinkType('Decimal64(4)')).toEqual({ kind: 'decimal', scale: 4, nullable: false });
    expect(parseSinkType("DateTime64(3, 'UTC')")).toEqual({ kind: 'datetime', scale: 3, nullable: false });
    expect(parseSinkType('DateTime64(3)')).toEqual({ kind: 'datetime', scale: 3, nullable: false });
    expect(parseSinkType("DateTime('Asia/Shanghai')")).toEqual({ kind: 'datetime', scale: 0, nullable: false });
    expect(parseSinkType('LowCardinality(Nullable(String))')).toEqual({ kind: 'string', scale: 0, nullable: true });
    expect(parseSinkType('Date32')).toEqual({ kind: 'date', scale: 0, nullable: false });
  });

  it('are refused when their text cannot equal MySQL’s', () => {
    expect(parseSinkType('Float64')).toBeUndefined();
    expect(parseSinkType('FixedString(8)')).toBeUndefined();
    expect(parseSinkType('Array(String)')).toBeUndefined();
  });
});
