/**
 * The project's own MariaDB: Debian's mariadb-server binaries, a private datadir, loopback only,
 * configured for CDC (binlog ROW, FULL row image, FULL row metadata, GTID, server-id 1).
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import mysql from 'mysql2/promise';
import type { RtdwConfig } from '../../schemas/config.js';
import { ensurePackages } from './install.js';
import { execFileAsync, livePid, portOpen, spawnDaemon, stopPid, tail, waitUntil } from './process.js';
import { isLocalHost, type ServiceStatus, type StackService } from './service.js';

/** Server settings CDC depends on; `rtdw stack status` and the CDC reader check them. */
export const CDC_SERVER_SETTINGS = {
  binlog_format: 'ROW',
  binlog_row_image: 'FULL',
  binlog_row_metadata: 'FULL',
} as const;

type Log = (msg: string) => void;

export class MariaDbService implements StackService {
  readonly name = 'mysql';
  readonly endpoint: string;
  private readonly dir: string;
  private readonly datadir: string;
  private readonly socket: string;
  private readonly pidFile: string;
  private readonly logFile: string;

  constructor(
    private readonly config: RtdwConfig,
    private readonly log: Log,
    /** The server's default time zone (tests run a private server in another one). */
    private readonly defaultTimeZone = '+00:00',
  ) {
    this.endpoint = `${config.mysql.host}:${config.mysql.port}`;
    this.dir = join(config.dataDir, 'mysql');
    this.datadir = join(this.dir, 'data');
    this.socket = join(this.dir, 'mysqld.sock');
    this.pidFile = join(this.dir, 'mysqld.pid');
    this.logFile = join(this.dir, 'mysqld.log');
  }

  async up(): Promise<ServiceStatus> {
    const { host, port } = this.config.mysql;
    if (!isLocalHost(host)) return this.status();
    if (livePid(this.pidFile) === undefined && (await portOpen(host, port))) {
      const reused = await this.status();
      if (!reused.healthy) throw new Error(`mysql: port ${port} is taken by a server that fails the checks: ${reused.detail ?? ''}`);
      return reused;
    }
    if (livePid(this.pidFile) === undefined) {
      await ensurePackages([
        { binary: '/usr/sbin/mariadbd', pkg: 'mariadb-server' },
        { binary: '/usr/bin/mariadb-install-db', pkg: 'mariadb-server' },
      ], this.log);
      mkdirSync(this.dir, { recursive: true });
      if (!existsSync(join(this.datadir, 'mysql'))) await this.initialize();
      spawnDaemon({ command: '/usr/sbin/mariadbd', args: this.serverArgs(), logFile: this.logFile, pidFile: this.pidFile });
    }
    try {
      await waitUntil('mysql', () => this.ping(), { timeoutMs: 60_000, alive: () => livePid(this.pidFile) !== undefined });
      await this.bootstrap();
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- ${this.logFile} (tail) ---\n${tail(this.logFile)}`);
    }
    return this.status();
  }

  async down(): Promise<string> {
    const pid = livePid(this.pidFile);
    if (pid === undefined) return 'not running under this stack';
    return `${await stopPid(pid, 60_000)} (pid ${pid})`;
  }

  async reset(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
  }

  async status(): Promise<ServiceStatus> {
    const base = { name: this.name, endpoint: this.endpoint };
    const owner = !isLocalHost(this.config.mysql.host) ? 'external' : livePid(this.pidFile) !== undefined ? 'stack' : 'reused';
    let conn: mysql.Connection | undefined;
    try {
      conn = await mysql.createConnection({ ...this.adminTcp(), connectTimeout: 3000 });
      const [rows] = await conn.query<mysql.RowDataPacket[]>(
        'SELECT VERSION() AS version, @@log_bin AS log_bin, @@binlog_format AS binlog_format, @@binlog_row_image AS binlog_row_image, @@binlog_row_metadata AS binlog_row_metadata, @@server_id AS server_id, @@gtid_binlog_pos AS gtid',
      );
      const row = rows[0];
      if (row === undefined) throw new Error('server returned no row for its settings');
      const problems: string[] = [];
      if (Number(row.log_bin) !== 1) problems.push('log_bin is OFF');
      for (const [k, v] of Object.entries(CDC_SERVER_SETTINGS)) {
        if (String(row[k]).toUpperCase() !== v) problems.push(`${k}=${String(row[k])} (needs ${v})`);
      }
      return {
        ...base,
        owner,
        healthy: problems.length === 0,
        version: String(row.version),
        detail: problems.length > 0 ? problems.join(', ') : `binlog ROW/FULL/FULL, server_id ${String(row.server_id)}, gtid ${String(row.gtid) || '-'}`,
      };
    } catch (err) {
      return { ...base, owner: owner === 'stack' ? 'stack' : owner === 'external' ? 'external' : 'down', healthy: false, detail: (err as Error).message };
    } finally {
      await conn?.end().catch(() => undefined);
    }
  }

  private serverArgs(): string[] {
    const args = [
      // Never read the system's /etc/mysql: this instance must not pick up the default server's config.
      '--no-defaults',
      `--datadir=${this.datadir}`,
      `--socket=${this.socket}`,
      `--pid-file=${join(this.dir, 'mariadbd.pid')}`,
      `--log-error=${this.logFile}`,
      `--port=${this.config.mysql.port}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      '--server-id=1',
      '--log-bin=mysql-bin',
      '--binlog-format=ROW',
      '--binlog-row-image=FULL',
      '--binlog-row-metadata=FULL',
      '--gtid-strict-mode=1',
      '--log-slave-updates=1',
      '--binlog-expire-logs-seconds=604800',
      '--max-binlog-size=256M',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
      `--default-time-zone=${this.defaultTimeZone}`,
      '--innodb-buffer-pool-size=256M',
      '--innodb-log-file-size=128M',
      '--max-connections=300',
    ];
    if (process.getuid?.() === 0) args.push(`--user=${userInfo().username}`);
    return args;
  }

