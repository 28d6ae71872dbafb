// Evaluated in the screen's page by the browser test (page-view.ts): everything the page shows,
// as text, and the data its charts draw. Plain JS, because the project's TypeScript has no DOM types.
(() => {
  const text = (root, selector) => {
    const node = root.querySelector(selector);
    return node === null ? null : node.textContent;
  };
  const rows = (selector) => [...document.querySelectorAll(selector)];
  const chart = (id) => {
    const c = Chart.getChart(id);
    return c === undefined ? null : { labels: c.data.labels.map(String), datasets: c.data.datasets.map((d) => ({ label: d.label, data: d.data.map(Number) })) };
  };
  return {
    snapshots: Number(document.body.dataset.snapshots || '0'),
    title: document.title,
    freshWindow: text(document, '#fresh-window'),
    freshWatermark: text(document, '#fresh-watermark'),
    connection: text(document, '#connection'),
    redisError: document.getElementById('redis-error').hidden ? null : text(document, '#redis-error'),
    ordersWindow: text(document, '#orders-window'),
    totals: { orders: text(document, '.total-orders'), amount: text(document, '.total-amount'), clicks: text(document, '.total-clicks') },
    provinces: rows('#provinces tbody tr').map((tr) => ({
      province: tr.dataset.province,
      shown: text(tr, '.province'),
      orders: text(tr, '.orders'),
      amount: text(tr, '.amount'),
      // elements inside the cells: data rendered as markup would show up here
      elements: tr.querySelectorAll('img, b, script').length,
      top3: [...tr.querySelectorAll('.top3 li')].map((li) => ({ rank: li.dataset.rank, city: text(li, '.city'), fig: text(li, '.fig') })),
    })),
    ads: rows('#ads tbody tr').map((tr) => ({ ad: tr.dataset.ad, clicks: text(tr, '.clicks') })),
    adsChart: chart('ads-chart'),
    trendChart: chart('trend-chart'),
    hotAds: rows('#hot-ads tbody tr').map((tr) => ({ province: tr.dataset.province, ranks: [...tr.querySelectorAll('td.hot')].map((td) => td.textContent) })),
    kpi: Object.fromEntries([...document.querySelectorAll('[data-kpi]')].map((n) => [n.dataset.kpi, n.textContent])),
    kpiDay: text(document, '#kpi-day'),
    blacklist: text(document, '#blacklist-size'),
    alerts: rows('#alerts li').map((li) => ({ kind: text(li, '.kind'), subject: text(li, '.subject'), detail: text(li, '.detail') })),
    watermarks: rows('#watermarks tbody tr').map((tr) => ({ job: tr.dataset.job, watermark: tr.dataset.watermark, delay: text(tr, '.delay') })),
    lag: rows('#lag tbody tr').map((tr) => ({ group: tr.dataset.group, lag: text(tr, '.lag') })),
    lagState: text(document, '#lag-state'),
    problems: rows('#problems li').map((li) => li.textContent),
  };
})()
