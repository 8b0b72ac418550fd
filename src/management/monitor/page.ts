/**
 * @module management/monitor/page
 *
 * The web monitor at `/`: one server-rendered HTML page (every value
 * escaped with `esc`), styled and scripted inline under a nonce-based
 * Content-Security-Policy, then kept live by the SSE stream. Buttons to
 * pause, resume and retry a queue are rendered for admins only (and the API
 * checks the level again).
 *
 * Exports: `renderPage`, `pageCsp`.
 */
import type { StreamSnapshot, QueueRow } from '../api/v1/types.js';
import { CLIENT_JS } from './client.js';
import {
  CHART,
  DOMAIN_COLUMNS,
  LIMITED_COLUMNS,
  QUEUE_COLUMNS,
  VMTA_COLUMNS,
  chartPoints,
  esc,
  fmt,
  jsonForScript,
  type Column,
} from './html.js';

export function pageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:0 1.5em 2em;color:#1d2430;background:#f6f7f9}
header{display:flex;align-items:baseline;gap:1.5em;flex-wrap:wrap;border-bottom:1px solid #d5dae1;margin-bottom:1em}
h1{font-size:1.4em;margin:.6em 0}h2{font-size:1.05em;margin:1.2em 0 .4em}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{background:#fff;border:1px solid #d5dae1;border-radius:6px;padding:.6em 1em;min-width:11em}
.card b{display:block;font-size:.8em;color:#5b6675;text-transform:uppercase;letter-spacing:.04em}
.card span.v{font-size:1.3em;font-variant-numeric:tabular-nums}
table{border-collapse:collapse;background:#fff;border:1px solid #d5dae1;min-width:40em}
th,td{padding:.25em .7em;border-bottom:1px solid #eceff3;text-align:left;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}td.empty{color:#8a94a3}
svg{background:#fff;border:1px solid #d5dae1}polyline{fill:none;stroke-width:1.5}
#line-received{stroke:#2b6cb0}#line-delivered{stroke:#2f855a}#line-deferred{stroke:#b7791f}#line-bounced{stroke:#c53030}
.legend span{margin-right:1.2em}.legend .received{color:#2b6cb0}.legend .delivered{color:#2f855a}.legend .deferred{color:#b7791f}.legend .bounced{color:#c53030}
ul.cats{list-style:none;padding:0;margin:0;background:#fff;border:1px solid #d5dae1;min-width:20em;display:inline-block}
ul.cats li{display:flex;justify-content:space-between;padding:.2em .7em;border-bottom:1px solid #eceff3}
.cols{display:flex;gap:2em;flex-wrap:wrap}
#flash.ok{color:#2f855a}#flash.bad{color:#c53030}button.act{margin-right:.4em}
`;

function table(id: string, cols: readonly Column[], rows: readonly Record<string, unknown>[], actions: boolean): string {
  const head = cols.map((c) => `<th${c.num ? ' class="num"' : ''}>${esc(c.title)}</th>`).join('') + (actions ? '<th>Actions</th>' : '');
  const body =
    rows.length === 0
      ? `<tr><td class="empty" colspan="${cols.length + (actions ? 1 : 0)}">none</td></tr>`
      : rows
          .map((r) => {
            const key = typeof r['queue'] === 'string' ? ` data-key="${esc(r['queue'])}"` : '';
            const cells = cols.map((c) => `<td${c.num ? ' class="num"' : ''}>${esc(fmt(r[c.key], c.format))}</td>`).join('');
            return `<tr${key}>${cells}${actions ? actionCell(r as unknown as QueueRow) : ''}</tr>`;
          })
          .join('');
  return `<table><thead><tr>${head}</tr></thead><tbody id="${id}">${body}</tbody></table>`;
}

function actionCell(r: QueueRow): string {
  const attrs = (action: string): string => `type="button" class="act" data-action="${action}" data-domain="${esc(r.domain)}" data-vmta="${esc(r.vmta)}"`;
  const first = r.paused ? `<button ${attrs('resume')}>Resume</button>` : `<button ${attrs('pause')}>Pause</button>`;
  return `<td class="actions">${first}<button ${attrs('schedule')}>Retry now</button></td>`;
}

function cats(id: string, obj: Readonly<Record<string, number>>): string {
  const keys = Object.keys(obj).sort((a, b) => obj[b]! - obj[a]!);
  const items = keys.length === 0 ? '<li class="empty">none</li>' : keys.map((k) => `<li><span class="cat">${esc(k)}</span><span class="num">${esc(fmt(obj[k], 'int'))}</span></li>`).join('');
  return `<ul class="cats" id="${id}">${items}</ul>`;
}

function card(title: string, items: Array<[string, string, unknown]>): string {
  return `<div class="card"><b>${esc(title)}</b>${items.map(([label, id, v]) => `<div>${esc(label)} <span class="v" id="${id}">${esc(fmt(v, 'int'))}</span></div>`).join('')}</div>`;
}

export function renderPage(s: StreamSnapshot, nonce: string): string {
  const st = s.status;
  const tr = st.traffic;
  const admin = s.level === 'admin';
  const max = Math.max(0, ...CHART.series.flatMap((k) => s.traffic.series[k] ?? []));
  const lines = CHART.series.map((k) => `<polyline id="line-${k}" points="${chartPoints(s.traffic.series[k] ?? [], max)}"/>`).join('');
  const spec = { queues: QUEUE_COLUMNS, limited: LIMITED_COLUMNS, domains: DOMAIN_COLUMNS, vmtas: VMTA_COLUMNS, chart: CHART };
  const vmtas = s.vmtas.map((v) => ({ ...v, sourceIps: v.sourceHosts.map((h) => h.ip) }));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<title>Petrel monitor — ${esc(st.hostname || 'petrel')}</title>
<style nonce="${nonce}">${STYLE}</style></head>
<body data-level="${admin ? 'admin' : 'monitor'}" data-seq="${s.seq}">
<header><h1>Petrel <span id="host">${esc(st.hostname)}</span></h1>
<div>version ${esc(st.version)} · up <span id="uptime">${esc(fmt(st.uptimeSeconds, 'age'))}</span> · access <b id="level">${admin ? 'admin' : 'monitor'}</b> · delivery ${esc(st.delivery)} · <span id="live">connecting…</span></div></header>
<section class="cards">
${card('In (recipients)', [['last minute', 'in-min', tr.lastMinute.in.recipients], ['last hour', 'in-hour', tr.lastHour.in.recipients], ['total', 'in-total', tr.total.in.recipients]])}
${card('Delivered', [['last minute', 'out-min', tr.lastMinute.out.delivered], ['last hour', 'out-hour', tr.lastHour.out.delivered], ['total', 'out-total', tr.total.out.delivered]])}
${card('Last hour', [['deferred', 'def-hour', tr.lastHour.out.deferred], ['bounced', 'bnc-hour', tr.lastHour.out.bounced + tr.lastHour.out.expired]])}
${card('Connections', [['in', 'conn-in', st.connections.in], ['out', 'conn-out', st.connections.out]])}
${card('Spool', [['messages', 'spool-msgs', st.spool.messages], ['recipients', 'spool-rcpts', st.spool.recipients], ['queues', 'spool-queues', st.queues.total]])}
${card('Queues', [['paused', 'queues-paused', st.queues.paused], ['backoff', 'queues-backoff', st.queues.backoff]])}
</section>
<h2>Traffic per minute, last ${s.traffic.minutes} minutes <small>(scale: <span id="chart-max">${esc(fmt(max, 'int'))} / min</span>)</small></h2>
<svg id="chart" viewBox="0 0 ${CHART.width} ${CHART.height}" width="${CHART.width}" height="${CHART.height}" role="img" aria-label="traffic per minute">${lines}</svg>
<div class="legend">${CHART.series.map((k) => `<span class="${k}">■ ${k}</span>`).join('')}</div>
<div id="flash" role="status"></div>
<h2>Top queues</h2>
${table('queues', QUEUE_COLUMNS, s.topQueues as unknown as Record<string, unknown>[], admin)}
<h2>Paused, backoff and limited queues</h2>
${table('limited', LIMITED_COLUMNS, s.limited as unknown as Record<string, unknown>[], admin)}
<h2>Top domains</h2>
${table('domains', DOMAIN_COLUMNS, s.topDomains as unknown as Record<string, unknown>[], false)}
<h2>Virtual MTAs</h2>
${table('vmtas', VMTA_COLUMNS, vmtas as unknown as Record<string, unknown>[], false)}
<div class="cols"><div><h2>Bounces by category, last hour</h2>${cats('bounces', s.bounceCategories)}</div>
<div><h2>Deferrals by category, last hour</h2>${cats('deferrals', s.deferralCategories)}</div></div>
<script type="application/json" id="spec">${jsonForScript(spec)}</script>
<script nonce="${nonce}">${CLIENT_JS}</script>
</body></html>
`;
}
