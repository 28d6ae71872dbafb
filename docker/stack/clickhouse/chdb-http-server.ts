/**
 * ClickHouse's HTTP interface served from an embedded chdb engine, for the local stack only.
 *
 * chdb lets one process own a data directory; this process owns it and speaks the protocol
 * @clickhouse/client (and curl, and BI tools) use against a real server: query in the URL or
 * body, insert data in the body after the query, `database`, `default_format`, `param_*`
 * query parameters, any other URL parameter as a setting, gzip/deflate bodies, /ping, and
 * errors as `Code: N. DB::Exception: … (TYPE)` with X-ClickHouse-Exception-Code.
 *
 * The engine has one session, so requests run one at a time and each request's database,
 * settings and parameters are applied with USE/SET and undone afterwards. Query parameters
 * go through `SET param_x = '<text>'`, which parses the value exactly like the HTTP server
 * does (escaped text, \N for NULL); a parameter cannot be unset, so a later query naming a
 * parameter it did not send sees the stale value instead of an error.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createGunzip, createInflate, createBrotliDecompress, gzipSync } from 'node:zlib';
import { mkdirSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Session as ChdbSession, ChdbResult } from 'chdb';

/** Settings a real server takes from the URL but the embedded engine has no notion of. */
const HTTP_ONLY_PARAMS = new Set([
  'query', 'database', 'default_format', 'query_id', 'user', 'password', 'quota_key',
  'session_id', 'session_timeout', 'session_check', 'compress', 'decompress',
  'wait_end_of_query', 'send_progress_in_http_headers', 'http_headers_progress_interval_ms',
  'http_response_buffer_size', 'enable_http_compression', 'http_zlib_compression_level',
  'buffer_size', 'role', 'query_cache_ttl',
]);

/** Settings whose server defaults differ from chdb's; restored to these after each request. */
const SERVER_BASELINE: Record<string, string> = {
  output_format_json_quote_64bit_integers: '1',
};

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const CONTENT_TYPES: Record<string, string> = {
  JSON: 'application/json; charset=UTF-8',
  JSONCompact: 'application/json; charset=UTF-8',
  JSONStrings: 'application/json; charset=UTF-8',
  JSONEachRow: 'application/x-ndjson; charset=UTF-8',
  CSV: 'text/csv; charset=UTF-8; header=absent',
  TabSeparated: 'text/tab-separated-values; charset=UTF-8',
};

export interface ChdbHttpServerOptions {
  dataDir: string;
  host: string;
  port: number;
  user: string;
  password: string;
  log?: (msg: string) => void;
}

interface ParsedRequest {
  sql: string;
  database: string | undefined;
  format: string;
  queryId: string;
  settings: Map<string, string>;
  params: Map<string, string>;
}

export class ClickHouseHttpError extends Error {
  constructor(readonly code: number, readonly type: string, message: string, readonly status = 500) {
    super(`Code: ${code}. DB::Exception: ${message}. (${type})`);
  }
}

function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function quoteIdent(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? '').toLowerCase();
  let source: Readable = req;
  if (encoding === 'gzip') source = req.pipe(createGunzip());
  else if (encoding === 'deflate') source = req.pipe(createInflate());
  else if (encoding === 'br') source = req.pipe(createBrotliDecompress());
  else if (encoding !== '' && encoding !== 'identity') {
    throw new ClickHouseHttpError(1, 'UNSUPPORTED_METHOD', `Unknown Content-Encoding: ${encoding}`, 400);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function credentials(req: IncomingMessage, url: URL): { user: string; password: string } {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const sep = decoded.indexOf(':');
    return sep < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, sep), password: decoded.slice(sep + 1) };
  }
  const headerUser = req.headers['x-clickhouse-user'];
  if (typeof headerUser === 'string') {
    const key = req.headers['x-clickhouse-key'];
    return { user: headerUser, password: typeof key === 'string' ? key : '' };
  }
  return { user: url.searchParams.get('user') ?? 'default', password: url.searchParams.get('password') ?? '' };
}

