// ccmon wall: renders the feed of /feed (Server-Sent Events). No framework, no build step.
// States (ok / warn / alarm / none) are decided by the server; the tiles (tiles.js) and the
// agent board (board.js) only draw them, in the screen's language (i18n.js). This file
// decides one thing itself: when it has heard nothing for SILENT_MS, the data is old.
"use strict";

(function () {
  const SILENT_MS = 3000; // no message for this long: greyed out, "data delayed since"
  const RECONNECT_MS = 2000; // after the browser gave up on the stream (e.g. a 401 or 502)
  const params = new URLSearchParams(location.search);
  const $ = (id) => document.getElementById(id);
  const ICONS = window.ccmon.ICONS;

  let f = window.ccmon.i18n.make("en");
  let last = null; // the last state received
  let lastAt = performance.now(); // of the last arrival (the page's load: a grace period)
  let offsetMs = 0; // server clock - this screen's clock: TVs are rarely on NTP
  let liveSince = null; // publication time of the newest data seen: what "delayed since" says
  let source = null;
  let shownTurn = null;
  let sound = null; // null: as the screen says; then the supervisor's choice
  let audio = null;
  const seenStates = new Map(); // tile id -> its last state, for the breach tone
  const tiles = new window.ccmon.Tiles($);
  const board = new window.ccmon.Board($);
  // For tests and benchmarks: the last state, when it came, the tones played, the audio's state.
  const wall = { state: null, arrivedAt: 0, receivedAt: 0, beeps: 0, audio: null };
  window.ccmonWall = wall;

  if (params.get("theme") === "light") document.body.classList.add("light");

  function zone() {
    if (params.get("tz")) return params.get("tz");
    if (last && last.timezone) return last.timezone;
    const zones = new Set((last ? last.tiles : []).map((t) => t.timezone).filter(Boolean));
    return zones.size === 1 ? [...zones][0] : undefined;
  }
  const clockText = (epochSeconds) => f.clock(epochSeconds, zone());
  const serverNow = () => (Date.now() + offsetMs) / 1000;

  function speak(language) {
    if (f.language === language) return;
    f = window.ccmon.i18n.make(language);
    document.documentElement.lang = f.language;
    window.ccmon.labels(document.body, f);
  }

  // ---- the optional tone on a new breach ------------------------------------------------
  function soundOn() {
    return sound !== null ? sound : !!(last && last.screen && last.screen.sound);
  }

  function drawSound() {
    const button = $("sound");
    const on = soundOn();
    button.hidden = false;
    button.setAttribute("aria-pressed", String(on));
    // An icon, its word as the title: the header keeps its room for the worst queue.
    button.querySelector(".icon").textContent = on ? "\u266A" : "\u2298";
    button.title = f.t(on ? "sound_on" : "sound_off");
    button.setAttribute("aria-label", button.title);
  }

  function beep() {
    wall.beeps += 1;
    try {
      audio = audio || new AudioContext();
      if (audio.state === "suspended") audio.resume();
      for (const [start, pitch] of [[0, 880], [0.35, 660]]) {
        const osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = pitch;
        gain.gain.setValueAtTime(0.25, audio.currentTime + start);
        gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + start + 0.3);
        osc.connect(gain).connect(audio.destination);
        osc.start(audio.currentTime + start);
        osc.stop(audio.currentTime + start + 0.3);
      }
      wall.audio = audio.state;
    } catch (e) {
      wall.audio = "unavailable: " + e;
      console.warn("ccmon wall: no sound:", e);
    }
  }

  function breaches(state) {
    let fresh = false;
    for (const t of state.tiles) {
      const before = seenStates.get(t.id);
      if (t.live && t.state === "alarm" && before !== undefined && before !== "alarm") fresh = true;
      seenStates.set(t.id, t.live ? t.state : before);
    }
    if (fresh && soundOn()) beep();
  }

  $("sound").addEventListener("click", () => {
    sound = !soundOn();
    if (sound) { // a gesture: the browser lets the page play sound from now on
      try { audio = audio || new AudioContext(); audio.resume(); wall.audio = audio.state; } catch (e) { wall.audio = "unavailable"; }
    }
    drawSound();
  });

  // ---- the header -----------------------------------------------------------------------
  function drawWorst(state) {
    const box = $("worst");
    const t = state.worst && state.tiles.find((x) => x.id === state.worst.id);
    const metric = t && state.worst.metric;
    const worstState = t ? t.metrics[metric].state : "none";
    box.hidden = state.screen && state.screen.layout === "agents";
    box.dataset.state = worstState;
    if (!t || worstState === "ok" || worstState === "none") {
      // Naming the "worst" of healthy queues would draw the eye to nothing wrong.
      box.querySelector(".icon").textContent = t ? ICONS.ok : "";
      box.querySelector(".name").textContent = t ? f.t("all_ok") : "\u2014";
      box.querySelector(".value").textContent = "";
      return;
    }
    box.querySelector(".icon").textContent = ICONS[worstState];
    box.querySelector(".name").textContent = f.t(t.channel) + " \u00B7 " + t.queue;
    box.querySelector(".value").textContent =
      f.t("short_" + metric) + " " + window.ccmon.text(f, metric, t.metrics[metric]);
  }

  function drawScreen(state, paging) {
    const screen = state.screen || {};
    const title = $("screen-title");
    const rotation = screen.rotation;
    title.hidden = !screen.title;
    title.textContent = (screen.title || "") + (rotation ? "  " + (rotation.index + 1) + "/" + rotation.count : "");
    const pages = $("pages");
    pages.hidden = paging.pages < 2;
    pages.textContent = f.t("page") + " " + (paging.page + 1) + "/" + paging.pages;
  }

  function drawAlerts(state) {
    const box = $("alerts");
    const alerts = state.alerts || { enabled: false, firing: [] };
    box.replaceChildren();
    box.classList.toggle("unknown", alerts.enabled && !alerts.ok);
    if (alerts.enabled && !alerts.ok) box.textContent = "\u26A0 " + f.t("alerts_unknown") + ": " + alerts.error;
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

  // ---- drawing a state, and its pages as the server's clock turns them ---------------------
  function turnOf(state) {
    const seconds = (state.screen && state.screen.page_seconds) || 15;
    return Math.floor(serverNow() / seconds);
  }

  function draw(state) {
    const turn = turnOf(state);
    shownTurn = turn;
    const agentsShown = state.screen && state.screen.layout === "agents";
    document.body.classList.toggle("agent-board", !!agentsShown);
    $("agents").hidden = !agentsShown;
    let paging;
    if (agentsShown) {
      $("contacts").hidden = $("tickets").hidden = true;
      paging = board.render(state.agents || [], f, turn);
      $("empty").hidden = true;
    } else {
      paging = tiles.render(state, f, clockText, params, turn);
      $("empty").hidden = state.tiles.length > 0;
    }
    drawScreen(state, paging);
  }

  // ---- live or delayed -----------------------------------------------------------------
  function assess() {
    const now = performance.now();
    const silent = now - lastAt > SILENT_MS;
    const shown = last ? last.tiles : [];
    const agentsShown = last && last.screen && last.screen.layout === "agents";
    const anyLive = shown.some((t) => t.live);
    $("clock").textContent = clockText(serverNow());
    $("zone").textContent = zone() || "";
    if (last !== null && turnOf(last) !== shownTurn) draw(last); // the next page
    if (agentsShown) board.tick(f);
    if (last === null && !silent) return; // still connecting
    const delayed = silent || last === null || !last.source.ok || (shown.length > 0 && !anyLive);
    const status = $("status");
    document.body.classList.remove("connecting");
    document.body.classList.toggle("delayed", delayed);
    const empty = !delayed && shown.length === 0 && !agentsShown; // connected, nothing published
    status.dataset.state = delayed ? "alarm" : empty ? "none" : "ok";
    status.querySelector(".icon").textContent = delayed ? "\u275A\u275A" : empty ? "\u25CB" : "\u25CF";
    status.querySelector(".word").textContent = f.t(delayed ? "delayed" : empty ? "no_data" : "live");
    $("delayed").hidden = !delayed;
    if (delayed) {
      const why = last === null ? "why_none" : silent ? "why_silent" :
        !last.source.ok ? "why_source" : "why_workers";
      $("delayed-text").textContent = liveSince === null ? f.t("data_delayed") :
        f.t("delayed_since") + " " + clockText(liveSince);
      $("delayed-why").textContent = f.t(why) + " \u00B7 " + f.t("not_live");
    }
  }

  function receive(state, arrivedAt) {
    last = state;
    lastAt = performance.now();
    offsetMs = state.server_time * 1000 - Date.now();
    speak(state.language || "en");
    for (const t of state.tiles) {
      if (t.published_at && (liveSince === null || t.published_at > liveSince)) liveSince = t.published_at;
    }
    draw(state);
    drawWorst(state);
    drawAlerts(state);
    drawSound();
    breaches(state);
    assess();
    wall.state = state;
    wall.arrivedAt = arrivedAt; // when the message arrived, before its JSON was parsed
    wall.receivedAt = Date.now();
  }

  // ---- the stream ----------------------------------------------------------------------
  function connect() {
    source = new EventSource("feed" + location.search);
    source.onmessage = (event) => {
      const arrivedAt = Date.now();
      try { receive(JSON.parse(event.data), arrivedAt); } catch (e) { console.error("ccmon wall:", e); }
    };
    source.onerror = () => {
      // The browser retries by itself while it can; once it has given up, we do.
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS);
    };
  }

  setInterval(assess, 250);
  connect();
})();
