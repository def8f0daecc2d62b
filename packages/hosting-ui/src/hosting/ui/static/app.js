// The page: wires the API, the chat, the conversation list and the inspector together.
// Every run is started with background=true and streamed, so it can be stopped (cancel), it
// goes on when the page is closed, and the page follows it again when it comes back.

import { Api, ApiError } from "./api.js";
import { ChatView, TERMINAL } from "./chat.js";
import { ConversationList } from "./conversations.js";
import { Inspector, recordTime } from "./inspector.js";

const $ = (id) => document.getElementById(id);
const meta = (name) => document.querySelector(`meta[name="${name}"]`).getAttribute("content");
const LIVE = new Set(["queued", "in_progress"]);
const MAX_RECONNECTS = 5;

const api = new Api(meta("hosting-ui-api"), meta("hosting-ui-base"));
const state = { conversationId: null, run: null, load: 0 };

const inspector = new Inspector(api, {
  panel: $("inspector"),
  body: $("inspector-body"),
  title: $("inspector-title"),
  raw: $("raw-json"),
  close: $("close-inspector"),
  onClose: () => {
    // Opened from its address (#/r/...): closing goes back to the chat as it is, without reloading it.
    if (hashResponse()) window.history.replaceState(null, "", state.conversationId ? `#/c/${state.conversationId}` : "#/");
  },
});
const view = new ChatView($("messages"), {
  onInspect: (id) => inspector.open(id),
  onApproval: answerApproval,
  announcer: $("announce"),
});
const conversations = new ConversationList(api, {
  list: $("conversations"),
  more: $("more-conversations"),
  onSelect: (id) => go(id),
  onDeleted: (id) => {
    if (id === state.conversationId) go(null);
  },
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function status(text) {
  $("status").textContent = text || "";
}

function setRunning(running) {
  $("send").disabled = running;
  $("stop").hidden = !running;
  $("stop").disabled = false;
}

// -- the API key ------------------------------------------------------------------------------

let keyPrompt = null;

function askForKey(reason) {
  if (keyPrompt) return keyPrompt;
  const dialog = $("key-dialog");
  const form = $("key-form");
  const input = $("api-key");
  $("key-error").textContent = reason || "";
  keyPrompt = new Promise((resolve) => {
    const submit = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      api.key = value;
      input.value = "";
      form.removeEventListener("submit", submit);
      dialog.close();
      keyPrompt = null;
      $("forget-key").hidden = false;
      resolve();
    };
    form.addEventListener("submit", submit);
    dialog.showModal();
    input.focus();
  });
  return keyPrompt;
}

$("key-dialog").addEventListener("cancel", (event) => event.preventDefault()); // nothing works without it
$("forget-key").addEventListener("click", () => {
  api.key = null;
  window.location.reload();
});

// -- runs -------------------------------------------------------------------------------------

// Follow a run's events into `turn`. `open` starts the stream; a dropped connection is resumed
// with GET /responses/{id}?stream=true&starting_after=N from the last event seen.
async function follow(turn, open) {
  const controller = new AbortController();
  const run = { turn, controller, responseId: null };
  state.run = run;
  setRunning(true);
  let last = -1;
  let finished = false;
  try {
    for (let attempt = 0; attempt <= MAX_RECONNECTS && !finished; attempt += 1) {
      try {
        const response = attempt === 0
          ? await open(controller.signal)
          : await api.request("GET", `/responses/${encodeURIComponent(run.responseId)}`, {
              query: { stream: "true", starting_after: last >= 0 ? last : undefined },
              signal: controller.signal,
            });
        for await (const event of api.events(response)) {
          if (typeof event.sequence_number === "number") {
            if (event.sequence_number <= last) continue;
            last = event.sequence_number;
          }
          if (!run.responseId && event.response?.id) run.responseId = event.response.id;
          if (run.responseId && typeof event.sequence_number === "number") recordTime(run.responseId, event.sequence_number);
          turn.apply(event);
          if (TERMINAL.has(event.type) || event.type === "error") {
            finished = true;
            break;
          }
        }
      } catch (error) {
        if (controller.signal.aborted) return run.responseId;
        if (error instanceof ApiError || !run.responseId) {
          turn.fail(error.message);
          return run.responseId;
        }
      }
      if (!finished && !controller.signal.aborted) await sleep(250 * (attempt + 1));
    }
    if (!finished && !controller.signal.aborted) turn.fail("The connection to the run was lost; reload the page to see how it ended.");
    return run.responseId;
  } finally {
    if (state.run === run) {
      state.run = null;
      setRunning(false);
      if (finished) conversations.load().catch(() => {});
    }
  }
}

function detach() {
  // Stop following (the run itself goes on: it runs in the background).
  state.run?.controller.abort();
  state.run = null;
  setRunning(false);
}

function startRun(input, signal) {
  return api.request("POST", "/responses", {
    body: { model: $("model").value || undefined, input, conversation: state.conversationId, stream: true, background: true, store: true },
    signal,
  });
}

async function send(text) {
  if (state.run) return;
  setRunning(true);
  try {
    if (!state.conversationId) {
      const created = await api.json("POST", "/conversations", { body: {} });
      state.conversationId = created.id;
      window.history.replaceState(null, "", `#/c/${created.id}`);
      conversations.add(created.id, text.trim().split(/\s+/).join(" ").slice(0, 80));
      conversations.setCurrent(created.id);
    }
  } catch (error) {
    setRunning(false);
    view.notice(`Could not start a conversation: ${error.message}`, { error: true });
    return;
  }
  view.userMessage(text);
  const turn = view.turn();
  await follow(turn, (signal) => startRun([{ type: "message", role: "user", content: text }], signal));
}

async function answerApproval(callId, approved) {
  if (state.run) throw new Error("wait until the current run ends");
  const output = JSON.stringify({ approved });
  const turn = view.turn();
  const started = await follow(turn, (signal) => startRun([{ type: "function_call_output", call_id: callId, output }], signal));
  if (!started) throw new Error("the answer was not accepted");
  view.approvals.get(callId)?.setAnswered(output);
}

$("stop").addEventListener("click", async () => {
  const run = state.run;
  if (!run?.responseId) return;
  $("stop").disabled = true;
  try {
    await api.json("POST", `/responses/${encodeURIComponent(run.responseId)}/cancel`);
  } catch (error) {
    $("stop").disabled = false;
    view.notice(`Could not stop the run: ${error.message}`, { error: true });
  }
});

// -- conversations ----------------------------------------------------------------------------

function hashConversation() {
  const match = window.location.hash.match(/^#\/c\/([A-Za-z0-9_-]+)$/);
  return match ? match[1] : null;
}

// `#/r/resp_...`: the inspector of any response of the user's, in or out of a conversation.
function hashResponse() {
  const match = window.location.hash.match(/^#\/r\/([A-Za-z0-9_-]+)$/);
  return match ? match[1] : null;
}

function route() {
  const response = hashResponse();
  if (response) inspector.open(response);
  else openConversation(hashConversation());
}

$("inspect-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const id = $("inspect-id").value.trim();
  if (!/^[A-Za-z0-9_-]+$/.test(id)) return;
  $("inspect-id").value = "";
  window.location.hash = `#/r/${id}`;
});

function go(id) {
  const hash = id ? `#/c/${id}` : "#/";
  if (window.location.hash !== hash) window.location.hash = hash;
  else openConversation(id);
}

function asResponse(summary) {
  return {
    id: summary.id,
    status: summary.status,
    created_at: summary.created_at,
    completed_at: summary.completed_at,
    error: summary.error,
    incomplete_details: summary.incomplete_reason ? { reason: summary.incomplete_reason } : null,
  };
}

async function showInput(summary) {
  const items = await api.all(`/responses/${encodeURIComponent(summary.id)}/input_items`, { query: { order: "asc", limit: 100 } });
  for (const item of items) view.inputItem(item);
}

// Completed turns come from the conversation's items; runs that failed, were stopped or are
// still going are not in it (a conversation keeps completed turns only), so they come from
// the conversation's responses, each in its place by time.
async function render(items, responses, load) {
  const owner = new Map();
  for (const summary of responses) {
    for (const id of summary.input_item_ids) owner.set(id, [summary, "input"]);
    for (const id of summary.output_item_ids) owner.set(id, [summary, "output"]);
  }
  const others = responses.filter((summary) => summary.status !== "completed");
  let next = 0;
  const live = [];
  const showOthers = async (before) => {
    while (next < others.length && (before === null || others[next].created_at < before)) {
      const summary = others[next];
      next += 1;
      await showInput(summary);
      if (load !== state.load) return;
      if (LIVE.has(summary.status)) {
        live.push([summary, view.turn()]);
      } else {
        view.turn().finish(asResponse(summary));
      }
    }
  };
  let group = null;
  let turn = null;
  const close = () => {
    if (turn) {
      if (group) turn.finish(asResponse(group));
      else turn.settle();
    }
    turn = null;
  };
  for (const item of items) {
    const [summary, role] = owner.get(item.id) || [null, null];
    if (summary !== group) {
      close();
      if (summary) await showOthers(summary.created_at);
      if (load !== state.load) return;
      group = summary;
    }
    const input = role ? role === "input" : item.type === "message" && item.role === "user";
    if (input) {
      view.inputItem(item);
    } else {
      if (!turn) turn = view.turn();
      turn.showItem(item);
    }
  }
  close();
  await showOthers(null);
  if (load !== state.load) return;
  for (const [summary, liveTurn] of live) {
    // A run still going (started here before a reload, or elsewhere): follow it from its start.
    await follow(liveTurn, (signal) =>
      api.request("GET", `/responses/${encodeURIComponent(summary.id)}`, { query: { stream: "true" }, signal }),
    );
  }
}

async function openConversation(id) {
  state.load += 1;
  const load = state.load;
  detach();
  state.conversationId = id;
  conversations.setCurrent(id);
  view.clear();
  document.body.classList.remove("sidebar-open");
  $("toggle-sidebar").setAttribute("aria-expanded", "false");
  if (!id) {
    status("");
    return;
  }
  status("Loading the conversation…");
  try {
    const path = `/conversations/${encodeURIComponent(id)}`;
    const [items, responses] = await Promise.all([
      api.all(`${path}/items`, { query: { order: "asc", limit: 100 } }),
      api.all(`${path}/responses`, { query: { limit: 100 }, base: `${api.uiBase}ui-api` }),
    ]);
    if (load !== state.load) return;
    status("");
    await render(items, responses, load);
  } catch (error) {
    if (load !== state.load) return;
    status("");
    view.notice(`Could not open the conversation: ${error.message}`, { error: true });
  }
}

// -- the composer -----------------------------------------------------------------------------

$("message").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("message").value;
  if (!text.trim() || state.run) return;
  $("message").value = "";
  send(text);
});

