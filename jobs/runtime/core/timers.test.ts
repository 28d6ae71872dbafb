import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimerService, type TimerServiceSnapshot, TimestampQueue } from './timers.js';

const roundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function fired(service: TimerService, watermark: number): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  service.advanceWatermark(watermark, (key, time) => out.push([key, time]));
  return out;
}

describe('TimestampQueue', () => {
  it('polls distinct timestamps in ascending order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 })), (times) => {
        const queue = new TimestampQueue();
        for (const time of times) queue.add(time);
        const polled: number[] = [];
        for (let t = queue.poll(); t !== undefined; t = queue.poll()) polled.push(t);
        expect(polled).toEqual(Array.from(new Set(times)).sort((a, b) => a - b));
        expect(queue.size).toBe(0);
      }),
    );
  });
});

describe('TimerService', () => {
  it('fires event-time timers with timestamp <= watermark in (time, key) order', () => {
    const service = new TimerService();
    service.registerEventTimeTimer('b', 20);
    service.registerEventTimeTimer('a', 20);
    service.registerEventTimeTimer('c', 10);
    service.registerEventTimeTimer('a', 30);
    expect(fired(service, 9)).toEqual([]);
    expect(fired(service, 20)).toEqual([['c', 10], ['a', 20], ['b', 20]]);
    expect(service.currentWatermark).toBe(20);
    expect(fired(service, 30)).toEqual([['a', 30]]);
  });

  it('deduplicates the same key and time, and honours deletion', () => {
    const service = new TimerService();
    service.registerEventTimeTimer('k', 5);
    service.registerEventTimeTimer('k', 5);
    service.registerEventTimeTimer('k', 6);
    service.deleteEventTimeTimer('k', 6);
    service.deleteEventTimeTimer('absent', 7);
    expect(fired(service, 10)).toEqual([['k', 5]]);
  });

  it('fires timers that callbacks register at or before the watermark, and skips ones they delete', () => {
    const service = new TimerService();
    service.registerEventTimeTimer('a', 10);
    service.registerEventTimeTimer('b', 10);
    const out: string[] = [];
    service.advanceWatermark(100, (key, time) => {
      out.push(`${key}@${time}`);
      if (out.length === 1) {
        service.deleteEventTimeTimer('b', 10);
        service.registerEventTimeTimer('a', 10);
        service.registerEventTimeTimer('c', 50);
        service.registerEventTimeTimer('d', 500);
      }
    });
    expect(out).toEqual(['a@10', 'a@10', 'c@50']);
  });

  it('ignores a watermark that does not advance; a timer in the past fires on the next advance', () => {
    const service = new TimerService();
    fired(service, 100);
    service.registerEventTimeTimer('late', 50);
    expect(fired(service, 100)).toEqual([]);
    expect(fired(service, 101)).toEqual([['late', 50]]);
  });

  it('fires processing-time timers as processing time advances', () => {
    const service = new TimerService();
    service.registerProcessingTimeTimer('x', 1_000);
    service.registerProcessingTimeTimer('y', 500);
    service.registerEventTimeTimer('z', 0);
    const out: Array<[string, number]> = [];
    service.advanceProcessingTime(999, (key, time) => out.push([key, time]));
    expect(out).toEqual([['y', 500]]);
    service.deleteProcessingTimeTimer('x', 1_000);
    service.advanceProcessingTime(2_000, (key, time) => out.push([key, time]));
    expect(out).toEqual([['y', 500]]);
    expect(service.currentProcessingTime).toBe(2_000);
  });

  it('restores to a service that fires the same timers', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 100 }), fc.boolean())),
        fc.integer({ min: 0, max: 100 }),
        (timers, cut) => {
          const original = new TimerService();
          for (const [key, time, eventTime] of timers) {
            if (eventTime) original.registerEventTimeTimer(key, time);
            else original.registerProcessingTimeTimer(key, time);
          }
          fired(original, cut);
          const restored = TimerService.restore(roundTrip<TimerServiceSnapshot>(original.snapshot()));
          expect(fired(restored, 1_000)).toEqual(fired(original, 1_000));
          const processing = (service: TimerService): string[] => {
            const out: string[] = [];
            service.advanceProcessingTime(1_000, (key, time) => out.push(`${key}@${time}`));
            return out;
          };
          expect(processing(restored)).toEqual(processing(original));
        },
      ),
    );
  });
});
