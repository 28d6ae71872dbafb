package rtdw.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.RichSinkFunction;
import org.apache.flink.streaming.api.functions.source.RichParallelSourceFunction;
import org.apache.flink.streaming.api.windowing.assigners.SlidingEventTimeWindows;

/**
 * Flink side of rtdw's sliding-window benchmark.
 *
 * <pre>
 * java -Xmx2g -jar rtdw-flink-bench.jar INPUT [PARALLELISM=1] [OUT_OF_ORDERNESS_S=5] [MEASURED_RUNS=1]
 * </pre>
 *
 * INPUT: 20-byte little-endian records (int32 key, int64 event-time ms, int64 value), no header;
 * see {@link GenerateInput}. All records are loaded into primitive arrays before any timing.
 *
 * Job: bounded source over the arrays -> forBoundedOutOfOrderness watermarks -> keyBy(key) ->
 * SlidingEventTimeWindows(1 h, 5 min) -> incremental AggregateFunction (sum of value) -> a sink that
 * only counts results and adds their sums into a checksum (Flink accumulators, nothing printed).
 * Event time, object reuse on, no checkpointing, heap state backend (the default).
 *
 * Source (chosen because it is the cheapest fair one): the arrays sit in a static field of this
 * class, so the source (a RichParallelSourceFunction; subtask i of P emits records i, i+P, ...) reads
 * them in place: nothing is serialised into the job graph, unlike fromCollection/fromElements. That is
 * only valid on the in-JVM MiniCluster used here. Set -Dsource=seq to use the FLIP-27 source
 * instead (fromSequence(0, N-1) with the timestamp taken from the arrays, then a chained map index ->
 * event). At p=1 both measured the same within run-to-run noise (the window task's thread is the
 * bottleneck at ~95% of a core, the source thread is nearly idle); the array source is the default
 * because it hands over events without a boxed index and an extra map.
 *
 * Timing / warm-up: one MiniCluster is started once (its start-up is not timed). The same job is run
 * once as a JIT warm-up (not reported), then MEASURED_RUNS times; the best (fastest) measured run is
 * reported. Each timed span is submit -> job finished (MiniCluster.executeJobBlocking), i.e. it
 * includes task deployment and the end-of-input watermark firing every remaining window.
 *
 * stdout: exactly one JSON line; per-run details go to stderr.
 */
public final class SlidingSumBench {

    /** The input, loaded once per JVM; read in place by the sources (same JVM as the MiniCluster). */
    static int[] KEYS;
    static long[] TS;
    static long[] VALUES;

    /** The record flowing through the job: a Flink POJO (public fields, public no-arg constructor). */
    public static final class Event {
        public int key;
        public long ts;
        public long value;

        public Event() {}
    }

    /** Mutable accumulator: add() updates it in place, so the heap state keeps one object per window. */
    public static final class SumAcc {
        public long sum;

        public SumAcc() {}
    }

    public static final class SumAgg implements AggregateFunction<Event, SumAcc, Long> {
        @Override public SumAcc createAccumulator() { return new SumAcc(); }
        @Override public SumAcc add(Event e, SumAcc acc) { acc.sum += e.value; return acc; }
        @Override public Long getResult(SumAcc acc) { return acc.sum; }
        @Override public SumAcc merge(SumAcc a, SumAcc b) { a.sum += b.sum; return a; }
    }

    public static final class ByKey implements KeySelector<Event, Integer> {
        @Override public Integer getKey(Event e) { return e.key; }
    }

    /** Bounded parallel source over the static arrays; subtask i of P emits records i, i+P, i+2P, ... */
    public static final class ArraySource extends RichParallelSourceFunction<Event> {
        private volatile boolean running = true;

        @Override
        public void run(SourceContext<Event> ctx) {
            final int[] keys = KEYS;
            final long[] ts = TS, values = VALUES;
            final int n = keys.length;
            final int step = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
            final Object lock = ctx.getCheckpointLock();
            final Event e = new Event(); // reused: object reuse is on and keyBy serialises it right away
            int i = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
            while (running && i < n) {
                synchronized (lock) { // the lock taken per batch of 512, not per record
                    for (int b = 0; b < 512 && i < n; b++, i += step) {
                        e.key = keys[i];
                        e.ts = ts[i];
                        e.value = values[i];
                        ctx.collect(e);
                    }
                }
            }
        }

        @Override
        public void cancel() { running = false; }
    }

    /** Index -> event, for the FLIP-27 (fromSequence) variant. */
    public static final class IndexToEvent implements MapFunction<Long, Event> {
        private transient Event e;

        @Override
        public Event map(Long idx) {
            if (e == null) e = new Event();
            int i = (int) (long) idx;
            e.key = KEYS[i];
            e.ts = TS[i];
            e.value = VALUES[i];
            return e;
        }
    }

    /** Discarding sink that counts results and sums their sums (merged across subtasks by Flink). */
    public static final class CountingSink extends RichSinkFunction<Long> {
        private transient LongCounter windows, checksum;
        private transient long openedNs, firstNs;

        @Override
        public void open(OpenContext ctx) {
            windows = new LongCounter();
            checksum = new LongCounter();
            getRuntimeContext().addAccumulator("windows", windows);
            getRuntimeContext().addAccumulator("checksum", checksum);
            openedNs = System.nanoTime();
        }

        @Override
        public void close() {
            System.err.printf("sink: first result %.3f s after open, last at %.3f s%n", (firstNs - openedNs) / 1e9, (System.nanoTime() - openedNs) / 1e9);
        }