function parseRequest(url: URL, body: Buffer, method: string): ParsedRequest {
  const urlQuery = url.searchParams.get('query');
  let sql: string;
  if (method === 'GET' || method === 'HEAD') {
    if (urlQuery === null) throw new ClickHouseHttpError(62, 'SYNTAX_ERROR', 'Empty query', 400);
    sql = urlQuery;
  } else {
    const text = body.toString('utf8');
    // Like the server: the URL part of the query comes first, the body continues it (insert data).
    sql = urlQuery === null ? text : text.length > 0 ? `${urlQuery}\n${text}` : urlQuery;
  }
  if (sql.trim().length === 0) throw new ClickHouseHttpError(62, 'SYNTAX_ERROR', 'Empty query', 400);
  const settings = new Map<string, string>();
  const params = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    if (key.startsWith('param_')) {
      const name = key.slice('param_'.length);
      if (!SETTING_NAME.test(name)) throw new ClickHouseHttpError(36, 'BAD_ARGUMENTS', `Invalid query parameter name: ${name}`, 400);
      params.set(name, value);
    } else if (!HTTP_ONLY_PARAMS.has(key)) {
      if (!SETTING_NAME.test(key)) throw new ClickHouseHttpError(115, 'UNKNOWN_SETTING', `Unknown setting ${key}`, 400);
      settings.set(key, value);
    }
  }
  return {
    sql,
    database: url.searchParams.get('database') ?? undefined,
    format: url.searchParams.get('default_format') ?? 'TabSeparated',
    queryId: url.searchParams.get('query_id') ?? randomUUID(),
    settings,
    params,
  };
}

function errorStatus(type: string): number {
  switch (type) {
    case 'UNKNOWN_TABLE':
    case 'UNKNOWN_DATABASE':
      return 404;
    case 'SYNTAX_ERROR':
    case 'UNKNOWN_SETTING':
    case 'BAD_ARGUMENTS':
    case 'UNKNOWN_IDENTIFIER':
    case 'TYPE_MISMATCH':
    case 'CANNOT_PARSE_INPUT_ASSERTION_FAILED':
      return 400;
    case 'AUTHENTICATION_FAILED':
    case 'READONLY':
      return 403;
    default:
      return 500;
  }
}

/** Maps a chdb error (message `Code: N. DB::Exception: … (TYPE)`) to the HTTP answer a server gives. */
function toHttpError(err: unknown): { status: number; code: number; body: string } {
  if (err instanceof ClickHouseHttpError) return { status: err.status, code: err.code, body: err.message };
  const message = err instanceof Error ? err.message : String(err);
  const match = /Code: (\d+)\..*\(([A-Z0-9_]+)\)\s*$/s.exec(message.trim());
  if (match?.[1] !== undefined && match[2] !== undefined) {
    return { status: errorStatus(match[2]), code: Number(match[1]), body: message.trim() };
  }
  return { status: 500, code: 1001, body: `Code: 1001. DB::Exception: ${message}. (STD_EXCEPTION)` };
}

export class ChdbHttpServer {
  private readonly session: ChdbSession;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly server = createServer((req, res) => {
    this.handle(req, res).catch((err: unknown) => this.log(`request failed: ${String(err)}`));
  });

  private constructor(private readonly opts: ChdbHttpServerOptions, session: ChdbSession, readonly version: string) {
    this.session = session;
  }

