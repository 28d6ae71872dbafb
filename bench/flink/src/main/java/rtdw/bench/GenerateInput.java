package rtdw.bench;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reference input generator for the rtdw vs Flink sliding-window benchmark (the TypeScript
 * benchmark mirrors this byte for byte), plus a reference answer for a file.
 *
 * <pre>
 * java -cp rtdw-flink-bench.jar rtdw.bench.GenerateInput PATH EVENTS KEYS SEED OUT_OF_ORDERNESS_MS
 * java -cp rtdw-flink-bench.jar rtdw.bench.GenerateInput --expect PATH   (prints expected windows/checksum)
 * </pre>
 *
 * <h2>Record format</h2>
 * No header. Fixed 20-byte little-endian records, count = file size / 20:
 * int32 key, int64 event time (epoch ms), int64 value.
 *
 * <h2>Algorithm (all arithmetic on unsigned 64-bit integers, i.e. mod 2^64)</h2>
 * <pre>
 * GOLDEN = 0x9E3779B97F4A7C15
 * state  = uint64(SEED) XOR GOLDEN; if state == 0 then state = GOLDEN      // SEED: signed decimal int64
 * next():                                                                   // xorshift64*
 *   x = state; x ^= x >> 12; x ^= x << 25 (mod 2^64); x ^= x >> 27; state = x
 *   return (x * 0x2545F4914F6CDD1D) mod 2^64
 * u(n):   r = next() >> 32                 // the high 32 bits, 0 <= r < 2^32
 *         return (r * n) >> 32             // uniform-ish integer in [0, n), no modulo, n < 2^31
 * t = 1_700_000_000_000
 * for i in 0 .. EVENTS-1:
 *   key   = u(KEYS)                        // uniform over 0 .. KEYS-1
 *   ts    = t - u(OOO + 1)                 // disorder: 0 .. OOO ms behind the generator clock
 *   value = 1 + u(1000)                    // 1 .. 1000
 *   write int32 key, int64 ts, int64 value (little endian)
 *   t     = t + u(3)                       // clock advances 0, 1 or 2 ms: 1 ms per event on average
 * </pre>
 * Exactly four draws per event, in that order. Because the clock never goes back and the disorder
 * is at most OOO, no event is ever late for a bounded-out-of-orderness watermark of >= OOO ms, so
 * every engine must emit every (key, window) that holds an event: there is no late-data ambiguity.
 * In TypeScript: BigInt for next() (BigInt.asUintN(64, ...)), then Number(next() >> 32n) * n is
 * exact in a double (< 2^53) and Math.floor(that / 2**32) equals (r * n) >> 32.
 *
 * <h2>Expected answer (--expect)</h2>
 * Sliding event-time windows of 1 h every 5 min (offset 0, Flink's alignment: start = ts - ts mod 300000
 * for ts >= 0). With the end-of-input watermark firing everything, results = for each key, the number of
 * distinct windows holding at least one of its events; checksum = sum of all window sums = 12 x sum of
 * all values (each event lies in exactly 3600000 / 300000 = 12 windows).
 */
public final class GenerateInput {
    static final long GOLDEN = 0x9E3779B97F4A7C15L;
    static final long BASE_TS = 1_700_000_000_000L;
    static final long SIZE_MS = 3_600_000L, SLIDE_MS = 300_000L;

    private long state;

    GenerateInput(long seed) {
        state = seed ^ GOLDEN;
        if (state == 0) state = GOLDEN;
    }

    long next() {
        long x = state;
        x ^= x >>> 12;
        x ^= x << 25;
        x ^= x >>> 27;
        state = x;
        return x * 0x2545F4914F6CDD1DL;
    }

    /** Integer in [0, n) from the high 32 bits of next(); n must be in [1, 2^31). */
    long u(long n) {
        return ((next() >>> 32) * n) >>> 32;
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 2 && args[0].equals("--expect")) {
            expect(Path.of(args[1]));
            return;
        }
        if (args.length != 5) {
            System.err.println("usage: GenerateInput PATH EVENTS KEYS SEED OUT_OF_ORDERNESS_MS | --expect PATH");
            System.exit(2);
        }
        Path path = Path.of(args[0]);
        long events = Long.parseLong(args[1]);
        long keys = Long.parseLong(args[2]);
        long seed = Long.parseLong(args[3]);
        long ooo = Long.parseLong(args[4]);
        if (events < 0 || keys < 1 || keys >= (1L << 31) || ooo < 0 || ooo + 1 >= (1L << 31)) {
            throw new IllegalArgumentException("need EVENTS >= 0, 1 <= KEYS < 2^31, 0 <= OOO < 2^31 - 1");
        }
        GenerateInput g = new GenerateInput(seed);
        ByteBuffer buf = ByteBuffer.allocate(20 * 8192).order(ByteOrder.LITTLE_ENDIAN);
        long t = BASE_TS;
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(path), 1 << 20)) {
            for (long i = 0; i < events; i++) {
                int key = (int) g.u(keys);
                long ts = t - g.u(ooo + 1);
                long value = 1 + g.u(1000);
                buf.putInt(key).putLong(ts).putLong(value);
                t += g.u(3);
                if (!buf.hasRemaining()) {
                    out.write(buf.array(), 0, buf.position());
                    buf.clear();
                }
            }
            out.write(buf.array(), 0, buf.position());
        }
    }

    /** Prints {"events":N,"windows":W,"checksum":"C"} computed without Flink, for cross-checking. */
    static void expect(Path path) throws IOException {
        byte[] bytes = Files.readAllBytes(path);
        int n = bytes.length / 20;
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int[] key = new int[n];
        long[] bucket = new long[n];
        long minBucket = Long.MAX_VALUE, valueSum = 0;
        for (int i = 0; i < n; i++) {
            key[i] = b.getInt();
            bucket[i] = Math.floorDiv(b.getLong(), SLIDE_MS);
            valueSum += b.getLong();
            minBucket = Math.min(minBucket, bucket[i]);
        }
        long[] codes = new long[n];
        for (int i = 0; i < n; i++) {
            long rel = bucket[i] - minBucket;
            if (rel >= (1L << 32)) throw new IllegalStateException("time span too large");
            codes[i] = ((long) key[i] << 32) | rel;
        }
        Arrays.sort(codes);
        long per = SIZE_MS / SLIDE_MS; // windows per event (12)
        long windows = 0;
        int prevKey = 0;
        long hi = Long.MIN_VALUE; // last window-start bucket already counted for prevKey
        for (int i = 0; i < n; i++) {
            int k = (int) (codes[i] >> 32);
            long bk = codes[i] & 0xFFFFFFFFL;
            if (i == 0 || k != prevKey) {
                prevKey = k;
                hi = Long.MIN_VALUE;
            }
            if (bk <= hi) continue; // same 5-min bucket as the previous event of this key
            long lo = bk - per + 1; // windows starting in buckets lo..bk hold this event
            windows += (hi == Long.MIN_VALUE || lo > hi) ? per : bk - hi;
            hi = bk;
        }
        System.out.println("{\"events\":" + n + ",\"windows\":" + windows + ",\"checksum\":\"" + (valueSum * per) + "\"}");
    }
}
