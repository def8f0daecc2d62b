// The run inspector: one response's status, timing, usage, input and output items, and its
// numbered event stream replayed from the store (GET /responses/{id}?stream=true), each event
// with the time it was seen relative to the run's start; the raw JSON one click away.

import { el, formatDuration, formatRunDuration, formatTime, pretty } from "./dom.js";
import { TERMINAL, messageText } from "./chat.js";

const TIMES = "hosting-ui.times.";

// When the page saw each event of a run live, kept for the tab: sequence number -> epoch ms.
export function recordTime(responseId, sequence, at = Date.now()) {
  const key = TIMES + responseId;
  let times = {};
  try {
    times = JSON.parse(sessionStorage.getItem(key) || "{}");
  } catch {
    times = {};
  }
  if (times[sequence] === undefined) {
    times[sequence] = at;
    try {
      sessionStorage.setItem(key, JSON.stringify(times));
    } catch {
      // Storage full: the inspector shows fewer times, nothing else changes.
    }
  }
}

function seenTimes(responseId) {
  try {
    return JSON.parse(sessionStorage.getItem(TIMES + responseId) || "{}");
  } catch {
    return {};
  }
}

function describe(item) {
  if (item.type === "message") return `${item.role}: ${messageText(item)}`;
  if (item.type === "function_call") return `${item.name}(${item.arguments})`;
  if (item.type === "mcp_call") return `${item.name}(${item.arguments}) → ${item.error ? "failed" : item.output ?? ""}`;
  if (item.type === "function_call_output") return `${item.call_id} → ${typeof item.output === "string" ? item.output : JSON.stringify(item.output)}`;
  if (item.type === "reasoning") return (item.summary || []).map((part) => part.text).join(" ");
  return "";
}

function itemList(items, label) {
  if (!items.length) return el("p", { class: "muted", text: `No ${label.toLowerCase()}.` });
  return el(
    "ol",
    { class: "item-list", "aria-label": label },
    items.map((item) =>
      el(
        "li",
        {},
        el("details", {}, el("summary", {}, el("span", { class: "item-type", text: item.type }), " ", describe(item)), el("pre", { text: pretty(item) })),
      ),
    ),
  );
}

