import { describe, expect, it } from 'vitest';
import {
  BoundedOutOfOrdernessWatermarks,
  MIN_TIMESTAMP,
  PartitionedWatermarks,
  type PartitionedWatermarksSnapshot,
  WatermarkCombiner,
  type WatermarkCombinerSnapshot,
} from './watermark.js';

const roundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('BoundedOutOfOrdernessWatermarks', () => {
  it('emits maxTimestamp - outOfOrderness - 1 and never goes back', () => {
    const generator = new BoundedOutOfOrdernessWatermarks(5_000);
    expect(generator.currentWatermark()).toBe(MIN_TIMESTAMP);
    generator.onEvent(100_000);
    expect(generator.currentWatermark()).toBe(94_999);
    generator.onEvent(90_000);
    expect(generator.currentWatermark()).toBe(94_999);
    generator.onEvent(100_001);
    expect(generator.currentWatermark()).toBe(95_000);
  });

  it('restores from a snapshot', () => {
    const generator = new BoundedOutOfOrdernessWatermarks(10);
    generator.onEvent(50);
    const restored = BoundedOutOfOrdernessWatermarks.restore(10, roundTrip(generator.snapshot()));
    expect(restored.currentWatermark()).toBe(39);
  });

  it('rejects a negative delay', () => {
    expect(() => new BoundedOutOfOrdernessWatermarks(-1)).toThrow(RangeError);
  });
});

describe('WatermarkCombiner', () => {
  it('is the min over inputs and only moves forward', () => {
    const combiner = new WatermarkCombiner(['p0', 'p1', 'p2']);
    expect(combiner.update('p0', 100)).toBe(MIN_TIMESTAMP);
    combiner.update('p1', 50);
    expect(combiner.update('p2', 70)).toBe(50);
    expect(combiner.update('p1', 40)).toBe(50); // an input's own regression is ignored
    expect(combiner.update('p1', 120)).toBe(70);
  });

  it('excludes idle inputs until they report again, without ever going back', () => {
    const combiner = new WatermarkCombiner(['a', 'b']);
    combiner.update('a', 10);
    combiner.update('b', 100);
    expect(combiner.markIdle('a')).toBe(100);
    expect(combiner.isIdle('a')).toBe(true);
    // 'a' returns behind the combined watermark: it holds further progress back but cannot pull it back.
    expect(combiner.update('a', 20)).toBe(100);
    expect(combiner.update('b', 200)).toBe(100);
    expect(combiner.update('a', 150)).toBe(150);
  });

  it('flushes the max across inputs when the last active input, holding the min, turns idle (Flink StatusWatermarkValve)', () => {
    const combiner = new WatermarkCombiner(['a', 'b', 'never']);
    combiner.update('a', 100);
    combiner.update('b', 90);
    expect(combiner.markIdle('a')).toBe(MIN_TIMESTAMP); // 'never' still holds it
    expect(combiner.markIdle('b')).toBe(MIN_TIMESTAMP);
    expect(combiner.idle).toBe(false);
    expect(combiner.markIdle('never')).toBe(100);
    expect(combiner.idle).toBe(true);
    expect(combiner.markIdle('never')).toBe(100);
    // an input that comes back behind does not pull it back
    expect(combiner.update('b', 95)).toBe(100);
    expect(combiner.idle).toBe(false);
    // the last input to turn idle was not holding the min: no flush
    const noFlush = new WatermarkCombiner(['a', 'b']);
    noFlush.update('a', 10);
    noFlush.update('b', 100);
    noFlush.markIdle('a');
    noFlush.update('a', 20);
    noFlush.markIdle('b');
    expect(noFlush.markIdle('a')).toBe(100);
  });

  it('keeps the combined watermark when every input is idle and none is ahead', () => {
    const combiner = new WatermarkCombiner(['a', 'b']);
    combiner.update('a', 10);
    combiner.update('b', 100);
    combiner.markIdle('a');
    expect(combiner.markIdle('b')).toBe(100);
    const bothIdle = new WatermarkCombiner(['a', 'b']);
    bothIdle.update('a', 30);
    bothIdle.markIdle('b');
    bothIdle.markIdle('a');
    expect(bothIdle.currentWatermark).toBe(30);
  });

  it('combines upstream producers of a repartition and restores', () => {
    const combiner = new WatermarkCombiner(['producer-0', 'producer-1']);
    combiner.update('producer-0', 1_000);
    combiner.update('producer-1', 900);
    const restored = WatermarkCombiner.restore(roundTrip<WatermarkCombinerSnapshot>(combiner.snapshot()));
    expect(restored.currentWatermark).toBe(900);
    expect(restored.update('producer-1', 2_000)).toBe(1_000);
  });

  it('rejects unknown and duplicate inputs', () => {
    expect(() => new WatermarkCombiner([])).toThrow(RangeError);
    expect(() => new WatermarkCombiner(['a', 'a'])).toThrow(RangeError);
    expect(() => new WatermarkCombiner(['a']).update('b', 1)).toThrow(RangeError);
  });
});

