// ccmon wall: renders the feed of /feed (Server-Sent Events). No framework, no build step.
// States (ok / warn / alarm / none) are decided by the server; this file only draws them,
// and decides one thing itself: when it has heard nothing for SILENT_MS, the data is old.
"use strict";

(function () {
  const SILENT_MS = 3000; // no message for this long: greyed out, "data delayed since"
  const RECONNECT_MS = 2000; // after the browser gave up on the stream (e.g. a 401 or 502)
  const params = new URLSearchParams(location.search);
  const LABELS = { ok: "OK", warn: "AT RISK", alarm: "BREACHED", none: "NO DATA" };
  const ICONS = { ok: "\u25CF", warn: "\u25B2", alarm: "\u2716", none: "\u2014", info: "" };
  const CHANNELS = { call: "CALLS", chat: "CHATS", ticket: "TICKETS" };

  const $ = (id) => document.getElementById(id);
  const ints = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });

  let last = null; // the last state received
  let lastAt = performance.now(); // of the last arrival (the page's load: a grace period)
  let offsetMs = 0; // server clock - this screen's clock: TVs are rarely on NTP
  let liveSince = null; // publication time of the newest data seen: what "delayed since" says
  let source = null;
  const tiles = new Map();

  // ---- settings from the address -------------------------------------------------------
  if (params.get("theme") === "light") document.body.classList.add("light");
  const cols = parseInt(params.get("cols") || "", 10);

  function zone() {
    if (params.get("tz")) return params.get("tz");
    if (last && last.timezone) return last.timezone;
    const zones = new Set((last ? last.tiles : []).map((t) => t.timezone).filter(Boolean));
    return zones.size === 1 ? [...zones][0] : undefined;
  }

  const formatters = new Map();
  function formatter(tz) {
    if (!formatters.has(tz)) formatters.set(tz, makeFormatter(tz));
    return formatters.get(tz);
  }

  function makeFormatter(tz) {
    try {
      return new Intl.DateTimeFormat("en-GB", {
        hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: tz,
      });
    } catch (e) {
      return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
    }
  }

  function clockText(epochSeconds) {
    return formatter(zone()).format(new Date(epochSeconds * 1000));
  }

  // ---- numbers -------------------------------------------------------------------------
  const pad = (n) => String(n).padStart(2, "0");
  // Floored: 79.6 % is shown as 79 %, never as a target of 80 % that is not met.
  const pct = (v) => Math.floor(v * 100 + 1e-9) + "%";
  const pct1 = (v) => (Math.round(v * 1000) / 10).toFixed(1) + "%";
  function clock(s) {
    s = Math.max(0, Math.floor(s));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + ":" + pad(s % 60);
    return Math.floor(s / 3600) + ":" + pad(Math.floor((s % 3600) / 60)) + ":" + pad(s % 60);
  }
  function span(s) {
    s = Math.max(0, Math.floor(s));
    if (s < 3600) return Math.floor(s / 60) + "m";
    if (s < 86400) return Math.floor(s / 3600) + "h " + pad(Math.floor((s % 3600) / 60)) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  }
  const FORMAT = {
    sl_30m: pct, sl_today: pct, abandon_30m: pct1, blocking_30m: pct1,
    waiting: (v) => ints.format(v), offered_today: (v) => ints.format(v),
    oldest_waiting: clock, asa_30m: clock,
    backlog: (v) => ints.format(v), overdue: (v) => ints.format(v), oldest_open: span,
    agents_staffed: (v) => ints.format(v), agents_available: (v) => ints.format(v),
    agents_required: (v) => ints.format(v), sl_predicted: pct,
  };
  const NAMES = {
    sl_30m: "SL", sl_today: "SL today", waiting: "waiting", oldest_waiting: "oldest",
    abandon_30m: "abandoned", blocking_30m: "blocked", overdue: "overdue", oldest_open: "oldest open",
  };
  function text(name, metric) {
    if (!metric || metric.value === null || metric.value === undefined) return "\u2014";
    return FORMAT[name](metric.value);
  }

  // ---- tiles ---------------------------------------------------------------------------
  function setValue(el, name, metric) {
    const state = metric ? metric.state : "none";
    const shown = text(name, metric);
    if (el.firstChild && el.firstChild.textContent === shown && el.dataset.state === state) return;
    el.dataset.state = state;
    el.textContent = shown;
    if (state === "warn" || state === "alarm") {
      const icon = document.createElement("span");
      icon.className = "icon";
      icon.setAttribute("aria-hidden", "true");
      icon.textContent = ICONS[state];
      el.appendChild(icon);
    }
  }

  function tileElement(t) {
    let el = tiles.get(t.id);
    if (!el) {
      const template = $(t.kind === "ticket" ? "ticket-tile" : "contact-tile");
      el = template.content.firstElementChild.cloneNode(true);
      el.dataset.tile = t.id;
      el.querySelector(".queue").textContent = t.queue;
      if (t.kind !== "ticket") el.querySelector(".channel").textContent = CHANNELS[t.channel] || t.channel;
      tiles.set(t.id, el);
    }
    return el;
  }

  function drawTile(t, el) {
    const m = t.metrics || {};
    const state = t.metrics && Object.keys(t.metrics).length ? t.state : "none";
    el.dataset.state = state === "info" ? "ok" : state;
    el.classList.toggle("stale", !t.live);
    el.querySelector(".badge .icon").textContent = ICONS[el.dataset.state];
    el.querySelector(".badge .word").textContent = LABELS[el.dataset.state];
    for (const field of el.querySelectorAll("[data-field]")) {
      const name = field.dataset.field;
      if (name === "flow_today") {
        const c = m.created_today, r = m.resolved_today;
        field.textContent = c && r && c.value !== null ? ints.format(c.value) + " / " + ints.format(r.value) : "\u2014";
        field.dataset.state = "info";
      } else {
        setValue(field, name, m[name]);
      }
    }
    if (t.kind !== "ticket") {
      const target = t.target || {};
      el.querySelector(".target").textContent =
        target.service_level === null || target.service_level === undefined ? "" :
          "target " + pct(target.service_level) + (target.comparison === "<=" ? " \u2264 " : " < ") +
          clock(target.threshold_seconds);
    }
    drawTrend(el.querySelector(".trend"), t.trend || []);
    el.querySelector(".stale-note").textContent = t.live ? "" :
      (t.published_at ? "delayed since " + clockText(t.published_at) : "no data");
  }

  // The day's closed intervals as bars (redrawn only when they change: every 15-30 min).
  function drawTrend(box, trend) {
    if (!box) return;
    const key = JSON.stringify(trend);
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    box.replaceChildren();
    let goal = null;
    let missed = 0;
    for (const i of trend) {
      const bar = document.createElement("span");
      bar.className = "bar" + (i.met === true ? " met" : i.met === false ? " missed" : "");
      missed += i.met === false ? 1 : 0;
      bar.style.height = i.ratio === null ? "4%" : Math.max(4, Math.round(i.ratio * 100)) + "%";
      bar.title = i.at + " " + (i.ratio === null ? "no volume" : pct(i.ratio));
      box.appendChild(bar);
      if (i.target !== null && i.target !== undefined) goal = i.target;
    }
    if (goal !== null && trend.length) {
      const line = document.createElement("span");
      line.className = "goal";
      line.style.bottom = Math.round(goal * 100) + "%";
      box.appendChild(line);
    }
    box.setAttribute("aria-label", trend.length + " intervals closed today, " + missed + " missed");
  }

  function columns(n) {
    if (cols > 0) return Math.min(cols, Math.max(n, 1));
    if (n <= 4) return Math.max(n, 1);
    return Math.ceil(Math.sqrt(n * 1.5));
  }

  function drawTiles(state) {
    const seen = new Set();
    const groups = { contact: [], ticket: [] };
    for (const t of state.tiles) {
      const el = tileElement(t);
      drawTile(t, el);
      groups[t.kind === "ticket" ? "ticket" : "contact"].push(el);
      seen.add(t.id);
    }
    for (const [id, el] of tiles) if (!seen.has(id)) { el.remove(); tiles.delete(id); }
    for (const [kind, box] of [["contact", $("contacts")], ["ticket", $("tickets")]]) {
      const els = groups[kind];
      els.forEach((el, i) => { if (box.children[i] !== el) box.insertBefore(el, box.children[i] || null); });
      box.style.setProperty("--cols", String(columns(els.length)));
      box.hidden = els.length === 0;
    }
    document.body.classList.toggle("tickets-only", groups.contact.length === 0);
    $("empty").hidden = state.tiles.length > 0;
  }

  function drawWorst(state) {
    const box = $("worst");
    const t = state.worst && state.tiles.find((x) => x.id === state.worst.id);
    const metric = t && state.worst.metric;
    const worstState = t ? t.metrics[metric].state : "none";
    box.dataset.state = worstState;
    if (!t || worstState === "ok" || worstState === "none") {
      // Naming the "worst" of healthy queues would draw the eye to nothing wrong.
      box.querySelector(".icon").textContent = t ? ICONS.ok : "";
      box.querySelector(".name").textContent = t ? "all queues OK" : "\u2014";
      box.querySelector(".value").textContent = "";
      return;
    }
    box.querySelector(".icon").textContent = ICONS[worstState];
    box.querySelector(".name").textContent = (CHANNELS[t.channel] || t.channel) + " \u00B7 " + t.queue;
    box.querySelector(".value").textContent = NAMES[metric] + " " + text(metric, t.metrics[metric]);
  }

  function drawAlerts(state) {
    const box = $("alerts");
    const alerts = state.alerts || { enabled: false, firing: [] };
    box.replaceChildren();
    box.classList.toggle("unknown", alerts.enabled && !alerts.ok);
    if (alerts.enabled && !alerts.ok) {
      box.textContent = "\u26A0 alerts unknown: " + alerts.error;
    }
    for (const a of alerts.firing) {
      const item = document.createElement("div");
      item.className = "alert";
      const where = [a.channel, a.queue].filter(Boolean).join(" ");
      item.textContent = "\u26A0 " + (a.summary || a.name) + (a.summary || !where ? "" : " \u2014 " + where);
      item.dataset.alert = a.name;
      box.appendChild(item);
    }
    box.hidden = box.childNodes.length === 0;
  }

  // ---- live or delayed -----------------------------------------------------------------
  function assess() {
    const now = performance.now();
    const silent = now - lastAt > SILENT_MS;
    const shown = last ? last.tiles : [];
    const anyLive = shown.some((t) => t.live);
    const serverNow = (Date.now() + offsetMs) / 1000;
    $("clock").textContent = clockText(serverNow);
    $("zone").textContent = zone() || "";
    if (last === null && !silent) return; // still connecting
    const delayed = silent || last === null || !last.source.ok || (shown.length > 0 && !anyLive);
    const status = $("status");
    document.body.classList.remove("connecting");
    document.body.classList.toggle("delayed", delayed);
    const empty = !delayed && shown.length === 0; // connected, but no queue is published
    status.dataset.state = delayed ? "alarm" : empty ? "none" : "ok";
    status.querySelector(".icon").textContent = delayed ? "\u275A\u275A" : empty ? "\u25CB" : "\u25CF";
    status.querySelector(".word").textContent = delayed ? "DELAYED" : empty ? "NO DATA" : "LIVE";
    $("delayed").hidden = !delayed;
    if (delayed) {
      const why = last === null ? "no data yet" : silent ? "no update from the wall server" :
        !last.source.ok ? "read model unreachable" : "no worker is publishing";
      $("delayed-text").textContent = liveSince === null ? "data delayed" :
        "data delayed since " + clockText(liveSince);
      $("delayed-why").textContent = why + " \u00B7 the numbers below are not live";
    }
  }

  function receive(state) {
    last = state;
    lastAt = performance.now();
    offsetMs = state.server_time * 1000 - Date.now();
    for (const t of state.tiles) {
      if (t.published_at && (liveSince === null || t.published_at > liveSince)) liveSince = t.published_at;
    }
    drawTiles(state);
    drawWorst(state);
    drawAlerts(state);
    assess();
    window.ccmonWall = { state: state, receivedAt: Date.now() }; // for tests and benchmarks
  }

  // ---- the stream ----------------------------------------------------------------------
  function connect() {
    source = new EventSource("feed" + location.search);
    source.onmessage = (event) => {
      try { receive(JSON.parse(event.data)); } catch (e) { console.error("ccmon wall:", e); }
    };
    source.onerror = () => {
      // The browser retries by itself while it can; once it has given up, we do.
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS);
    };
  }

  setInterval(assess, 250);
  connect();
})();
