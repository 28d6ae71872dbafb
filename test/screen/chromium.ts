/**
 * Headless Chromium for the screen's browser tests: Debian's `chromium` driven by playwright-core
 * (which downloads no browser of its own). Missing packages are installed with apt-get when the
 * tests run as root (docker/stack/install.ts), with a CJK font so that province names render;
 * otherwise the reason is returned and the browser tests skip with it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { ensurePackages } from '../../docker/stack/install.js';

export const CHROMIUM = '/usr/bin/chromium';

const REQUIREMENTS = [
  { binary: CHROMIUM, pkg: 'chromium' },
  { binary: '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc', pkg: 'fonts-wqy-zenhei' },
];

/** Installs what is missing; resolves undefined when Chromium is there, else why it cannot be. */
export async function chromiumUnavailable(): Promise<string | undefined> {
  try {
    await ensurePackages(REQUIREMENTS, (msg) => process.stderr.write(`screen test: ${msg}\n`));
    return undefined;
  } catch (err) {
    return `Chromium could not be installed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
}

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A browser with a fresh profile, removed on close. */
export async function launchChromium(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'rtdw-chromium-'));
  // launchPersistentContext passes the fresh profile as --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1600, height: 1000 }, timezoneId: 'UTC' });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
