/**
 * @module management/monitor/client
 *
 * The monitor page's script, as a string inlined with a CSP nonce (no build
 * step, no external file). It listens to `GET /api/v1/stream` and rebuilds
 * the cards, tables and chart from each snapshot using `textContent` and
 * `setAttribute` only — never `innerHTML` — so names from the queue (which
 * come from recipient domains) stay text. Admin buttons call the API; the
 * server checks the level again.
 *
 * Exports: `CLIENT_JS`.
 */
export const CLIENT_JS = String.raw`
(function () {
  'use strict';
  var spec = JSON.parse(document.getElementById('spec').textContent);
  var admin = document.body.getAttribute('data-level') === 'admin';
  function fmt(v, f) {
    if (v === null || v === undefined) return '';
    if (f === 'int') return String(Math.round(Number(v))).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    if (f === 'bytes') { var n = Number(v); if (n < 1024) return n + ' B'; if (n < 1048576) return (n / 1024).toFixed(1) + ' KB'; if (n < 1073741824) return (n / 1048576).toFixed(1) + ' MB'; return (n / 1073741824).toFixed(1) + ' GB'; }
    if (f === 'age') { var s = Math.max(0, Math.floor(Number(v))); var d = Math.floor(s / 86400); s -= d * 86400; var h = Math.floor(s / 3600); s -= h * 3600; var m = Math.floor(s / 60); s -= m * 60;
      return d > 0 ? d + 'd ' + h + 'h' : h > 0 ? h + 'h ' + m + 'm' : m > 0 ? m + 'm ' + s + 's' : s + 's'; }
    if (f === 'list') return Array.isArray(v) ? v.map(String).join(', ') : String(v);
    if (f === 'bool') return v ? 'yes' : '';
    return String(v);
  }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function setText(id, v) { var e = document.getElementById(id); if (e) e.textContent = v; }
  function button(action, label, row) {
    var b = el('button', 'act', label);
    b.setAttribute('type', 'button');
    b.setAttribute('data-action', action);
    b.setAttribute('data-domain', row.domain);
    b.setAttribute('data-vmta', row.vmta);
    return b;
  }
  function fill(id, cols, rows, withActions, keyOf) {
    var body = document.getElementById(id);
    if (!body) return;
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) {
      var tr = el('tr');
      if (keyOf) tr.setAttribute('data-key', keyOf(r));
      cols.forEach(function (c) { tr.appendChild(el('td', c.num ? 'num' : '', fmt(r[c.key], c.format))); });
      if (withActions) {
        var td = el('td', 'actions');
        td.appendChild(r.paused ? button('resume', 'Resume', r) : button('pause', 'Pause', r));
        td.appendChild(button('schedule', 'Retry now', r));
        tr.appendChild(td);
      }
      frag.appendChild(tr);
    });
    if (rows.length === 0) { var tr0 = el('tr'); var td0 = el('td', 'empty', 'none'); td0.setAttribute('colspan', String(cols.length + (withActions ? 1 : 0))); tr0.appendChild(td0); frag.appendChild(tr0); }
    body.replaceChildren(frag);
  }
  function cats(id, obj) {
    var ul = document.getElementById(id);
    if (!ul) return;
    var keys = Object.keys(obj).sort(function (a, b) { return obj[b] - obj[a]; });
    var frag = document.createDocumentFragment();
    keys.forEach(function (k) { var li = el('li'); li.appendChild(el('span', 'cat', k)); li.appendChild(el('span', 'num', fmt(obj[k], 'int'))); frag.appendChild(li); });
    if (keys.length === 0) frag.appendChild(el('li', 'empty', 'none'));
    ul.replaceChildren(frag);
  }
  function chart(t) {
    var max = 0;
    spec.chart.series.forEach(function (k) { (t.series[k] || []).forEach(function (v) { if (v > max) max = v; }); });
    spec.chart.series.forEach(function (k) {
      var vals = t.series[k] || [], n = vals.length, w = spec.chart.width, h = spec.chart.height - 4;
      var pts = vals.map(function (v, i) { return (n <= 1 ? 0 : (i * w / (n - 1))).toFixed(1) + ',' + (spec.chart.height - 2 - (max > 0 ? v / max * h : 0)).toFixed(1); }).join(' ');
      var line = document.getElementById('line-' + k);
      if (line) line.setAttribute('points', pts);
    });
    setText('chart-max', fmt(max, 'int') + ' / min');
  }
  function render(s) {
    var st = s.status, tr = st.traffic;
    setText('uptime', fmt(st.uptimeSeconds, 'age'));
    setText('in-min', fmt(tr.lastMinute.in.recipients, 'int'));
    setText('in-hour', fmt(tr.lastHour.in.recipients, 'int'));
    setText('in-total', fmt(tr.total.in.recipients, 'int'));
    setText('out-min', fmt(tr.lastMinute.out.delivered, 'int'));
    setText('out-hour', fmt(tr.lastHour.out.delivered, 'int'));
    setText('out-total', fmt(tr.total.out.delivered, 'int'));
    setText('def-hour', fmt(tr.lastHour.out.deferred, 'int'));
    setText('bnc-hour', fmt(tr.lastHour.out.bounced + tr.lastHour.out.expired, 'int'));
    setText('conn-in', fmt(st.connections.in, 'int'));
    setText('conn-out', fmt(st.connections.out, 'int'));
    setText('spool-msgs', fmt(st.spool.messages, 'int'));
    setText('spool-rcpts', fmt(st.spool.recipients, 'int'));
    setText('spool-queues', fmt(st.queues.total, 'int'));
    setText('queues-paused', fmt(st.queues.paused, 'int'));
    setText('queues-backoff', fmt(st.queues.backoff, 'int'));
    fill('queues', spec.queues, s.topQueues, admin, function (r) { return r.queue; });
    fill('limited', spec.limited, s.limited, admin, function (r) { return r.queue; });
    fill('domains', spec.domains, s.topDomains);
    fill('vmtas', spec.vmtas, s.vmtas.map(function (v) { return Object.assign({}, v, { sourceIps: v.sourceHosts.map(function (h) { return h.ip; }) }); }));
    cats('bounces', s.bounceCategories);
    cats('deferrals', s.deferralCategories);
    chart(s.traffic);
    document.body.setAttribute('data-seq', String(s.seq));
  }
  function flash(text, bad) { var f = document.getElementById('flash'); f.textContent = text; f.className = bad ? 'bad' : 'ok'; }
  document.addEventListener('click', function (ev) {
    var b = ev.target && ev.target.closest ? ev.target.closest('button[data-action]') : null;
    if (!b) return;
    var action = b.getAttribute('data-action'), d = b.getAttribute('data-domain'), v = b.getAttribute('data-vmta');
    b.disabled = true;
    fetch('/api/v1/queues/' + encodeURIComponent(d) + '/' + encodeURIComponent(v) + '/' + action, { method: 'POST', credentials: 'same-origin' })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (x) { flash(x.ok ? action + ' ' + d + '/' + v + ': done' + (x.j.message ? ' (' + x.j.message + ')' : '') : action + ' failed: ' + x.j.error.message, !x.ok); })
      .catch(function (e) { flash(action + ' failed: ' + e, true); })
      .then(function () { b.disabled = false; });
  });
  var es = new EventSource('/api/v1/stream');
  es.addEventListener('snapshot', function (e) { setText('live', 'live'); render(JSON.parse(e.data)); });
  es.onerror = function () { setText('live', 'reconnecting…'); };
})();
`;
