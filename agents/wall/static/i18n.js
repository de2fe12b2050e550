// ccmon wall: every word of the page in English and French, and numbers, durations and
// times formatted for the language (French: "83 %" with a narrow no-break space, "1 min 30 s",
// 24-hour clock). The server says which language a screen speaks (?lang=, the wall's
// setting or file); nothing here guesses from the browser, since a TV's locale is anyone's.
"use strict";

(function () {
  const LABELS = {
    en: {
      connecting: "CONNECTING", live: "LIVE", delayed: "DELAYED", no_data: "NO DATA",
      worst: "WORST", all_ok: "all queues OK", waiting_first: "Waiting for the first queue\u2026",
      ok: "OK", warn: "AT RISK", alarm: "BREACHED", none: "NO DATA",
      call: "CALLS", chat: "CHATS", ticket: "TICKETS",
      sl_30m: "SERVICE LEVEL 30 MIN", waiting: "WAITING", callbacks_waiting: "CALLBACKS", oldest_waiting: "OLDEST WAITING",
      asa_30m: "ASA 30 MIN", abandon_30m: "ABANDONED", blocking_30m: "BLOCKED",
      offered_today: "OFFERED TODAY", sl_today: "SL TODAY", handled_today: "HANDLED TODAY",
      aht_30m: "AHT 30 MIN", agents_staffed: "AGENTS", agents_available: "FREE", slots_free: "SLOTS FREE",
      agents_required: "NEEDED", sl_predicted: "FORECAST",
      backlog: "BACKLOG", overdue: "OVERDUE", oldest_open: "OLDEST OPEN", flow_today: "TODAY IN / OUT",
      kept_today: "KEPT TODAY", no_volume: "no volume", target: "target", page: "page",
      trend_label: "{n} intervals closed today, {missed} missed",
      short_sl_30m: "SL", short_sl_today: "SL today", short_waiting: "waiting",
      short_oldest_waiting: "oldest", short_abandon_30m: "abandoned", short_blocking_30m: "blocked",
      short_overdue: "overdue", short_oldest_open: "oldest open", short_backlog: "backlog",
      delayed_since: "data delayed since", data_delayed: "data delayed", delayed_tile: "delayed since",
      not_live: "the numbers below are not live", why_none: "no data yet",
      why_silent: "no update from the wall server", why_source: "read model unreachable",
      why_workers: "no worker is publishing", alerts_unknown: "alerts unknown",
      sound_on: "SOUND ON", sound_off: "SOUND OFF",
      agent: "AGENT", team: "TEAM", state: "STATE", reason: "REASON", in_state: "TIME IN STATE",
      queues: "QUEUES", no_agents: "No agent logged in",
      available: "AVAILABLE", on_contact: "ON CONTACT", after_contact_work: "WRAP-UP",
      not_ready: "NOT READY", other: "OTHER",
    },
    fr: {
      connecting: "CONNEXION", live: "EN DIRECT", delayed: "EN RETARD", no_data: "AUCUNE DONNÉE",
      worst: "PIRE", all_ok: "toutes les files OK", waiting_first: "En attente de la première file\u2026",
      ok: "OK", warn: "À RISQUE", alarm: "DÉPASSÉ", none: "AUCUNE DONNÉE",
      call: "APPELS", chat: "CHATS", ticket: "TICKETS",
      sl_30m: "NIVEAU DE SERVICE 30 MIN", waiting: "EN ATTENTE", callbacks_waiting: "RAPPELS", oldest_waiting: "PLUS LONGUE ATTENTE",
      asa_30m: "ASA 30 MIN", abandon_30m: "ABANDONS", blocking_30m: "BLOQUÉS",
      offered_today: "PRÉSENTÉS AUJ.", sl_today: "NS AUJ.", handled_today: "TRAITÉS AUJ.",
      aht_30m: "DMT 30 MIN", agents_staffed: "AGENTS", agents_available: "LIBRES", slots_free: "PLACES LIBRES",
      agents_required: "REQUIS", sl_predicted: "PRÉVISION",
      backlog: "STOCK", overdue: "EN RETARD", oldest_open: "PLUS ANCIEN", flow_today: "AUJ. ENTRÉS / SORTIS",
      kept_today: "TENUS AUJ.", no_volume: "sans volume", target: "objectif", page: "page",
      trend_label: "{n} intervalles clos aujourd'hui, {missed} manqués",
      short_sl_30m: "NS", short_sl_today: "NS auj.", short_waiting: "en attente",
      short_oldest_waiting: "plus longue attente", short_abandon_30m: "abandons", short_blocking_30m: "bloqués",
      short_overdue: "en retard", short_oldest_open: "plus ancien", short_backlog: "stock",
      delayed_since: "données en retard depuis", data_delayed: "données en retard",
      delayed_tile: "en retard depuis", not_live: "les chiffres ci-dessous ne sont pas à jour",
      why_none: "pas encore de données", why_silent: "plus de nouvelles du serveur du mur",
      why_source: "modèle de lecture injoignable", why_workers: "aucun worker ne publie",
      alerts_unknown: "alertes inconnues", sound_on: "SON ACTIVÉ", sound_off: "SON COUPÉ",
      agent: "AGENT", team: "ÉQUIPE", state: "ÉTAT", reason: "MOTIF", in_state: "DEPUIS",
      queues: "FILES", no_agents: "Aucun agent connecté",
      available: "DISPONIBLE", on_contact: "EN CONTACT", after_contact_work: "POST-TRAITEMENT",
      not_ready: "INDISPONIBLE", other: "AUTRE",
    },
  };
  const LOCALES = { en: "en-GB", fr: "fr-FR" };
  // Duration units: en "1m 30s", fr "1 min 30 s" (the French typographic spacing).
  const UNITS = {
    en: { s: "s", m: "m", h: "h", d: "d", gap: "", percent: "%" },
    // French typography: a narrow no-break space before the percent sign ("83 %"), which
    // Chromium's own percent format gives as a wide one.
    fr: { s: "s", m: "min", h: "h", d: "j", gap: "\u00A0", percent: "\u202F%" },
  };

  function make(lang) {
    const language = LABELS[lang] ? lang : "en";
    const words = LABELS[language];
    const locale = LOCALES[language];
    const u = UNITS[language];
    const ints = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
    const decimal1 = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    const clocks = new Map();
    const pad = (n) => String(n).padStart(2, "0");
    const unit = (n, name) => n + u.gap + u[name];

    function clockFormat(tz) {
      const key = tz || "";
      if (!clocks.has(key)) {
        const options = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
        try {
          clocks.set(key, new Intl.DateTimeFormat(locale, { ...options, timeZone: tz }));
        } catch (e) {
          clocks.set(key, new Intl.DateTimeFormat(locale, options));
        }
      }
      return clocks.get(key);
    }

    return {
      language: language,
      t: (key) => words[key] || LABELS.en[key] || key,
      int: (v) => ints.format(v),
      // Floored: 79.6 % is shown as 79 %, never as a target of 80 % that is not met.
      pct: (v) => ints.format(Math.floor(v * 100 + 1e-9)) + u.percent,
      pct1: (v) => decimal1.format(Math.round(v * 1000) / 10) + u.percent,
      duration: (seconds) => {
        const s = Math.max(0, Math.floor(seconds));
        if (s < 60) return unit(s, "s");
        if (s < 3600) {
          return unit(Math.floor(s / 60), "m") + " " + unit(pad(s % 60), "s");
        }
        return unit(Math.floor(s / 3600), "h") + " " + unit(pad(Math.floor((s % 3600) / 60)), "m");
      },
      span: (seconds) => {
        const s = Math.max(0, Math.floor(seconds));
        if (s < 3600) return unit(Math.floor(s / 60), "m");
        if (s < 86400) return unit(Math.floor(s / 3600), "h") + " " + unit(pad(Math.floor((s % 3600) / 60)), "m");
        return unit(Math.floor(s / 86400), "d") + " " + unit(Math.floor((s % 86400) / 3600), "h");
      },
      clock: (epochSeconds, tz) => clockFormat(tz).format(new Date(epochSeconds * 1000)),
    };
  }

  window.ccmon = window.ccmon || {};
  window.ccmon.i18n = { make: make, languages: Object.keys(LABELS) };
})();