export class Inspector {
  constructor(api, { panel, body, title, raw, close, onClose }) {
    this.api = api;
    this.onClose = onClose;
    this.panel = panel;
    this.body = body;
    this.title = title;
    this.raw = raw;
    this.controller = null;
    this.response = null;
    close.addEventListener("click", () => this.close());
    raw.addEventListener("click", () => this.toggleRaw());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !panel.hidden && !document.querySelector("dialog[open]")) this.close();
    });
  }

  close() {
    this.controller?.abort();
    this.controller = null;
    this.panel.hidden = true;
    document.body.classList.remove("inspecting");
    this.onClose?.();
  }

  toggleRaw() {
    const showing = this.raw.getAttribute("aria-pressed") === "true";
    this.raw.setAttribute("aria-pressed", String(!showing));
    this.body.querySelector(".raw")?.toggleAttribute("hidden", showing);
    this.body.querySelector(".views")?.toggleAttribute("hidden", !showing);
  }

  async open(responseId) {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.panel.hidden = false;
    document.body.classList.add("inspecting");
    this.title.textContent = `Run ${responseId}`;
    this.raw.setAttribute("aria-pressed", "false");
    this.body.replaceChildren(el("p", { class: "muted", text: "Loading…" }));
    this.panel.querySelector("#close-inspector")?.focus();
    try {
      const [response, input] = await Promise.all([
        this.api.json("GET", `/responses/${encodeURIComponent(responseId)}`, { signal: controller.signal }),
        this.api.all(`/responses/${encodeURIComponent(responseId)}/input_items`, { query: { order: "asc", limit: 100 } }),
      ]);
      if (controller.signal.aborted) return;
      this.render(response, input);
      await this.replay(response, controller.signal);
    } catch (error) {
      if (controller.signal.aborted) return;
      this.body.replaceChildren(el("p", { class: "error-text", role: "alert", text: `Could not load the run: ${error.message}` }));
    }
  }

  render(response, input) {
    this.response = response;
    const usage = response.usage;
    const facts = [
      ["Status", response.status],
      ["Agent", response.model],
      ["Created", formatTime(response.created_at)],
      ["Completed", formatTime(response.completed_at)],
      ["Duration", formatRunDuration(response.created_at, response.completed_at)],
      ["Background", response.background ? "yes" : "no"],
      ["Usage", usage ? `${usage.input_tokens} input, ${usage.output_tokens} output, ${usage.total_tokens} total tokens` : "—"],
    ];
    if (response.error) facts.push(["Error", `${response.error.code}: ${response.error.message}`]);
    if (response.conversation) facts.push(["Conversation", response.conversation.id]);
    this.events = el("ol", { class: "events", "aria-label": "Events" });
    this.eventCount = el("span", { text: "0" });
    const views = el(
      "div",
      { class: "views" },
      el("section", { "aria-label": "Summary" }, el("dl", { class: "facts" }, facts.map(([name, value]) => [el("dt", { text: name }), el("dd", { text: value ?? "—" })]))),
      el("section", {}, el("h3", { text: `Input items (${input.length})` }), itemList(input, "Input items")),
      el("section", {}, el("h3", { text: `Output items (${(response.output || []).length})` }), itemList(response.output || [], "Output items")),
      el("section", {}, el("h3", {}, "Events (", this.eventCount, ")"), el("p", { class: "muted", text: "Times are relative to the first event this tab saw live (else to the run's start); “—” where it did not see the event." }), this.events),
    );
    const raw = el("pre", { class: "raw", hidden: true, "aria-label": "Raw JSON", text: JSON.stringify(response, null, 2) });
    this.body.replaceChildren(views, raw);
  }

  async replay(response, signal) {
    const stream = await this.api.request("GET", `/responses/${encodeURIComponent(response.id)}`, { query: { stream: "true" }, signal });
    const seen = seenTimes(response.id);
    const live = !["completed", "failed", "incomplete", "cancelled"].includes(response.status);
    // Times this tab saw are measured from the first event it saw (one clock, the browser's);
    // without them, the run's own start and end (the server's clock) are all there is.
    const first = Object.keys(seen).map(Number).sort((a, b) => a - b)[0];
    const start = first === undefined ? (live ? null : response.created_at * 1000) : seen[first];
    let origin = start;
    let count = 0;
    for await (const event of this.api.events(stream)) {
      if (signal.aborted) return;
      const sequence = event.sequence_number;
      if (live) recordTime(response.id, sequence);
      let at = seen[sequence] ?? (live ? Date.now() : null);
      if (origin === null) origin = at;
      if (first === undefined && !live) {
        if (event.type === "response.created") at = response.created_at * 1000;
        if (TERMINAL.has(event.type) && event.response?.completed_at) at = event.response.completed_at * 1000;
      }
      const offset = at === null || origin === null ? "—" : `+${formatDuration(Math.max(0, at - origin))}`;
      this.events.append(
        el(
          "li",
          { class: "event" },
          el(
            "details",
            {},
            el("summary", {}, el("span", { class: "seq", text: `#${sequence}` }), " ", el("span", { class: "offset", text: offset }), " ", el("span", { class: "event-type", text: event.type })),
            el("pre", { text: JSON.stringify(event, null, 2) }),
          ),
        ),
      );
      count += 1;
      this.eventCount.textContent = String(count);
      if (TERMINAL.has(event.type)) {
        // A live run ended while we watched: show its final state.
        if (live) this.refresh(event.response);
        break;
      }
    }
  }

  refresh(response) {
    this.response = response;
    const raw = this.body.querySelector(".raw");
    if (raw) raw.textContent = JSON.stringify(response, null, 2);
  }
}
