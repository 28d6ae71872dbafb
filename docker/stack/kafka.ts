/**
 * The project's own Kafka 3.9.1 broker, KRaft single node, assembled from Maven Central jars
 * (see shared/reference/kafka-from-maven.md). Jars are cached outside the checkout so fresh
 * clones reuse them; ready only when the broker logs 'Kafka Server started' and answers metadata.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import type { Admin } from 'kafkajs';
import type { RtdwConfig } from '../../schemas/config.js';
import { ensurePackages } from './install.js';
import { execFileAsync, livePid, portOpen, spawnDaemon, stopPid, tail, waitUntil } from './process.js';
import { isLocalHost, type ServiceStatus, type StackService } from './service.js';

export const KAFKA_VERSION = '3.9.1';
/** One readiness probe of the broker, at most: a sweep of every partition of 60 topics takes 10-30 s on a loaded machine. */
const ADMIN_PROBE_TIMEOUT_MS = 60_000;

const POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.rtdw</groupId><artifactId>kafka-libs</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <!-- slf4j 1.7 pinned: an slf4j-api 2.x on the path silently ignores 1.7 bindings -->
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>1.7.36</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>
  </dependencies>
</project>
`;

const BROKER_LOG4J = `log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=INFO
`;

const TOOLS_LOG4J = `log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
`;

type Log = (msg: string) => void;

export class KafkaService implements StackService {
  readonly name = 'kafka';
  readonly endpoint: string;
  private readonly host: string;
  private readonly port: number;
  private readonly dir: string;
  private readonly libs: string;
  private readonly pidFile: string;
  private readonly logFile: string;

  constructor(private readonly config: RtdwConfig, private readonly log: Log) {
    const first = config.kafka.brokers[0] ?? '127.0.0.1:9092';
    const sep = first.lastIndexOf(':');
    this.host = first.slice(0, sep);
    this.port = Number(first.slice(sep + 1));
    this.endpoint = config.kafka.brokers.join(',');
    this.dir = join(config.dataDir, 'kafka');
    this.libs = join(config.cacheDir, `kafka-${KAFKA_VERSION}`, 'libs');
    this.pidFile = join(this.dir, 'kafka.pid');
    this.logFile = join(this.dir, 'kafka.log');
  }

  private get managed(): boolean {
    return this.config.kafka.brokers.length === 1 && isLocalHost(this.host);
  }

  async up(): Promise<ServiceStatus> {
    if (!this.managed) return this.status();
    if (livePid(this.pidFile) === undefined && (await portOpen(this.host, this.port))) {
      const reused = await this.status();
      if (!reused.healthy) throw new Error(`kafka: port ${this.port} is taken by something that is not a working broker: ${reused.detail ?? ''}`);
      return reused;
    }
    let logOffset = 0;
    if (livePid(this.pidFile) === undefined) {
      await ensurePackages([
        { binary: '/usr/bin/java', pkg: 'openjdk-17-jre-headless' },
        { binary: '/usr/bin/mvn', pkg: 'maven' },
      ], this.log);
      await this.fetchJars();
      this.writeConfig();
      await this.formatStorage();
      logOffset = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
      spawnDaemon({
        command: 'java',
        args: [
          '-Xms256m', '-Xmx512m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:+ExitOnOutOfMemoryError',
          '-Djava.awt.headless=true', `-Dlog4j.configuration=file:${join(this.dir, 'log4j.properties')}`,
          '-cp', join(this.libs, '*'), 'kafka.Kafka', join(this.dir, 'server.properties'),
        ],
        logFile: this.logFile,
        pidFile: this.pidFile,
        cwd: this.dir,
      });
    }
    try {
      // An open port is not ready: the broker logs this line only once it is unfenced.
      await waitUntil('kafka', async () => (this.logSince(logOffset).includes('Kafka Server started') ? true : undefined), {
        timeoutMs: 90_000,
        intervalMs: 250,
        alive: () => livePid(this.pidFile) !== undefined,
      });
      await waitUntil('kafka metadata', async () => ((await this.describe()).brokers > 0 ? true : undefined), { timeoutMs: 30_000 });
      // A restarted broker answers metadata before it has loaded every partition it leads; until then
      // clients get NOT_LEADER errors that kafkajs' admin does not retry.
      await waitUntil('kafka partitions', () => this.everyPartitionServed(), { timeoutMs: 90_000, intervalMs: 500 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- ${this.logFile} (tail) ---\n${tail(this.logFile)}`);
    }
    return this.status();
  }

  async down(): Promise<string> {
    const pid = livePid(this.pidFile);
    if (pid === undefined) return 'not running under this stack';
    return `${await stopPid(pid, 45_000)} (pid ${pid})`;
  }

  async reset(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
  }

  async status(): Promise<ServiceStatus> {
    const base = { name: this.name, endpoint: this.endpoint };
    const owner = !this.managed ? 'external' : livePid(this.pidFile) !== undefined ? 'stack' : 'reused';
    try {
      const d = await this.describe();
      const version = owner === 'stack' ? this.loggedVersion() : owner === 'reused' ? await this.listenerVersion() : undefined;
      return {
        ...base,
        owner,
        healthy: d.brokers > 0,
        ...(version !== undefined ? { version } : {}),
        detail: `cluster ${d.clusterId}, ${d.brokers} broker(s), controller ${d.controller ?? '-'}`,
      };
    } catch (err) {
      return { ...base, owner: owner === 'reused' ? 'down' : owner, healthy: false, detail: (err as Error).message };
    }
  }

  /** An admin client that fails fast (no retries): the probes are retried by their callers. */
  private async withAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
    const kafka = new Kafka({ clientId: `${this.config.kafka.clientId}-stack`, brokers: this.config.kafka.brokers, logLevel: logLevel.NOTHING, connectionTimeout: 2000, requestTimeout: 10_000, retry: { retries: 0 } });
    const admin = kafka.admin();
    // A broker still starting can leave a kafkajs request unanswered for good (seen in chaos runs: a
    // `stack start kafka` waiting for minutes on a broker that served every partition): bounded here.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`kafka: no answer within ${ADMIN_PROBE_TIMEOUT_MS} ms`)), ADMIN_PROBE_TIMEOUT_MS);
    });
    try {
      return await Promise.race([admin.connect().then(() => use(admin)), timeout]);
    } finally {
      clearTimeout(timer);
      // disconnect() waits for requests in flight: the unanswered one would hold it too.
      await Promise.race([admin.disconnect().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    }
  }

  private describe(): Promise<{ clusterId: string; brokers: number; controller: number | null }> {
    return this.withAdmin(async (admin) => {
      const d = await admin.describeCluster();
      return { clusterId: d.clusterId, brokers: d.brokers.length, controller: d.controller };
    });
  }

  /** true once the broker answers ListOffsets for every partition of every topic (throws otherwise). */
  private everyPartitionServed(): Promise<true> {
    return this.withAdmin(async (admin) => {
      const topics = await admin.listTopics();
      for (let i = 0; i < topics.length; i += 50) await Promise.all(topics.slice(i, i + 50).map((topic) => admin.fetchTopicOffsets(topic)));
      return true as const;
    });
  }

  private loggedVersion(): string | undefined {
    const match = /Kafka version: (\S+)/.exec(existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '');
    return match?.[1];
  }

  /** Version of a local broker this stack did not start (say, another checkout's): from its kafka_2.13-X jar on the classpath. */
  private async listenerVersion(): Promise<string | undefined> {
    try {
      const { stdout } = await execFileAsync('ss', ['-ltnpH', `sport = :${this.port}`]);
      const pid = /pid=(\d+)/.exec(stdout)?.[1];
      if (pid === undefined) return undefined;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const classpath = cmdline[cmdline.indexOf('-cp') + 1] ?? '';
      const inPath = /kafka[_-][\d.]*?-?(\d+\.\d+\.\d+)/.exec(classpath)?.[1];
      if (inPath !== undefined) return inPath;
      const dir = classpath.replace(/\/\*$/, '');
      const jar = readdirSync(dir).find((f) => /^kafka_2\.\d+-\d+\.\d+\.\d+\.jar$/.test(f));
      return jar === undefined ? undefined : /-(\d+\.\d+\.\d+)\.jar$/.exec(jar)?.[1];
    } catch {
      return undefined;
    }
  }

  private logSince(offset: number): string {
    if (!existsSync(this.logFile)) return '';
    return readFileSync(this.logFile).subarray(offset).toString('utf8');
  }

  private async fetchJars(): Promise<void> {
    const done = join(this.libs, '.complete');
    if (existsSync(done)) return;
    const work = join(this.libs, '..');
    mkdirSync(this.libs, { recursive: true });
    writeFileSync(join(work, 'pom.xml'), POM);
    this.log(`kafka: fetching Kafka ${KAFKA_VERSION} jars from Maven Central into ${this.libs}`);
    await execFileAsync('mvn', [
      '-B', '-q', '-f', join(work, 'pom.xml'),
      'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
      `-DoutputDirectory=${this.libs}`, '-DincludeScope=runtime',
    ], { maxBuffer: 64 * 1024 * 1024 });
    writeFileSync(done, new Date().toISOString());
  }

  private writeConfig(): void {
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    const props = [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${this.config.kafka.controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${this.port},CONTROLLER://127.0.0.1:${this.config.kafka.controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${this.port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${join(this.dir, 'data')}`,
      'num.partitions=1',
      'auto.create.topics.enable=false',
      // One node: internal topics must have replication factor 1 or groups and transactions never get a coordinator.
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=4',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=4',
      'group.initial.rebalance.delay.ms=0',
      'num.network.threads=2',
      'num.io.threads=4',
      'log.retention.hours=168',
      'log.segment.bytes=268435456',
      'message.max.bytes=10485760',
    ];
    writeFileSync(join(this.dir, 'server.properties'), `${props.join('\n')}\n`);
    writeFileSync(join(this.dir, 'log4j.properties'), BROKER_LOG4J);
    writeFileSync(join(this.dir, 'tools-log4j.properties'), TOOLS_LOG4J);
  }

  private async formatStorage(): Promise<void> {
    if (existsSync(join(this.dir, 'data', 'meta.properties'))) return;
    const java = (args: string[]) =>
      execFileAsync('java', [`-Dlog4j.configuration=file:${join(this.dir, 'tools-log4j.properties')}`, '-cp', join(this.libs, '*'), 'kafka.tools.StorageTool', ...args], { maxBuffer: 16 * 1024 * 1024 });
    const clusterIdFile = join(this.dir, 'cluster.id');
    if (!existsSync(clusterIdFile)) writeFileSync(clusterIdFile, (await java(['random-uuid'])).stdout.trim());
    const clusterId = readFileSync(clusterIdFile, 'utf8').trim();
    await java(['format', '-t', clusterId, '-c', join(this.dir, 'server.properties'), '--ignore-formatted']);
  }
}
