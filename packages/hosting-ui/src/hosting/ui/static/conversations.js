// The user's conversations (GET /conversations, newest first): switch, rename, delete.

import { el } from "./dom.js";

const UNTITLED = "New conversation";

export class ConversationList {
  constructor(api, { list, more, onSelect, onDeleted }) {
    this.api = api;
    this.list = list;
    this.more = more;
    this.onSelect = onSelect;
    this.onDeleted = onDeleted;
    this.entries = [];
    this.current = null;
    this.after = null;
    more.addEventListener("click", () => this.load({ append: true }));
  }

  async load({ append = false } = {}) {
    const page = await this.api.json("GET", "/conversations", { query: { limit: 30, after: append ? this.after : undefined } });
    const known = new Set(page.data.map((entry) => entry.id));
    // Conversations started here whose first turn is still running keep their place and title.
    const pending = append ? [] : this.entries.filter((entry) => entry.local && !known.has(entry.id));
    this.entries = append ? [...this.entries, ...page.data] : [...pending, ...page.data];
    this.after = page.last_id;
    this.more.hidden = !page.has_more;
    this.render();
  }

  add(id, title) {
    if (this.entries.some((entry) => entry.id === id)) return;
    this.entries.unshift({ id, title, local: true });
    this.render();
  }

  setCurrent(id) {
    this.current = id;
    for (const button of this.list.querySelectorAll("button.conversation")) {
      if (button.dataset.id === id) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    }
  }

  render() {
    this.list.replaceChildren(...this.entries.map((entry) => this.row(entry)));
  }

  row(entry) {
    const title = entry.title || UNTITLED;
    const node = el("li", { class: "conversation-row" });
    const select = el("button", {
      type: "button",
      class: "conversation",
      "data-id": entry.id,
      "aria-current": entry.id === this.current ? "page" : null,
      title,
      text: title,
      onclick: () => this.onSelect(entry.id),
    });
    const rename = el("button", { type: "button", class: "icon", "aria-label": `Rename ${title}`, title: "Rename", text: "✎", onclick: () => this.renaming(node, entry) });
    const remove = el("button", { type: "button", class: "icon", "aria-label": `Delete ${title}`, title: "Delete", text: "✕", onclick: () => this.deleting(node, entry) });
    node.append(select, rename, remove);
    return node;
  }

  renaming(node, entry) {
    const input = el("input", { type: "text", id: `rename-${entry.id}`, value: entry.title || "", maxlength: 200, required: true });
    const error = el("p", { class: "error-text", role: "alert" });
    const cancel = el("button", { type: "button", text: "Cancel", onclick: () => node.replaceWith(this.row(entry)) });
    const form = el(
      "form",
      { class: "rename" },
      el("label", { for: input.id, text: "New title" }),
      input,
      el("div", { class: "row-actions" }, el("button", { type: "submit", class: "primary", text: "Save" }), cancel),
      error,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const title = input.value.trim();
      if (!title) return;
      try {
        // Renaming replaces the metadata as a whole: keep what else the conversation holds.
        const current = await this.api.json("GET", `/conversations/${encodeURIComponent(entry.id)}`);
        await this.api.json("POST", `/conversations/${encodeURIComponent(entry.id)}`, { body: { metadata: { ...current.metadata, title } } });
        entry.title = title;
        node.replaceWith(this.row(entry));
      } catch (failure) {
        error.textContent = `Could not rename: ${failure.message}`;
      }
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") node.replaceWith(this.row(entry));
    });
    node.replaceChildren(form);
    input.focus();
    input.select();
  }

  deleting(node, entry) {
    const error = el("p", { class: "error-text", role: "alert" });
    const confirm = el("button", {
      type: "button",
      class: "danger",
      text: "Delete",
      "aria-label": `Confirm deleting ${entry.title || UNTITLED}`,
      onclick: async () => {
        try {
          await this.api.json("DELETE", `/conversations/${encodeURIComponent(entry.id)}`);
          this.entries = this.entries.filter((other) => other.id !== entry.id);
          node.remove();
          this.onDeleted(entry.id);
        } catch (failure) {
          error.textContent = `Could not delete: ${failure.message}`;
        }
      },
    });
    const cancel = el("button", { type: "button", text: "Cancel", onclick: () => node.replaceWith(this.row(entry)) });
    node.replaceChildren(el("p", { class: "confirm", text: `Delete “${entry.title || UNTITLED}”?` }), el("div", { class: "row-actions" }, confirm, cancel), error);
    cancel.focus();
  }
}
