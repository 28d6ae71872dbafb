/** What the screen's page shows, read in the browser by page-view.browser.js. */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

const EXTRACT = readFileSync(new URL('./page-view.browser.js', import.meta.url), 'utf8');

interface ChartData {
  labels: string[];
  datasets: Array<{ label: string; data: number[] }>;
}

export interface PageView {
  snapshots: number;
  title: string;
  freshWindow: string | null;
  freshWatermark: string | null;
  connection: string | null;
  redisError: string | null;
  ordersWindow: string | null;
  totals: { orders: string | null; amount: string | null; clicks: string | null };
  provinces: Array<{ province: string; shown: string | null; orders: string | null; amount: string | null; elements: number; top3: Array<{ rank: string; city: string | null; fig: string | null }> }>;
  ads: Array<{ ad: string; clicks: string | null }>;
  adsChart: ChartData | null;
  trendChart: ChartData | null;
  hotAds: Array<{ province: string; ranks: string[] }>;
  kpi: Record<string, string>;
  kpiDay: string | null;
  blacklist: string | null;
  alerts: Array<{ kind: string | null; subject: string | null; detail: string | null }>;
  watermarks: Array<{ job: string; watermark: string; delay: string | null }>;
  lag: Array<{ group: string; lag: string | null }>;
  lagState: string | null;
  problems: string[];
}

export async function readPageView(page: Page): Promise<PageView> {
  return (await page.evaluate(EXTRACT)) as PageView;
}

/** A number as the page prints it ("10,234.50") back to Redis' text ("10234.50"). */
export function ungrouped(text: string | null): string | null {
  return text === null ? null : text.replace(/,/g, '');
}
