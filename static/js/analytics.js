// Analytics charts, drawn with uPlot (pinned in package.json, served from static/vendor). Each chart starts
// only when its hook element is on the page; its numbers come from the json_script beside it, the same
// numbers the page's table shows. While a session is live its curve grows by polling the analytics API.

const uPlot = window.uPlot;
const AXIS = { stroke: '#9aa3b2', grid: { stroke: '#262a33' }, ticks: { stroke: '#262a33' } };

function widthOf(element) {
  return Math.max(260, Math.floor(element.getBoundingClientRect().width));
}

function keepFitted(plot, element) {
  // Follows the page's width (a phone turned, a window resized); 390 px screens get a 390 px chart.
  new ResizeObserver(() => plot.setSize({ width: widthOf(element), height: plot.height })).observe(element);
}

function startDays(hook) {
  const data = JSON.parse(document.getElementById('analytics-days-data').textContent);
  const x = data.days.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000);
  const plot = new uPlot(
    {
      width: widthOf(hook),
      height: 240,
      scales: { x: { time: true }, h: { range: (u, min, max) => [0, Math.max(1, max)] }, m: { range: (u, min, max) => [0, Math.max(1, max)] } },
      series: [
        {},
        { label: 'Hours streamed', scale: 'h', stroke: '#7c5cff', fill: 'rgba(124,92,255,.35)', paths: uPlot.paths.bars({ size: [0.6, 40] }) },
        { label: 'Minutes watched', scale: 'm', stroke: '#30a46c', width: 2 },
        { label: 'New followers', scale: 'm', stroke: '#f5a524', width: 1, dash: [4, 4] },
      ],
      axes: [AXIS, { ...AXIS, scale: 'h', label: 'hours' }, { ...AXIS, scale: 'm', side: 1, grid: { show: false }, label: 'minutes' }],
    },
    [x, data.hours, data.minutes, data.followers],
    hook,
  );
  hook.plot = plot;
  keepFitted(plot, hook);
}

function seriesTable(points) {
  const body = document.querySelector('[data-series-table] tbody');
  if (!body) return;
  body.replaceChildren(
    ...points.map((point) => {
      const row = document.createElement('tr');
      row.dataset.t = String(point.t);
      for (const text of [new Date(point.t).toISOString().slice(11, 19), point.viewers, point.peak]) {
        const cell = document.createElement('td');
        cell.textContent = String(text);
        row.append(cell);
      }
      return row;
    }),
  );
}

function startSession(hook) {
  const data = JSON.parse(document.getElementById('analytics-session-data').textContent);
  const plot = new uPlot(
    {
      width: widthOf(hook),
      height: 260,
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
      series: [
        {},
        { label: 'Viewers', stroke: '#7c5cff', width: 2, fill: 'rgba(124,92,255,.15)', paths: uPlot.paths.stepped({ align: 1 }) },
        { label: 'Peak', stroke: '#f5a524', width: 1, dash: [4, 4], paths: uPlot.paths.stepped({ align: 1 }) },
      ],
      axes: [AXIS, AXIS],
    },
    [data.t, data.viewers, data.peak],
    hook,
  );
  hook.plot = plot;
  keepFitted(plot, hook);

  // The chat rate under the curve, on the same time axis (messages per minute).
  const chatHook = document.querySelector('[data-analytics-chat]');
  let chatPlot = null;
  if (chatHook) {
    chatPlot = new uPlot(
      {
        width: widthOf(chatHook),
        height: 140,
        scales: { x: { time: true, range: () => [plot.scales.x.min, plot.scales.x.max] }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
        series: [{}, { label: 'Chat messages / min', stroke: '#30a46c', fill: 'rgba(48,164,108,.35)', paths: uPlot.paths.bars({ size: [0.9, 12] }) }],
        axes: [AXIS, AXIS],
      },
      [data.chatT, data.chatMessages],
      chatHook,
    );
    chatHook.plot = chatPlot;
    keepFitted(chatPlot, chatHook);
  }
  if (hook.dataset.live !== 'true') return;

  const every = Math.max(2, Number(hook.dataset.pollSeconds) || 10) * 1000;
  const poll = async () => {
    let live = true;
    try {
      const response = await fetch(hook.dataset.apiUrl, { headers: { Accept: 'application/json' } });
      if (response.ok) {
        const body = await response.json();
        const points = body.points;
        plot.setData([points.map((p) => p.t / 1000), points.map((p) => p.viewers), points.map((p) => p.peak)]);
        seriesTable(points);
        if (chatPlot) chatPlot.setData([body.chat.map((m) => m.t / 1000), body.chat.map((m) => m.messages)]);
        for (const element of document.querySelectorAll('[data-figure]')) {
          element.textContent = String(body.session[element.dataset.figure]);
        }
        live = body.session.live;
      } else if (response.status === 401 || response.status === 403) {
        live = false; // signed out or no longer a creator: stop asking
      }
    } catch {
      // The network blinked: try again at the next tick.
    }
    if (live) setTimeout(poll, every);
  };
  setTimeout(poll, every);
}

if (uPlot) {
  const days = document.querySelector('[data-analytics-days]');
  if (days) startDays(days);
  const session = document.querySelector('[data-analytics-session]');
  if (session) startSession(session);
}