describe('PartitionedWatermarks', () => {
  const options = { partitions: ['0', '1'], outOfOrdernessMs: 1_000, idleTimeoutMs: 30_000 };

  it('is the min over partitions', () => {
    const source = new PartitionedWatermarks(options, 0);
    source.onEvent('0', 10_000, 1);
    expect(source.onPeriodicEmit(2)).toBe(MIN_TIMESTAMP); // partition 1 has seen nothing yet
    source.onEvent('1', 7_000, 3);
    expect(source.onPeriodicEmit(4)).toBe(5_999);
    source.onEvent('1', 20_000, 5);
    expect(source.onPeriodicEmit(6)).toBe(8_999);
  });

  it('marks a partition idle after more than idleTimeoutMs without events, and active again on its next event', () => {
    const source = new PartitionedWatermarks(options, 0);
    source.onEvent('0', 10_000, 0);
    source.onEvent('1', 5_000, 0);
    source.onEvent('0', 50_000, 30_000);
    expect(source.onPeriodicEmit(30_000)).toBe(3_999); // exactly the timeout: not idle yet
    expect(source.isIdle('1')).toBe(false);
    expect(source.onPeriodicEmit(30_001)).toBe(48_999);
    expect(source.isIdle('1')).toBe(true);
    source.onEvent('1', 6_000, 30_002);
    expect(source.onPeriodicEmit(30_003)).toBe(48_999); // back, behind: holds progress but never regresses
    expect(source.isIdle('1')).toBe(false);
    source.onEvent('1', 60_000, 30_004);
    expect(source.onPeriodicEmit(30_005)).toBe(48_999);
    source.onEvent('0', 70_000, 30_006);
    expect(source.onPeriodicEmit(30_007)).toBe(58_999);
  });

  it('holds back for a partition that never had an event until it turns idle', () => {
    const source = new PartitionedWatermarks(options, 0);
    source.onEvent('0', 10_000, 100);
    expect(source.onPeriodicEmit(30_000)).toBe(MIN_TIMESTAMP);
    expect(source.onPeriodicEmit(30_001)).toBe(8_999);
  });

  it('does not advance when every partition is idle', () => {
    const source = new PartitionedWatermarks(options, 0);
    source.onEvent('0', 10_000, 0);
    source.onEvent('1', 12_000, 0);
    expect(source.onPeriodicEmit(1)).toBe(8_999);
    expect(source.onPeriodicEmit(40_000)).toBe(8_999);
    expect(source.isIdle('0') && source.isIdle('1')).toBe(true);
  });

  it('never idles without a timeout', () => {
    const source = new PartitionedWatermarks({ partitions: ['0', '1'], outOfOrdernessMs: 0 }, 0);
    source.onEvent('0', 10, 0);
    expect(source.onPeriodicEmit(Number.MAX_SAFE_INTEGER)).toBe(MIN_TIMESTAMP);
  });

  it('restores to the same state', () => {
    const source = new PartitionedWatermarks(options, 0);
    source.onEvent('0', 10_000, 0);
    source.onEvent('1', 5_000, 0);
    source.onPeriodicEmit(1);
    const restored = PartitionedWatermarks.restore(options, roundTrip<PartitionedWatermarksSnapshot>(source.snapshot()));
    for (const s of [source, restored]) {
      s.onEvent('0', 20_000, 10);
      expect(s.onPeriodicEmit(30_001)).toBe(18_999);
      expect(s.isIdle('1')).toBe(true);
    }
    expect(restored.snapshot()).toEqual(source.snapshot());
  });
});
