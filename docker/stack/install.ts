/** Installs the Debian packages the local stack needs when they are missing (as root), or says exactly what to run. */
import { existsSync, writeFileSync, rmSync } from 'node:fs';
import { execFileAsync } from './process.js';

export interface Requirement {
  /** absolute path of the binary that proves the package is there */
  binary: string;
  /** Debian package that provides it */
  pkg: string;
}

let aptUpdated = false;
let installing: Promise<void> = Promise.resolve();

/**
 * apt-get install for every missing requirement. Serialised (dpkg takes one lock), and with a
 * policy-rc.d in place so that installing mariadb-server or redis-server does not start the
 * system services on their default ports.
 */
export function ensurePackages(requirements: Requirement[], log: (msg: string) => void): Promise<void> {
  const run = installing.then(async () => {
    const missing = [...new Set(requirements.filter((r) => !existsSync(r.binary)).map((r) => r.pkg))];
    if (missing.length === 0) return;
    if (process.getuid?.() !== 0) {
      throw new Error(`missing packages: ${missing.join(' ')}. Install them with: sudo apt-get install -y ${missing.join(' ')}`);
    }
    log(`installing ${missing.join(' ')} (apt-get)`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const policy = '/usr/sbin/policy-rc.d';
    const ownPolicy = !existsSync(policy);
    if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    try {
      if (!aptUpdated) {
        await execFileAsync('apt-get', ['update', '-q'], { env, maxBuffer: 64 * 1024 * 1024 });
        aptUpdated = true;
      }
      await execFileAsync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env, maxBuffer: 64 * 1024 * 1024 });
    } finally {
      if (ownPolicy) rmSync(policy, { force: true });
    }
    const still = requirements.filter((r) => !existsSync(r.binary));
    if (still.length > 0) throw new Error(`apt-get install finished but ${still.map((r) => r.binary).join(', ')} is still missing`);
  });
  installing = run.catch(() => undefined);
  return run;
}
