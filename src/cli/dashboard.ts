// The demo's live dashboard: one HTML page on 127.0.0.1 and a server-sent-events stream of every batch's top pages.
//
//   GET /               the page (static HTML + a small script; no framework, nothing fetched from elsewhere)
//   GET /events         text/event-stream: `batch` events (a DashboardSnapshot as JSON), then `end` when the demo stops
//   GET /snapshot.json  the newest snapshot (204 before the first batch)
//
// The page draws page names with textContent only, so a page name from a Kafka topic can never become markup.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DashboardError } from '../errors.js';

/** One row of the dashboard's table. */
export interface DashboardRow {
  page: string;
  /** Running total of views. */
  views: number;
  /** Views in the newest batch. */
  batchViews: number;
  /** Average time on page, in milliseconds. */
  avgMs: number;
}

/** What the page shows after a batch. */
export interface DashboardSnapshot {
  /** Batches completed so far. */
  batches: number;
  /** The batch's time (ms since the epoch). */
  time: number;
  /** Visits in this batch. */
  records: number;
  /** How long the batch took, in milliseconds. */
  processingMs: number;
  /** Visits so far. */
  visits: number;
  /** Distinct pages so far. */
  pages: number;
  /** Where the visits come from, e.g. `generator` or `Kafka topic website_logs`. */
  source: string;
  /** Where every batch is saved. */
  out: string;
  top: DashboardRow[];
  /** The newest batches (oldest first), for the chart. */
  history: Array<{ time: number; records: number; processingMs: number }>;
}

/** Batches kept for the chart. */
const HISTORY = 60;

export class Dashboard {
  private latest: DashboardSnapshot | undefined;
  private readonly history: DashboardSnapshot['history'] = [];
  private readonly clients = new Set<ServerResponse>();
  private closed = false;

  private constructor(
    private readonly server: Server,
    /** The page's address, e.g. `http://127.0.0.1:4040/`. */
    readonly url: string,
  ) {}

  /** Listens on `host:port` (port 0: a free one); a DashboardError naming the address when it cannot. */
  static async start(port: number, host = '127.0.0.1'): Promise<Dashboard> {
    let dashboard: Dashboard | undefined;
    const server = createServer((req, res) => dashboard?.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'the port is in use; pass another port, or 0 for a free one' : err.message;
        reject(new DashboardError(`--dashboard: cannot listen on ${host}:${port}: ${why}`, err));
      });
      server.listen(port, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    dashboard = new Dashboard(server, `http://${host}:${address.port}/`);
    return dashboard;
  }

  /** Shows a batch: kept for pages opened later, and sent to every open page. */
  publish(snapshot: Omit<DashboardSnapshot, 'history'>): void {
    this.history.push({ time: snapshot.time, records: snapshot.records, processingMs: snapshot.processingMs });
    if (this.history.length > HISTORY) this.history.shift();
    this.latest = { ...snapshot, history: [...this.history] };
    const event = `event: batch\ndata: ${JSON.stringify(this.latest)}\n\n`;
    for (const res of this.clients) res.write(event);
  }

  /** Tells open pages the demo ended, then stops listening. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const res of this.clients) res.end('event: end\ndata: {}\n\n');
    this.clients.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(PAGE);
    } else if (path === '/snapshot.json') {
      if (!this.latest) res.writeHead(204).end();
      else res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(this.latest));
    } else if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      if (this.closed) {
        res.end('event: end\ndata: {}\n\n');
        return;
      }
      // retry: how long the browser waits before reconnecting if the stream drops
      res.write('retry: 1000\n\n');
      if (this.latest) res.write(`event: batch\ndata: ${JSON.stringify(this.latest)}\n\n`);
      this.clients.add(res);
      req.on('close', () => this.clients.delete(res));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${path}\n`);
    }
  }
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sluice website monitor</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1b1f24; background: #fafbfc; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
  #meta { color: #57606a; margin-bottom: 1rem; }
  #status { font-weight: 600; }
  #status.live { color: #1a7f37; }
  #status.ended { color: #9a6700; }
  .stats { display: flex; gap: 2rem; margin: 1rem 0; }
  .stats div { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem 1rem; }
  .stats b { display: block; font-size: 1.4rem; font-variant-numeric: tabular-nums; }
  table { border-collapse: collapse; background: #fff; border: 1px solid #d0d7de; min-width: 36rem; }
  th, td { padding: .35rem .8rem; border-bottom: 1px solid #eaeef2; text-align: right; font-variant-numeric: tabular-nums; }
  th:nth-child(2), td:nth-child(2) { text-align: left; }
  svg { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; margin-top: 1rem; }
  rect { fill: #0969da; }
  #caption { color: #57606a; font-size: .85rem; }
</style>
</head>
<body>
<h1>sluice website monitor</h1>
<div id="meta"><span id="status">waiting for the first batch</span> · <span id="source"></span> · saved to <span id="out"></span></div>
<div class="stats">
  <div>visits <b id="visits">0</b></div>
  <div>pages <b id="pages">0</b></div>
  <div>batches <b id="batches">0</b></div>
  <div>last batch <b id="batch">–</b></div>
</div>
<table id="top">
  <thead><tr><th>#</th><th>page</th><th>views</th><th>this batch</th><th>avg time</th></tr></thead>
  <tbody></tbody>
</table>
<svg id="chart" width="600" height="120" role="img" aria-label="visits per batch"></svg>
<div id="caption">visits per batch, the newest ${HISTORY} batches</div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const fmt = (n) => n.toLocaleString("en-US");
function duration(ms) {
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + " s";
  const m = s / 60;
  return m < 60 ? m.toFixed(1) + " min" : (m / 60).toFixed(1) + " h";
}
function cell(tr, text, name) {
  const td = document.createElement("td");
  td.textContent = text;
  if (name) td.className = name;
  tr.appendChild(td);
}
function draw(s) {
  $("status").textContent = "live";
  $("status").className = "live";
  $("source").textContent = s.source;
  $("out").textContent = s.out;
  $("visits").textContent = fmt(s.visits);
  $("pages").textContent = fmt(s.pages);
  $("batches").textContent = fmt(s.batches);
  $("batch").textContent = fmt(s.records) + " visits in " + s.processingMs.toFixed(1) + " ms";
  const body = document.createElement("tbody");
  s.top.forEach((r, i) => {
    const tr = document.createElement("tr");
    tr.dataset.page = r.page;
    cell(tr, String(i + 1));
    cell(tr, r.page, "page");
    cell(tr, fmt(r.views), "views");
    cell(tr, fmt(r.batchViews), "batch-views");
    cell(tr, duration(r.avgMs), "avg");
    tr.dataset.views = String(r.views);
    body.appendChild(tr);
  });
  $("top").replaceChild(body, $("top").tBodies[0]);
  const svg = $("chart");
  const w = 600, h = 120, n = s.history.length;
  const max = Math.max(1, ...s.history.map((b) => b.records));
  const bar = w / Math.max(n, 1);
  svg.replaceChildren(...s.history.map((b, i) => {
    const r = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    const bh = Math.max(1, (b.records / max) * (h - 10));
    r.setAttribute("x", String(i * bar + 1));
    r.setAttribute("y", String(h - bh));
    r.setAttribute("width", String(Math.max(1, bar - 2)));
    r.setAttribute("height", String(bh));
    return r;
  }));
}
const events = new EventSource("/events");
events.addEventListener("batch", (e) => draw(JSON.parse(e.data)));
events.addEventListener("end", () => {
  events.close();
  $("status").textContent = "ended";
  $("status").className = "ended";
});
</script>
</body>
</html>
`;
