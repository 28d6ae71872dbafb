/**
 * Checks, before reading anything, that the source server and the CDC user can support CDC.
 * Every problem comes with the statement that fixes it.
 */
import type mysql from 'mysql2/promise';

export type ServerFlavour = 'mariadb' | 'mysql';

export interface SourceServer {
  flavour: ServerFlavour;
  version: string;
  serverId: number;
}

export class PreflightError extends Error {
  constructor(readonly problems: string[]) {
    super(`the source server is not ready for CDC:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PreflightError';
  }
}

const REQUIRED_SETTINGS: Array<[variable: string, value: string]> = [
  ['binlog_format', 'ROW'],
  ['binlog_row_image', 'FULL'],
  // Without it a resume from before an ALTER decodes rows under the wrong column names.
  ['binlog_row_metadata', 'FULL'],
];

/** Global privileges from SHOW GRANTS lines, upper-cased; ALL PRIVILEGES expands to everything. */
export function globalPrivileges(grantLines: string[]): Set<string> {
  const privileges = new Set<string>();
  for (const line of grantLines) {
    const match = /^GRANT (.+?) ON \*\.\* TO /i.exec(line);
    if (!match?.[1]) continue;
    for (const p of match[1].split(',')) privileges.add(p.trim().toUpperCase());
  }
  return privileges;
}

export function missingPrivileges(flavour: ServerFlavour, privileges: Set<string>): string[] {
  if (privileges.has('ALL PRIVILEGES') || privileges.has('ALL')) return [];
  const missing: string[] = [];
  if (!privileges.has('SELECT')) missing.push('SELECT');
  if (!privileges.has('REPLICATION SLAVE') && !privileges.has('REPLICATION REPLICA')) missing.push('REPLICATION SLAVE');
  const monitor = flavour === 'mariadb' ? ['BINLOG MONITOR', 'REPLICATION CLIENT', 'SUPER'] : ['REPLICATION CLIENT', 'SUPER'];
  if (!monitor.some((p) => privileges.has(p))) missing.push(flavour === 'mariadb' ? 'BINLOG MONITOR' : 'REPLICATION CLIENT');
  return missing;
}

export async function preflight(conn: mysql.Connection, user: string): Promise<SourceServer> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT VERSION() AS version, @@log_bin AS log_bin, @@server_id AS server_id');
  const version = String(rows[0]?.version ?? '');
  const flavour: ServerFlavour = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  const problems: string[] = [];
  if (Number(rows[0]?.log_bin) !== 1) {
    problems.push('the binary log is off. Fix: start the server with log_bin (e.g. log-bin=mysql-bin and server-id=1 under [mysqld])');
  }
  for (const [variable, want] of REQUIRED_SETTINGS) {
    let value: string;
    try {
      const [r] = await conn.query<mysql.RowDataPacket[]>(`SELECT @@GLOBAL.${variable} AS v`);
      value = String(r[0]?.v ?? '');
    } catch {
      problems.push(`${variable} is not supported by ${version}; CDC needs MySQL 8.0.1+ or MariaDB 10.5+`);
      continue;
    }
    if (value.toUpperCase() !== want) {
      problems.push(`${variable} is ${value}, needs ${want}. Fix: SET GLOBAL ${variable} = '${want}'; and ${variable}=${want} under [mysqld] so it survives a restart`);
    }
  }
  const [grants] = await conn.query<mysql.RowDataPacket[]>('SHOW GRANTS FOR CURRENT_USER()');
  const missing = missingPrivileges(flavour, globalPrivileges(grants.map((g) => String(Object.values(g)[0]))));
  if (missing.length > 0) {
    problems.push(`user ${user} lacks ${missing.join(', ')}. Fix: GRANT ${missing.join(', ')} ON *.* TO '${user}'@'<host>';`);
  }
  if (problems.length > 0) throw new PreflightError(problems);
  return { flavour, version, serverId: Number(rows[0]?.server_id) };
}
