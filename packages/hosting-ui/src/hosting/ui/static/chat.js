// The conversation on screen: the user's messages and the agent's turns. A turn is built from
// the Responses API's stream events as they arrive, or from stored items when a conversation
// is opened; both paths go through the same item views.

import { el, formatRunDuration, pretty } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

export const APPROVAL = "approve_tool_call";
export const TERMINAL = new Set(["response.completed", "response.failed", "response.incomplete", "response.cancelled"]);

export function messageText(item) {
  if (typeof item.content === "string") return item.content;
  return (item.content || []).map((part) => part.text ?? part.refusal ?? "").join("");
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

class MessageItem {
  constructor() {
    this.text = "";
    this.node = el("div", { class: "answer" });
    this.frame = 0;
  }

  append(delta) {
    this.text += delta;
    // Re-rendered at most once a frame, however fast the deltas come.
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  render() {
    this.frame = 0;
    this.node.replaceChildren(renderMarkdown(this.text));
  }

  done(item) {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.text = messageText(item);
    this.render();
  }
}

class ReasoningItem {
  constructor() {
    this.text = el("div", { class: "reasoning-text" });
    this.node = el("details", { class: "reasoning" }, el("summary", { text: "Reasoning" }), this.text);
  }

  append(delta) {
    this.text.append(delta);
  }

  done(item) {
    const parts = [...(item.summary || []), ...(item.content || [])];
    this.text.textContent = parts.map((part) => part.text || "").join("\n\n");
  }
}

class ToolStep {
  constructor(name, label = "Tool") {
    this.name = el("code", { text: name || "" });
    this.state = el("span", { class: "tool-state", text: "running" });
    this.arguments = el("pre", { class: "tool-arguments" });
    this.result = el("pre", { class: "tool-result", text: "(no result yet)" });
    this.node = el(
      "details",
      { class: "tool" },
      el("summary", {}, el("span", { class: "tool-label", text: label }), " ", this.name, " ", this.state),
      el(
        "dl",
        {},
        el("dt", { text: "Name" }),
        el("dd", {}, el("code", { text: name || "" })),
        el("dt", { text: "Arguments" }),
        el("dd", {}, this.arguments),
        el("dt", { text: "Result" }),
        el("dd", {}, this.result),
      ),
    );
    this.rawArguments = "";
  }

  append(delta) {
    this.rawArguments += delta;
    this.arguments.textContent = this.rawArguments;
  }

  done(item) {
    this.rawArguments = item.arguments || "";
    this.arguments.textContent = pretty(this.rawArguments);
    if (item.type === "mcp_call") {
      // A tool the agent ran itself: its outcome comes inline, with the call.
      if (item.error) this.setError(toolError(item.error));
      else if (item.status !== "in_progress") this.setResult(item.output ?? "");
      return;
    }
    this.state.textContent = this.state.textContent === "running" ? "called" : this.state.textContent;
  }

  setResult(output) {
    this.result.textContent = pretty(typeof output === "string" ? output : JSON.stringify(output));
    this.state.textContent = "done";
  }

  setError(message) {
    this.result.textContent = message;
    this.result.classList.add("tool-error");
    this.state.textContent = "failed";
  }
}

// An mcp_call's error: a text, or an error object (its message, or its content's text).
function toolError(error) {
  if (typeof error === "string") return error;
  if (typeof error.message === "string") return error.message;
  const content = Array.isArray(error.content) ? error.content : [error.content];
  return content.map((part) => (typeof part === "string" ? part : part?.text ?? JSON.stringify(part))).join("");
}

class ApprovalCard {
  constructor(item, onAnswer) {
    this.callId = item.call_id;
    this.onAnswer = onAnswer;
    this.approve = el("button", { type: "button", class: "primary", text: "Approve", disabled: true, onclick: () => this.answer(true) });
    this.deny = el("button", { type: "button", text: "Deny", disabled: true, onclick: () => this.answer(false) });
    this.state = el("p", { class: "approval-state", text: "Waiting for the run to finish…" });
    this.tool = el("code");
    this.arguments = el("pre");
    this.node = el(
      "div",
      { class: "approval", role: "group" },
      el("p", {}, "The agent asks to run ", this.tool, " with:"),
      this.arguments,
      this.state,
      el("div", { class: "approval-actions" }, this.approve, this.deny),
    );
    this.raw = "";
    this.answered = false;
    this.fill(item.arguments || "");
  }

  // The request's arguments: {"request_id", "tool_name", "arguments"} (streamed, then whole).
  fill(raw) {
    this.raw = raw;
    const request = parseJson(raw) || {};
    const toolName = String(request.tool_name || "a tool");
    this.tool.textContent = toolName;
    this.node.setAttribute("aria-label", `Approval for ${toolName}`);
    this.arguments.textContent = pretty(request.arguments === undefined ? raw : request.arguments);
  }

  append(delta) {
    this.fill(this.raw + delta);
  }

  done(item) {
    this.fill(item.arguments || "");
  }

  enable() {
    if (this.answered) return;
    this.state.textContent = "Approve this call?";
    this.approve.disabled = false;
    this.deny.disabled = false;
  }

  async answer(approved) {
    this.approve.disabled = true;
    this.deny.disabled = true;
    this.state.textContent = approved ? "Approving…" : "Denying…";
    try {
      await this.onAnswer(this.callId, approved);
    } catch (error) {
      this.state.textContent = `Could not send the answer: ${error.message}`;
      this.approve.disabled = false;
      this.deny.disabled = false;
    }
  }

  setAnswered(output) {
    const parsed = parseJson(typeof output === "string" ? output : JSON.stringify(output));
    const approved = parsed === true || (parsed && parsed.approved === true) || /^(true|yes)$/i.test(String(output).trim());
    this.answered = true;
    this.state.textContent = approved ? "Approved." : "Denied.";
    this.node.classList.add(approved ? "approved" : "denied");
    this.approve.remove();
    this.deny.remove();
  }
}

export class ChatView {
  constructor(list, { onInspect, onApproval, announcer }) {
    this.list = list;
    // Screen readers hear that an answer ended, not every re-rendered piece of it.
    this.announcer = announcer;
    this.onInspect = onInspect;
    this.onApproval = onApproval;
    this.clear();
  }

  clear() {
    this.list.replaceChildren();
    this.tools = new Map();
    this.approvals = new Map();
  }

  scroll() {
    this.list.lastElementChild?.scrollIntoView({ block: "end" });
  }

  userMessage(text) {
    const node = el("li", { class: "msg user" }, el("span", { class: "visually-hidden", text: "You: " }), el("div", { class: "bubble", text }));
    this.list.append(node);
    this.scroll();
    return node;
  }

  notice(text, { error = false } = {}) {
    const node = el("li", { class: error ? "msg notice error" : "msg notice", role: error ? "alert" : null, text });
    this.list.append(node);
    this.scroll();
    return node;
  }

  turn() {
    return new Turn(this);
  }

  // An input item the user sent that is not a message: an answer to an approval or a client tool.
  inputItem(item) {
    if (item.type === "message") {
      if (item.role === "user") this.userMessage(messageText(item));
      else this.notice(`${item.role}: ${messageText(item)}`);
    } else if (item.type === "function_call_output") {
      const card = this.approvals.get(item.call_id);
      if (card) card.setAnswered(item.output);
      else this.tools.get(item.call_id)?.setResult(item.output);
    }
  }
}

export class Turn {
  constructor(view) {
    this.view = view;
    this.items = new Map();
    this.body = el("div", { class: "turn-body" });
    this.waiting = el("p", { class: "waiting", text: "…" });
    this.footer = el("div", { class: "turn-footer" });
    this.node = el("li", { class: "turn" }, el("span", { class: "visually-hidden", text: "Agent: " }), this.body, this.waiting, this.footer);
    this.responseId = null;
    this.cards = [];
    view.list.append(this.node);
    view.scroll();
  }

  setResponse(id) {
    if (this.responseId === id) return;
    this.responseId = id;
    this.node.dataset.responseId = id;
  }

  addItem(item) {
    const view = this.view;
    let entry;
    if (item.type === "message") {
      entry = new MessageItem();
    } else if (item.type === "reasoning") {
      entry = new ReasoningItem();
    } else if (item.type === "function_call" && item.name === APPROVAL) {
      entry = new ApprovalCard(item, view.onApproval);
      view.approvals.set(item.call_id, entry);
      this.cards.push(entry);
    } else if (item.type === "function_call") {
      entry = new ToolStep(item.name);
      view.tools.set(item.call_id, entry);
    } else if (item.type === "mcp_call") {
      entry = new ToolStep(item.name);
    } else if (item.type === "function_call_output") {
      const step = view.tools.get(item.call_id);
      const card = view.approvals.get(item.call_id);
      if (card) card.setAnswered(item.output);
      if (step) {
        step.setResult(item.output);
        return step;
      }
      if (card) return card;
      entry = new ToolStep(item.call_id, "Tool result");
      entry.setResult(item.output);
    } else {
      entry = { node: el("pre", { class: "unknown-item", text: pretty(item) }), append() {}, done() {} };
    }
    if (item.id) this.items.set(item.id, entry);
    this.body.append(entry.node);
    this.view.scroll();
    return entry;
  }

  // A stored item, whole.
  showItem(item) {
    const entry = this.addItem(item);
    entry.done(item);
  }

  apply(event) {
    switch (event.type) {
      case "response.created":
      case "response.queued":
      case "response.in_progress":
        this.live = true;
        this.setResponse(event.response.id);
        this.waiting.textContent = event.response.status === "queued" ? "Queued…" : "…";
        break;
      case "response.output_item.added":
        this.waiting.textContent = "";
        this.addItem(event.item);
        break;
      case "response.output_text.delta":
      case "response.reasoning_summary_text.delta":
      case "response.reasoning_text.delta":
      case "response.function_call_arguments.delta":
      case "response.mcp_call_arguments.delta":
        this.items.get(event.item_id)?.append(event.delta);
        break;
      case "response.output_item.done":
        this.items.get(event.item.id)?.done(event.item);
        break;
      case "error":
        this.fail(event.message || "The stream reported an error.");
        break;
      default:
        if (TERMINAL.has(event.type)) this.finish(event.response);
    }
  }

  // Shown whole, with no run to report on (items added to the conversation by hand).
  settle() {
    this.waiting.remove();
  }

  fail(message) {
    this.waiting.remove();
    this.body.append(el("p", { class: "error-text", role: "alert", text: message }));
  }

  // The run ended: its status, what it cost, and the way to its inspector.
  finish(response) {
    this.setResponse(response.id);
    this.waiting.remove();
    if (response.status === "failed") {
      this.fail(response.error?.message || "The run failed.");
    } else if (response.status === "cancelled") {
      this.body.append(el("p", { class: "notice-text", text: "Stopped." }));
    } else if (response.status === "incomplete") {
      this.body.append(el("p", { class: "notice-text", text: `Incomplete: ${response.incomplete_details?.reason || "unknown reason"}.` }));
    }
    const parts = [response.status];
    if (response.completed_at && response.created_at) {
      parts.push(formatRunDuration(response.created_at, response.completed_at));
    }
    if (response.usage) parts.push(`${response.usage.input_tokens ?? 0} in / ${response.usage.output_tokens ?? 0} out tokens`);
    this.footer.replaceChildren(
      el("span", { class: `badge ${response.status}`, text: parts.join(" · ") }),
      el("button", {
        type: "button",
        class: "link",
        "aria-label": `Inspect run ${response.id}`,
        text: "Inspect",
        onclick: () => this.view.onInspect(response.id),
      }),
    );
    if (response.status === "completed") for (const card of this.cards) card.enable();
    if (this.live && this.view.announcer) {
      const said = response.status === "completed" ? this.body.textContent.trim().slice(0, 300) : "";
      this.view.announcer.textContent = `The run ${response.status}. ${said}`.trim();
    }
    this.view.scroll();
  }
}