  private async initialize(): Promise<void> {
    this.log('mysql: initializing a new datadir');
    mkdirSync(this.datadir, { recursive: true });
    await execFileAsync('/usr/bin/mariadb-install-db', [
      '--no-defaults',
      `--datadir=${this.datadir}`,
      `--user=${userInfo().username}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ], { maxBuffer: 16 * 1024 * 1024 });
  }

  private adminSocket(password: string): mysql.ConnectionOptions {
    return { socketPath: this.socket, user: 'root', password, multipleStatements: true };
  }

  private adminTcp(): mysql.ConnectionOptions {
    const { host, port, admin } = this.config.mysql;
    return { host, port, user: admin.user, password: admin.password };
  }

  private async ping(): Promise<true | undefined> {
    for (const password of [this.config.mysql.admin.password, '']) {
      try {
        const conn = await mysql.createConnection(this.adminSocket(password));
        await conn.end();
        return true;
      } catch (err) {
        if ((err as { code?: string }).code !== 'ER_ACCESS_DENIED_ERROR') throw err;
      }
    }
    throw new Error('root login over the socket was denied with both the configured and the initial password');
  }

  /** Idempotent: admin password, the shop database, the least-privilege CDC user and the app user. */
  private async bootstrap(): Promise<void> {
    const { admin, user, password, app, database } = this.config.mysql;
    let conn: mysql.Connection;
    try {
      conn = await mysql.createConnection(this.adminSocket(admin.password));
    } catch {
      conn = await mysql.createConnection(this.adminSocket(''));
    }
    try {
      const statements: Array<[string, unknown[]]> = [
        ['ALTER USER root@localhost IDENTIFIED BY ?', [admin.password]],
      ];
      for (const host of ['localhost', '127.0.0.1']) {
        if (admin.user !== 'root' || host !== 'localhost') {
          statements.push([`CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?`, [admin.user, host, admin.password]]);
          statements.push([`ALTER USER ?@? IDENTIFIED BY ?`, [admin.user, host, admin.password]]);
          statements.push([`GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION`, [admin.user, host]]);
        }
        statements.push([`CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?`, [user, host, password]]);
        statements.push([`ALTER USER ?@? IDENTIFIED BY ?`, [user, host, password]]);
        // Least privilege for a binlog reader: read rows (snapshot, schema), stream the binlog, see positions.
        statements.push([`GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO ?@?`, [user, host]]);
        statements.push([`CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?`, [app.user, host, app.password]]);
        statements.push([`ALTER USER ?@? IDENTIFIED BY ?`, [app.user, host, app.password]]);
        statements.push([`GRANT ALL PRIVILEGES ON \`${database}\`.* TO ?@?`, [app.user, host]]);
      }
      await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      for (const [sql, params] of statements) await conn.query(sql, params);
    } finally {
      await conn.end();
    }
  }
}
