// ccmon wall: the agent board (docs/wall.md, "The agent board"): per agent its display
// name, team, state, the reason of a not-ready state, the time in it (counted on between
// messages by the server's clock) and its queues, a page of rows at a time.
"use strict";

(function () {
  const ICONS = { available: "\u25CF", on_contact: "\u260E", after_contact_work: "\u270E", not_ready: "\u25A0", other: "\u2022" };
  const ROW_REM = 3.2; // a row's height, in rem of the screen (wall.css .agent-row)

  class Board {
    constructor($) {
      this.$ = $;
      this.rows = [];
      this.receivedAt = 0;
    }

    capacity() {
      const box = this.$("agent-rows");
      const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 20;
      return Math.max(1, Math.floor(box.clientHeight / (ROW_REM * rem)));
    }

    cell(text, cls) {
      const span = document.createElement("span");
      span.className = cls;
      span.textContent = text;
      return span;
    }

    // Time in state goes on between messages: the server's "seconds" when it sent them,
    // plus the time since they arrived.
    tick(f) {
      const elapsed = Math.max(0, (Date.now() - this.receivedAt) / 1000);
      for (const row of this.$("agent-rows").children) {
        const seconds = parseFloat(row.dataset.seconds);
        if (!Number.isNaN(seconds)) row.querySelector(".in-state").textContent = f.duration(seconds + elapsed);
      }
    }

    render(agents, f, turn) {
      this.receivedAt = Date.now();
      const box = this.$("agent-rows");
      const size = this.capacity();
      const pages = Math.max(1, Math.ceil(agents.length / size));
      const page = ((turn % pages) + pages) % pages;
      const shown = agents.slice(page * size, (page + 1) * size);
      box.replaceChildren();
      if (agents.length === 0) {
        box.appendChild(this.cell(f.t("no_agents"), "agent-empty"));
      }
      for (const a of shown) {
        const row = document.createElement("div");
        row.className = "agent-row";
        row.dataset.state = a.state;
        row.dataset.seconds = a.seconds === null ? "" : String(a.seconds);
        row.appendChild(this.cell(a.name, "name"));
        row.appendChild(this.cell(a.team || "\u2014", "team"));
        const state = this.cell("", "agent-state");
        state.appendChild(this.cell(ICONS[a.state] || ICONS.other, "icon"));
        state.appendChild(this.cell(f.t(a.state) + (a.channel ? " \u00B7 " + f.t(a.channel) : ""), "word"));
        row.appendChild(state);
        row.appendChild(this.cell(a.reason || "", "reason"));
        row.appendChild(this.cell(a.seconds === null ? "\u2014" : f.duration(a.seconds), "in-state"));
        row.appendChild(this.cell(a.queues.join(", "), "queues"));
        box.appendChild(row);
      }
      return { page: page, pages: pages };
    }
  }

  window.ccmon = window.ccmon || {};
  window.ccmon.Board = Board;
})();
