/** The `rtdw` command line. Subcommands stay thin: they validate config and call into the project. */
import { Command } from 'commander';
import { ConfigError, loadConfig, type RtdwConfig } from '../schemas/config.js';

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
  .action(async () => {
    const started = Date.now();
    const { stackUp, formatStatusTable } = await stackModule();
    const { statuses, failures } = await stackUp(config(), say);
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
  .action(async (tables: string[]) => {
    const { requestSnapshot, SnapshotRequestError } = await import('../connectors/mysql-binlog/main.js');
    try {
      const sent = await requestSnapshot(config(), tables);
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

await program.parseAsync(process.argv);