  static async start(opts: ChdbHttpServerOptions): Promise<ChdbHttpServer> {
    mkdirSync(opts.dataDir, { recursive: true });
    const { Session } = await import('chdb');
    const session = new Session(opts.dataDir);
    const baseline = Object.entries(SERVER_BASELINE).map(([k, v]) => `SET ${k} = ${v}`).join('; ');
    await session.queryAsync(baseline);
    const version = (await session.queryAsync('SELECT version()', { format: 'TabSeparated' })).text().trim();
    const server = new ChdbHttpServer(opts, session, version);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.server.listen(opts.port, opts.host, () => resolve());
    });
    return server;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.queue.catch(() => undefined);
    this.session.close();
  }

  private log(msg: string): void {
    this.opts.log?.(msg);
  }

  /** Runs work after every earlier request: the single engine session is shared state. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    res.setHeader('X-ClickHouse-Server-Display-Name', 'rtdw-chdb');
    res.setHeader('X-ClickHouse-Timezone', 'UTC');
    if (url.pathname === '/ping' || url.pathname === '/replicas_status' || (url.pathname === '/' && method === 'GET' && !url.searchParams.has('query'))) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
      return;
    }
    if (url.pathname !== '/') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8' }).end(`There is no handle ${url.pathname}\n`);
      return;
    }
    const queryId = url.searchParams.get('query_id') ?? randomUUID();
    res.setHeader('X-ClickHouse-Query-Id', queryId);
    try {
      const given = credentials(req, url);
      if (given.user !== this.opts.user || given.password !== this.opts.password) {
        throw new ClickHouseHttpError(516, 'AUTHENTICATION_FAILED', `${given.user}: Authentication failed: password is incorrect, or there is no user with such name`, 403);
      }
      const body = await readBody(req);
      const parsed = parseRequest(url, body, method);
      const started = process.hrtime.bigint();
      const result = await this.serialized(() => this.execute(parsed));
      const elapsedNs = process.hrtime.bigint() - started;
      const payload = Buffer.from(result.bytes());
      const isInsert = /^\s*INSERT\b/i.test(parsed.sql);
      const summary = {
        read_rows: String(isInsert ? 0 : result.rowsRead),
        read_bytes: String(isInsert ? 0 : result.bytesRead),
        written_rows: String(isInsert ? result.rowsRead : 0),
        written_bytes: String(isInsert ? result.bytesRead : 0),
        total_rows_to_read: '0',
        result_rows: String(isInsert ? 0 : result.rowsRead),
        result_bytes: String(payload.length),
        elapsed_ns: elapsedNs.toString(),
      };
      const headers: Record<string, string> = {
        'Content-Type': CONTENT_TYPES[parsed.format] ?? 'text/plain; charset=UTF-8',
        'X-ClickHouse-Format': parsed.format,
        'X-ClickHouse-Summary': JSON.stringify(summary),
      };
      const wantsGzip = url.searchParams.get('enable_http_compression') === '1' && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      const out = wantsGzip ? gzipSync(payload) : payload;
      if (wantsGzip) headers['Content-Encoding'] = 'gzip';
      res.writeHead(200, headers).end(method === 'HEAD' ? undefined : out);
    } catch (err) {
      const e = toHttpError(err);
      res.writeHead(e.status, {
        'Content-Type': 'text/plain; charset=UTF-8',
        'X-ClickHouse-Exception-Code': String(e.code),
      }).end(`${e.body}\n`);
    }
  }

  private async execute(req: ParsedRequest): Promise<ChdbResult> {
    const prelude: string[] = [`USE ${quoteIdent(req.database ?? 'default')}`];
    for (const [k, v] of req.settings) prelude.push(`SET ${k} = ${sqlString(v)}`);
    for (const [k, v] of req.params) prelude.push(`SET param_${k} = ${sqlString(v)}`);
    try {
      return await this.session.queryAsync(`${prelude.join('; ')};\n${req.sql}`, { format: req.format });
    } finally {
      if (req.settings.size > 0) {
        const reset = [...req.settings.keys()].map((k) => `SET ${k} = ${SERVER_BASELINE[k] ?? 'DEFAULT'}`);
        await this.session.queryAsync(reset.join('; ')).catch((err: unknown) => this.log(`settings reset failed: ${String(err)}`));
      }
    }
  }
}
