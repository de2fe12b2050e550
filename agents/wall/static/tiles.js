// ccmon wall: the queue tiles. States come decided from the server (ccmon.agents.wall.tiles);
// this file draws them, in the screen's language, a page at a time: when the tiles do not
// fit the screen's columns x rows, pages turn instead of the tiles shrinking.
"use strict";

(function () {
  const ICONS = { ok: "\u25CF", warn: "\u25B2", alarm: "\u2716", none: "\u2014", info: "" };
  // At most this many tiles a page when the screen does not say: beyond, a number would
  // drop under 1/30 of the screen's height (docs/wall.md, "Readable from 5 m").
  const MAX_COLUMNS = 4, MAX_ROWS = 2, MAX_TICKET_COLUMNS = 4;

  function formats(f) {
    const ints = (v) => f.int(v);
    return {
      sl_30m: f.pct, sl_today: f.pct, sl_predicted: f.pct, abandon_30m: f.pct1, blocking_30m: f.pct1,
      waiting: ints, callbacks_waiting: ints, offered_today: ints, handled_today: ints, backlog: ints, overdue: ints,
      agents_staffed: ints, agents_available: ints, agents_required: ints, slots_free: ints,
      oldest_waiting: f.duration, asa_30m: f.duration, aht_30m: f.duration, oldest_open: f.span,
    };
  }

  function text(f, name, metric) {
    if (!metric || metric.value === null || metric.value === undefined) return "\u2014";
    return formats(f)[name](metric.value);
  }

  // Digits as text, the words between them (units: "min", "s", "j") in small spans.
  function fill(el, shown) {
    el.replaceChildren();
    for (const part of shown.split(/([0-9][0-9\s\u202F\u00A0.,:%/]*)/)) {
      if (!part) continue;
      if (/^[0-9]/.test(part) || part === "\u2014") {
        el.appendChild(document.createTextNode(/%$/.test(part) ? part : part.trimEnd()));
      } else {
        const unit = document.createElement("span");
        unit.className = "unit";
        unit.textContent = part.trim(); // the unit's margin is the space: it takes less room
        el.appendChild(unit);
      }
    }
  }

  function setValue(f, el, name, metric) {
    const state = metric ? metric.state : "none";
    const shown = text(f, name, metric);
    if (el.dataset.text === shown && el.dataset.state === state) return;
    el.dataset.state = state;
    el.dataset.text = shown;
    fill(el, shown);
    if (state === "warn" || state === "alarm") {
      const icon = document.createElement("span");
      icon.className = "icon";
      icon.setAttribute("aria-hidden", "true");
      icon.textContent = ICONS[state];
      el.appendChild(icon);
    }
  }

  function labels(root, f) {
    for (const el of root.querySelectorAll("[data-label]")) el.textContent = f.t(el.dataset.label);
  }

  // The day's closed intervals as bars (issue 26's records: redrawn only when they change,
  // every 15-30 min): green met, hatched red missed, grey without volume, the target dashed.
  function drawTrend(box, trend, f) {
    const key = f.language + JSON.stringify(trend);
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
      bar.title = i.at + " " + (i.ratio === null ? f.t("no_volume") : f.pct(i.ratio));
      box.appendChild(bar);
      if (i.target !== null && i.target !== undefined) goal = i.target;
    }
    if (goal !== null && trend.length) {
      const line = document.createElement("span");
      line.className = "goal";
      line.style.bottom = Math.round(goal * 100) + "%";
      box.appendChild(line);
    }
    box.setAttribute("aria-label", f.t("trend_label").replace("{n}", trend.length).replace("{missed}", missed));
  }

  class Tiles {
    constructor($) {
      this.$ = $;
      this.tiles = new Map();
      this.language = null;
    }

    element(t, f) {
      let el = this.tiles.get(t.id);
      if (!el) {
        const template = this.$(t.kind === "ticket" ? "ticket-tile" : "contact-tile");
        el = template.content.firstElementChild.cloneNode(true);
        el.dataset.tile = t.id;
        el.querySelector(".queue").textContent = t.queue;
        this.tiles.set(t.id, el);
      }
      if (el.dataset.language !== f.language) {
        labels(el, f);
        if (t.kind !== "ticket") el.querySelector(".channel").textContent = f.t(t.channel);
        for (const field of el.querySelectorAll("[data-field]")) delete field.dataset.text;
        el.dataset.language = f.language;
      }
      return el;
    }

    draw(t, el, f, clockText) {
      const m = t.metrics || {};
      const state = t.metrics && Object.keys(t.metrics).length ? t.state : "none";
      el.dataset.state = state === "info" ? "ok" : state;
      el.classList.toggle("stale", !t.live);
      // Chats: free slots instead of free agents (wall.css).
      el.classList.toggle("concurrent", "slots_free" in m);
      el.querySelector(".badge .icon").textContent = ICONS[el.dataset.state];
      el.querySelector(".badge .word").textContent = f.t(el.dataset.state);
      for (const field of el.querySelectorAll("[data-field]")) {
        const name = field.dataset.field;
        if (name === "flow_today") {
          const c = m.created_today, r = m.resolved_today;
          const shown = c && r && c.value !== null ? f.int(c.value) + " / " + f.int(r.value) : "\u2014";
          if (field.textContent !== shown) field.textContent = shown;
          field.dataset.state = "info";
        } else {
          setValue(f, field, name, m[name]);
        }
        if (name === "callbacks_waiting") {
          // Shown only while callbacks wait to be placed: most queues never offer any.
          const some = m[name] && m[name].value > 0;
          if (field.parentElement.hidden === some) field.parentElement.hidden = !some;
        }
      }
      if (t.kind !== "ticket") {
        const target = t.target || {};
        const promise = el.querySelector(".target");
        promise.textContent =
          target.service_level === null || target.service_level === undefined ? "" :
            "\u25CE " + f.pct(target.service_level) +
            (target.comparison === "<=" ? " \u2264 " : " < ") + f.duration(target.threshold_seconds);
        promise.title = f.t("target");
      }
      const trend = el.querySelector(".trend");
      if (trend) drawTrend(trend, t.trend || [], f);
      el.querySelector(".stale-note").textContent = t.live ? "" :
        (t.published_at ? f.t("delayed_tile") + " " + clockText(t.published_at) : f.t("none"));
    }

    // How many tiles a page holds: the screen's columns x rows (?cols=&rows= or its
    // configuration), else as many as stay readable; ticket tiles get a row, or a third of
    // the rows asked for.
    static shapes(nContacts, nTickets, screen, params) {
      const askedCols = parseInt(params.get("cols") || "", 10) || screen.columns || 0;
      const askedRows = parseInt(params.get("rows") || "", 10) || screen.rows || 0;
      const fit = (n, cols, rows) => {
        const c = Math.max(1, Math.min(cols, Math.max(n, 1)));
        return { cols: c, rows: rows, size: c * rows };
      };
      const cCols = askedCols || Math.min(Math.max(nContacts, 1), MAX_COLUMNS);
      const cRows = askedRows || Math.min(Math.max(Math.ceil(nContacts / cCols), 1), MAX_ROWS);
      const tCols = askedCols || MAX_TICKET_COLUMNS;
      const tRows = askedRows ? Math.max(1, Math.round(askedRows / 3)) : 1;
      return { contact: fit(nContacts, cCols, cRows), ticket: fit(nTickets, tCols, tRows) };
    }

    // Draws every tile of the state and shows page `turn` (counted by the server's clock);
    // returns the page shown and the number of pages.
    render(state, f, clockText, params, turn) {
      const seen = new Set();
      const groups = { contact: [], ticket: [] };
      for (const t of state.tiles) {
        const el = this.element(t, f);
        this.draw(t, el, f, clockText);
        groups[t.kind === "ticket" ? "ticket" : "contact"].push(el);
        seen.add(t.id);
      }
      for (const [id, el] of this.tiles) if (!seen.has(id)) { el.remove(); this.tiles.delete(id); }
      const shapes = Tiles.shapes(groups.contact.length, groups.ticket.length, state.screen || {}, params);
      const contacts = shapes.contact, tickets = shapes.ticket;
      const pages = Math.max(1, Math.ceil(groups.contact.length / contacts.size),
        Math.ceil(groups.ticket.length / tickets.size));
      const page = ((turn % pages) + pages) % pages;
      for (const [kind, box, shape] of [["contact", this.$("contacts"), contacts], ["ticket", this.$("tickets"), tickets]]) {
        const els = groups[kind].slice(page * shape.size, (page + 1) * shape.size);
        els.forEach((el, i) => { if (box.children[i] !== el) box.insertBefore(el, box.children[i] || null); });
        while (box.children.length > els.length) box.lastChild.remove();
        box.style.setProperty("--cols", String(shape.cols));
        box.style.setProperty("--rows", String(shape.rows));
        box.hidden = els.length === 0;
      }
      document.body.classList.toggle("tickets-only", groups.contact.length === 0);
      return { page: page, pages: pages };
    }
  }

  window.ccmon = window.ccmon || {};
  window.ccmon.Tiles = Tiles;
  window.ccmon.ICONS = ICONS;
  window.ccmon.text = text;
  window.ccmon.labels = labels;
})();