$("new-chat").addEventListener("click", () => {
  go(null);
  $("message").focus();
});

$("toggle-sidebar").addEventListener("click", () => {
  const open = document.body.classList.toggle("sidebar-open");
  $("toggle-sidebar").setAttribute("aria-expanded", String(open));
});

// -- start ------------------------------------------------------------------------------------

async function boot() {
  let models = null;
  for (let attempt = 0; attempt < 20 && models === null; attempt += 1) {
    try {
      models = await api.json("GET", "/models");
    } catch (error) {
      if (error.status !== 401) {
        view.notice(`Could not reach the API at ${api.apiBase}: ${error.message}`, { error: true });
        return;
      }
      const refused = api.key;
      api.key = null;
      await askForKey(refused ? `The key was refused: ${error.message}` : "");
    }
  }
  if (models === null) return;
  $("forget-key").hidden = !api.key;
  api.onUnauthorized = (error) => {
    api.key = null;
    askForKey(`The key was refused: ${error.message}`);
  };
  $("model").replaceChildren(...models.data.map((model) => new Option(model.id, model.id)));
  try {
    await conversations.load();
  } catch (error) {
    view.notice(`Could not list the conversations: ${error.message}`, { error: true });
  }
  window.addEventListener("hashchange", route);
  document.body.dataset.ready = "true";
  route();
}

boot();