        @Override
        public void invoke(Long sum, Context context) {
            if (firstNs == 0) firstNs = System.nanoTime();
            windows.add(1L);
            checksum.add(sum);
        }
    }

    static JobGraph buildJob(int parallelism, long oooSeconds, boolean seqSource) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(parallelism);
        env.getConfig().enableObjectReuse();
        // event time is the default since Flink 1.12; checkpointing is off unless enabled.
        final int n = KEYS.length;
        Duration ooo = Duration.ofSeconds(oooSeconds);
        DataStream<Event> events;
        if (seqSource) {
            WatermarkStrategy<Long> wm = WatermarkStrategy.<Long>forBoundedOutOfOrderness(ooo)
                    .withTimestampAssigner((idx, prev) -> TS[(int) (long) idx]);
            events = env.fromSequence(0, n - 1L).assignTimestampsAndWatermarks(wm).name("index-source")
                    .map(new IndexToEvent()).name("to-event");
        } else {
            WatermarkStrategy<Event> wm = WatermarkStrategy.<Event>forBoundedOutOfOrderness(ooo)
                    .withTimestampAssigner((e, prev) -> e.ts);
            events = env.addSource(new ArraySource(), "array-source").assignTimestampsAndWatermarks(wm);
        }
        events.keyBy(new ByKey())
                .window(SlidingEventTimeWindows.of(Duration.ofHours(1), Duration.ofMinutes(5)))
                .aggregate(new SumAgg())
                .name("sliding-sum")
                .addSink(new CountingSink())
                .name("counting-sink");
        return env.getStreamGraph().getJobGraph();
    }

    static void load(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size % 20 != 0) System.err.println("warning: file size " + size + " is not a multiple of 20");
            long count = size / 20;
            if (count > Integer.MAX_VALUE) throw new IllegalArgumentException("too many records");
            int n = (int) count;
            KEYS = new int[n];
            TS = new long[n];
            VALUES = new long[n];
            ByteBuffer buf = ByteBuffer.allocateDirect(20 * 65536).order(ByteOrder.LITTLE_ENDIAN);
            int i = 0;
            while (i < n) {
                buf.clear();
                buf.limit((int) Math.min(buf.capacity(), 20L * (n - i)));
                while (buf.hasRemaining()) {
                    if (ch.read(buf) < 0) throw new IOException("unexpected end of file");
                }
                buf.flip();
                while (buf.remaining() >= 20) {
                    KEYS[i] = buf.getInt();
                    TS[i] = buf.getLong();
                    VALUES[i] = buf.getLong();
                    i++;
                }
            }
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: java -Xmx2g -jar rtdw-flink-bench.jar INPUT [PARALLELISM=1] [OUT_OF_ORDERNESS_S=5] [MEASURED_RUNS=1]");
            System.exit(2);
        }
        Path input = Path.of(args[0]);
        int parallelism = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        long oooSeconds = args.length > 2 ? Long.parseLong(args[2]) : 5;
        int measuredRuns = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        boolean seqSource = "seq".equals(System.getProperty("source"));

        load(input);
        final int n = KEYS.length;
        System.err.printf("loaded %d events from %s; p=%d, ooo=%ds, source=%s%n",
                n, input, parallelism, oooSeconds, seqSource ? "seq (FLIP-27)" : "array (SourceFunction)");

        Configuration conf = new Configuration();
        MiniClusterConfiguration mcConf = new MiniClusterConfiguration.Builder()
                .setConfiguration(conf)
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(parallelism)
                .build();
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        double best = Double.MAX_VALUE;
        long windows = -1, checksum = 0;
        try (MiniCluster cluster = new MiniCluster(mcConf)) {
            cluster.start();
            for (int run = 0; run <= measuredRuns; run++) { // run 0 = warm-up, not reported
                JobGraph job = buildJob(parallelism, oooSeconds, seqSource);
                long cpu0 = os.getProcessCpuTime();
                long t0 = System.nanoTime();
                JobExecutionResult r = cluster.executeJobBlocking(job); // throws if the job fails
                double seconds = (System.nanoTime() - t0) / 1e9;
                double cpuSeconds = (os.getProcessCpuTime() - cpu0) / 1e9; // all JVM threads, for noise triage
                long w = r.<Long>getAccumulatorResult("windows");
                long c = r.<Long>getAccumulatorResult("checksum");
                System.err.printf("run %d%s: %.3f s (net runtime %d ms, JVM cpu %.1f s), %.0f events/s, windows=%d checksum=%d%n",
                        run, run == 0 ? " (warm-up)" : "", seconds, r.getNetRuntime(), cpuSeconds, n / seconds, w, c);
                if (windows >= 0 && (w != windows || c != checksum)) {
                    throw new IllegalStateException("runs disagree: " + w + "/" + c + " vs " + windows + "/" + checksum);
                }
                windows = w;
                checksum = c;
                if (run > 0) best = Math.min(best, seconds);
            }
        }
        String version = EnvironmentInformation.getVersion();
        System.out.println(String.format(java.util.Locale.ROOT,
                "{\"engine\":\"flink\",\"version\":\"%s\",\"events\":%d,\"windows\":%d,\"checksum\":\"%d\","
                        + "\"seconds\":%.3f,\"eventsPerSecond\":%d,\"parallelism\":%d}",
                version, n, windows, checksum, best, Math.round(n / best), parallelism));
        System.exit(0); // do not wait for lingering non-daemon Flink threads
    }
}
