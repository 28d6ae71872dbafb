/** The `rtdw` command line. Subcommands stay thin: they validate config and call into the project. */
import { Command } from 'commander';
import { ConfigError, loadConfig, OPTIONAL_SERVICES, type OptionalService, type RtdwConfig } from '../schemas/config.js';

/** The stack's modules (service clients of all four services) load only for `stack` commands, to keep other commands' start quick. */
const stackModule = () => import('../docker/stack/stack.js');

const say = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};

function config(): RtdwConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      say(err.message);
      process.exit(2);
    }
    throw err;
  }
}

const program = new Command('rtdw')
  .description('Real-time data warehouse with CDC: MySQL binlog → Kafka → stream jobs → Redis / ClickHouse')
  .showHelpAfterError();

const stack = program.command('stack').description('the local stack: MariaDB, Kafka, Redis, ClickHouse on 127.0.0.1');

stack
  .command('up')
  .description('start every service that is not already answering, wait until each is ready (idempotent)')
  .option('--with <services>', 'optional services too, comma-separated: prometheus (default: RTDW_STACK_WITH)')
  .action(async (o: { with?: string }) => {
    const started = Date.now();
    const { stackUp, formatStatusTable } = await stackModule();
    const c = config();
    const asked = (o.with ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    const unknown = asked.filter((s) => !(OPTIONAL_SERVICES as readonly string[]).includes(s));
    if (unknown.length > 0) {
      say(`rtdw stack up: unknown optional service(s) ${unknown.join(', ')}; they are ${OPTIONAL_SERVICES.join(', ')}`);
      process.exit(2);
    }
    const { statuses, failures } = await stackUp(c, say, [...new Set([...c.stack.with, ...(asked as OptionalService[])])]);
    console.log(formatStatusTable(statuses));
    for (const f of failures) say(`\n${f.name} failed to start:\n${f.error}`);
    say(`stack up: ${failures.length === 0 ? 'ready' : `${failures.length} service(s) failed`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.exitCode = failures.length === 0 ? 0 : 1;
  });

stack
  .command('down')
  .description('stop the services this stack started (data is kept)')
  .action(async () => {
    const { stackDown } = await stackModule();
    for (const { name, result } of await stackDown(config(), say)) console.log(`${name.padEnd(10)} ${result}`);
  });

stack
  .command('stop <service>')
  .description('stop one service this stack started (mysql, kafka, redis or clickhouse), its data kept; the others keep running')
  .action(async (name: string) => {
    const { isServiceName, stopService, SERVICE_NAMES } = await stackModule();
    if (!isServiceName(name)) {
      say(`rtdw stack stop: unknown service ${name}; the services are ${SERVICE_NAMES.join(', ')}`);
      process.exit(2);
    }
    console.log(`${name.padEnd(10)} ${await stopService(config(), name, say)}`);
  });

stack
  .command('start <service>')
  .description('start one service (mysql, kafka, redis or clickhouse) unless it answers, and wait until it is ready')
  .action(async (name: string) => {
    const started = Date.now();
    const { isServiceName, startService, formatStatusTable, SERVICE_NAMES } = await stackModule();
    if (!isServiceName(name)) {
      say(`rtdw stack start: unknown service ${name}; the services are ${SERVICE_NAMES.join(', ')}`);
      process.exit(2);
    }
    try {
      const status = await startService(config(), name, say);
      console.log(formatStatusTable([status]));
      say(`stack start ${name}: ${status.healthy ? 'ready' : 'unhealthy'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      process.exitCode = status.healthy ? 0 : 1;
    } catch (err) {
      say(`stack start ${name} failed:\n${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    }
  });

stack
  .command('status')
  .description('each service with its endpoint, version and health; exits 1 when one is unhealthy')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const { stackStatus, formatStatusTable } = await stackModule();
    const statuses = await stackStatus(config(), say);
    console.log(opts.json ? JSON.stringify(statuses, null, 2) : formatStatusTable(statuses));
    process.exitCode = statuses.every((s) => s.healthy) ? 0 : 1;
  });

stack
  .command('reset')
  .description('stop the services and delete their data (keeps downloaded jars)')
  .action(async () => {
    const { stackReset } = await stackModule();
    await stackReset(config(), say);
    say('stack reset: services stopped, data removed');
  });

program
  .command('setup')
  .description('create the source tables, the Kafka topics, the ClickHouse database and its migrations (idempotent)')
  .action(async () => {
    const { setup } = await import('../jobs/setup.js');
    try {
      await setup(config(), (line) => console.log(line));
    } catch (err) {
      say(`rtdw setup: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    }
  });

program
  .command('run')
  .description('run the pipeline (CDC, ODS mirror, stream jobs, sinks) until SIGINT/SIGTERM, then stop cleanly; --jobs runs a subset')
  .option('--jobs <parts>', 'comma-separated parts: cdc, ods, dwd, clickhouse (default: all); run several processes of a part to share its partitions')
  .option('--progress', 'draw the live progress view on the terminal')
  .action(async (o: { jobs?: string; progress?: boolean }) => {
    const c = config();
    const { parsePartNames } = await import('../jobs/pipeline/parts.js');
    const { runPipeline } = await import('../jobs/pipeline/run.js');
    let parts: ReturnType<typeof parsePartNames>;
    try {
      parts = parsePartNames(o.jobs);
    } catch (err) {
      say(`rtdw run: ${(err as Error).message}`);
      process.exit(2);
    }
    try {
      await runPipeline(c, { parts, ...(o.progress === true ? { progressEveryMs: 2000 } : {}) });
    } catch (err) {
      say(`rtdw run: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    }
  });

program
  .command('start')
  .description('npm start: stack up, setup, generated traffic and the whole pipeline with a live progress view, until Ctrl-C')
  .option('--rate <n>', 'generated source rows + events per second', '300')
  .option('--seed <s>', 'generator seed', '1')
  .action(async (o: { rate: string; seed: string }) => {
    const c = config();
    const { startDemo } = await import('../jobs/pipeline/start.js');
    try {
      await startDemo(c, { rate: o.rate, seed: o.seed }, say);
    } catch (err) {
      say(`rtdw start: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    }
  });

const cdc = program.command('cdc').description('MySQL binlog → Canal flat messages → Kafka (exactly once); options in CDC_* variables');

cdc
  .command('run', { isDefault: true })
  .description('read the binlog and publish until stopped (SIGINT/SIGTERM)')
  .action(async () => {
    const { runCdc } = await import('../connectors/mysql-binlog/main.js');
    try {
      await runCdc(config());
    } catch (err) {
      say(`rtdw cdc: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    }
  });

cdc
  .command('position')
  .description('print the committed position (binlog file, offset, GTID)')
  .action(async () => {
    const { showPosition } = await import('../connectors/mysql-binlog/main.js');
    console.log(JSON.stringify(await showPosition(config()), null, 2) ?? 'no position stored');
  });

cdc
  .command('reset')
  .description('forget the committed position and snapshot requests: the next run snapshots again (CDC_SNAPSHOT=initial) or starts at the end (never)')
  .action(async () => {
    const { resetPosition } = await import('../connectors/mysql-binlog/main.js');
    await resetPosition(config());
    say('cdc position cleared');
  });

cdc
  .command('snapshot')
  .description('snapshot tables again while the connector streams (table or database.table); a stopped connector does it when it starts')
  .argument('<tables...>', 'tables to snapshot')
  .option('--after <key>', 'only rows whose (single-column) primary key is greater than this')
  .option('--up-to <key>', 'only rows whose (single-column) primary key is at most this')
  .action(async (tables: string[], o: { after?: string; upTo?: string }) => {
    const { requestSnapshot, SnapshotRequestError } = await import('../connectors/mysql-binlog/main.js');
    if (o.after !== undefined && o.upTo === undefined) {
      say('rtdw cdc snapshot: --after needs --up-to (a key range has an upper bound)');
      process.exit(2);
    }
    try {
      const sent = await requestSnapshot(config(), tables, o.upTo === undefined ? [] : [{ after: o.after === undefined ? null : [o.after], upTo: [o.upTo] }]);
      say(`snapshot of ${sent.tables.join(', ')} requested (${sent.topic} offset ${sent.offset})`);
    } catch (err) {
      if (!(err instanceof SnapshotRequestError)) throw err;
      say(`rtdw cdc snapshot: ${err.message}`);
      process.exitCode = 1;
    }
  });

const jobs = program.command('jobs').description('stream jobs on Kafka (exactly-once, event time)');

jobs
  .command('sliding-sum')
  .description('sliding-window sum per key of JSON events {key, ts, value}; run several to share the partitions')
  .requiredOption('--input <topic>', 'input topic')
  .requiredOption('--output <topic>', 'results topic (late and dead-letter topics derive from it)')
  .option('--name <name>', 'job name: consumer group, changelog and transactional ids', 'sliding-sum')
  .option('--size <ms>', 'window size', '3600000')
  .option('--slide <ms>', 'window slide', '300000')
  .option('--out-of-orderness <ms>', 'bounded out-of-orderness of the watermark', '5000')
  .option('--allowed-lateness <ms>', 'allowed lateness', '0')
  .option('--checkpoint <ms>', 'checkpoint interval', '1000')
  .action(async (o: { input: string; output: string; name: string; size: string; slide: string; outOfOrderness: string; allowedLateness: string; checkpoint: string }) => {
    const c = config();
    const { slidingSumJob } = await import('../jobs/sliding-sum.js');
    const { runJob } = await import('../jobs/main.js');
    const { createKafka } = await import('../connectors/kafka/client.js');
    const { createLogger } = await import('../connectors/observability/logger.js');
    const admin = createKafka(c, 'jobs-admin', createLogger('jobs', c.logLevel)).admin();
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [o.input] });
    await admin.disconnect();
    const int = (name: string, v: string): number => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 0) {
        say(`--${name} must be a non-negative integer of ms`);
        process.exit(2);
      }
      return n;
    };
    const stage = slidingSumJob({
      name: o.name,
      input: o.input,
      output: o.output,
      partitions: meta.topics[0]?.partitions.length ?? 1,
      sizeMs: int('size', o.size),
      slideMs: int('slide', o.slide),
      outOfOrdernessMs: int('out-of-orderness', o.outOfOrderness),
      allowedLatenessMs: int('allowed-lateness', o.allowedLateness),
      checkpointIntervalMs: int('checkpoint', o.checkpoint),
    });
    await runJob(c, { name: stage.name, stages: [stage] });
  });

const generateCommand = program
  .command('generate')
  .description('seeded, repeatable shop traffic into the source tables (app user) and <RTDW_NAMESPACE>.ods_events; stops after --minutes or on Ctrl-C, then reports')
  .option('--rate <n>', 'source rows + event deliveries per second at the day\'s mean load', '200')
  .option('--minutes <m>', 'minutes of event time to generate (default: until stopped)')
  .option('--seed <s>', 'seed (0..4294967295): same seed and options, same traffic', '1')
  .option('--start <iso>', 'event time of the first action, ISO 8601 with a zone (default: now)')
  .option('--speed <speed>', 'realtime: paced to the wall clock; max: as fast as MySQL and Kafka take it', 'realtime')
  .option('--row-share <f>', 'share of source rows among the actions (default 0.3)')
  .option('--diurnal <a>', 'day curve: 0 flat .. 1 full (default 0.5)')
  .option('--users <n>', 'initial users (default: enough that normal users stay far below the blacklist threshold)')
  .option('--products <n>', 'products (default 1000)')
  .option('--ads <n>', 'ads (default 200)')
  .option('--bots-per-hour <n>', 'click bots crossing the blacklist threshold (default 6)')
  .option('--brushers-per-hour <n>', 'users brushing small orders (default 4)')
  .option('--failure-bursts-per-hour <n>', 'bursts of failed payments (default 3)')
  .option('--abuse-after-minutes <m>', 'no abuse before this many minutes: a clean stretch for the alerts to calibrate on (default 0)')
  .option('--id-base <n>', 'ids of new rows start above this (default: the largest id in the source tables)')
  .option('--json', 'print the report as JSON on stdout');

generateCommand.action(async (flags: import('../connectors/generator/main.js').GenerateFlags) => {
  const c = config();
  const { runGenerate } = await import('../connectors/generator/main.js');
  try {
    const report = await runGenerate(c, flags, say);
    if (flags.json === true) console.log(JSON.stringify(report, null, 2));
  } catch (err) {
    say(`rtdw generate: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = err instanceof ConfigError ? 2 : 1;
  }
});

program
  .command('reconcile')
  .description('MySQL vs the ClickHouse mirror (figures per 5-min bucket, rows by chunked checksums), the ADS tables recomputed in batch vs ClickHouse, ClickHouse vs the Redis screens; exits 0 match, 1 mismatch, 2 could not run')
  .option('--from <time>', 'start: now, an ISO instant or a date-time in RTDW_TIMEZONE (default: 24 h before --to)')
  .option('--to <time>', 'end, exclusive (default: now)')
  .option('--job <name>', 'the job whose published watermark gates event-time buckets', 'ods')
  .option('--checks <names>', 'checks to run, comma-separated (default: all: buckets,rows,ads,screens)')
  .option('--tables <names>', 'source and ADS tables to compare, comma-separated (default: all)')
  .option('--chunk-rows <n>', 'rows per checksum chunk', '10000')
  .option('--leaf-rows <n>', 'a differing range of at most this many rows is compared row by row', '1000')
  .option('--key-range <n>', 'primary keys per bucket of tables without an event time', '10000')
  .option('--max-listed <n>', 'mismatches listed per check and table (all are counted)', '100')
  .option('--recheck-after <ms>', 'read differences again after this long before counting them (0: never)', '5000')
  .option('--no-history', 'do not record the run in reconcile_runs')
  .option('--repair', 're-send the mirror\'s differing rows through the CDC (snapshots of their key ranges), then read them again until they match')
  .option('--repair-timeout <ms>', 'how long --repair waits for the differences to go', '120000')
  .option('--metrics-file <path>', 'write the run\'s Prometheus metrics to this file')
  .option('--json', 'print the report as JSON')
  .action(async (o: import('../jobs/reconcile/command.js').CommandFlags) => {
    const { reconcileCommand } = await import('../jobs/reconcile/command.js');
    process.exitCode = await reconcileCommand(config(), o, say);
  });

program
  .command('redis-sink')
  .description('window results on Kafka → Redis screen keys (README "Redis layout"); options in RTDW_REDIS_* variables')
  .action(async () => {
    const { runRedisSink } = await import('../connectors/redis/main.js');
    const { pipelineSettings } = await import('../connectors/generator/options.js');
    try {
      const c = config();
      await runRedisSink(c, pipelineSettings(c).namespace);
    } catch (err) {
      say(`rtdw redis-sink: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = err instanceof ConfigError ? 2 : 1;
    }
  });

program
  .command('screen')
  .description('the live screen: a read-only web page of the Redis figures, pushed as they change (README "Live screen"); RTDW_SCREEN_* variables')
  .action(async () => {
    const { runScreen } = await import('../connectors/screen/main.js');
    const { pipelineSettings } = await import('../connectors/generator/options.js');
    try {
      const c = config();
      await runScreen(c, pipelineSettings(c), (url) => say(`rtdw screen: serving ${url}`));
    } catch (err) {
      say(`rtdw screen: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = err instanceof ConfigError ? 2 : 1;
    }
  });

await program.parseAsync(process.argv);
