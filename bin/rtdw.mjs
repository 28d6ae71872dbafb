#!/usr/bin/env node
// Entry of the `rtdw` CLI. Plain JS so that it can install the project's dependencies on a
// fresh clone before loading the TypeScript sources through tsx.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'node_modules', 'tsx'))) {
  console.error('rtdw: installing npm dependencies (first run)');
  execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
const { register } = await import('tsx/esm/api');
register();
await import('./cli.ts');
