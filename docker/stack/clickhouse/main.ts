/** Process entry of the local ClickHouse: `node --import tsx docker/stack/clickhouse/main.ts <dataDir> <port>`. */
import { loadConfig } from '../../../schemas/config.js';
import { ChdbHttpServer } from './chdb-http-server.js';

const [dataDir, portArg] = process.argv.slice(2);
if (dataDir === undefined || portArg === undefined) {
  console.error('usage: main.ts <dataDir> <port>');
  process.exit(2);
}
const config = loadConfig();
const server = await ChdbHttpServer.start({
  dataDir,
  host: '127.0.0.1',
  port: Number(portArg),
  user: config.clickhouse.user,
  password: config.clickhouse.password,
  log: (msg) => console.error(`${new Date().toISOString()} ${msg}`),
});
console.error(`${new Date().toISOString()} ClickHouse ${server.version} (chdb) serving HTTP on 127.0.0.1:${portArg}, data ${dataDir}`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
