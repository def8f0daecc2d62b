// A small Markdown renderer that builds DOM nodes. Every piece of text becomes a text node;
// no HTML is ever parsed, so markup in an agent's answer (<img onerror=...>, <script>) is shown
// as the characters it is. Links are made only for http:, https: and mailto: URLs; any other
// (javascript:, data:, a relative path) stays text. Images are shown as links: the page loads
// nothing from other hosts.

import { el } from "./dom.js";

const MAX_DEPTH = 8;
const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

export function safeUrl(raw) {
  try {
    const url = new URL(raw.trim());
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

function link(text, href) {
  return el("a", { href, rel: "noopener noreferrer nofollow", target: "_blank", text });
}

const FENCE = /^\s{0,3}(```|~~~)/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^\s{0,3}>\s?/;
const BULLET = /^(\s*)([-*+])\s+(.*)$/;
const NUMBERED = /^(\s*)(\d{1,9})[.)]\s+(.*)$/;

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) ||
    BULLET.test(line) || NUMBERED.test(line);
}

export function renderMarkdown(text, depth = 0) {
  const fragment = document.createDocumentFragment();
  const lines = String(text).replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^\s*$/.test(line)) {
      i += 1;
      continue;
    }
    const fence = line.match(FENCE);
    if (fence) {
      const language = line.trim().slice(3).trim();
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) {
        body.push(lines[i]);
        i += 1;
      }
      i += 1;
      const code = el("code", { text: body.join("\n") });
      if (language) code.dataset.language = language;
      fragment.append(el("pre", {}, code));
      continue;
    }
    const heading = line.match(HEADING);
    if (heading) {
      const node = el(`h${Math.min(6, heading[1].length + 2)}`);
      inline(heading[2], node, depth);
      fragment.append(node);
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      fragment.append(el("hr"));
      i += 1;
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted = [];
      while (i < lines.length && QUOTE.test(lines[i])) {
        quoted.push(lines[i].replace(QUOTE, ""));
        i += 1;
      }
      const node = el("blockquote");
      if (depth < MAX_DEPTH) node.append(renderMarkdown(quoted.join("\n"), depth + 1));
      else node.append(quoted.join("\n"));
      fragment.append(node);
      continue;
    }
    const bullet = line.match(BULLET);
    const numbered = bullet ? null : line.match(NUMBERED);
    if (bullet || numbered) {
      const pattern = bullet ? BULLET : NUMBERED;
      const list = el(bullet ? "ul" : "ol");
      if (numbered && numbered[2] !== "1") list.setAttribute("start", String(Number(numbered[2])));
      let item = null;
      while (i < lines.length) {
        const match = lines[i].match(pattern);
        if (match) {
          item = el("li");
          inline(match[3], item, depth);
          list.append(item);
        } else if (item && /^\s+\S/.test(lines[i]) && !startsBlock(lines[i])) {
          item.append(el("br"));
          inline(lines[i].trim(), item, depth);
        } else {
          break;
        }
        i += 1;
      }
      fragment.append(list);
      continue;
    }
    const paragraph = [];
    while (i < lines.length && !/^\s*$/.test(lines[i]) && (paragraph.length === 0 || !startsBlock(lines[i]))) {
      paragraph.push(lines[i]);
      i += 1;
    }
    const node = el("p");
    paragraph.forEach((part, index) => {
      if (index > 0) node.append(el("br"));
      inline(part.trim(), node, depth);
    });
    fragment.append(node);
  }
  return fragment;
}

// [text](url "title") at `start` (which holds "["): [text, url, end] or null.
function linkAt(text, start) {
  let level = 0;
  let close = -1;
  for (let j = start; j < text.length; j += 1) {
    if (text[j] === "\\") {
      j += 1;
    } else if (text[j] === "[") {
      level += 1;
    } else if (text[j] === "]") {
      level -= 1;
      if (level === 0) {
        close = j;
        break;
      }
    }
  }
  if (close < 0 || text[close + 1] !== "(") return null;
  const end = text.indexOf(")", close + 2);
  if (end < 0) return null;
  const target = text.slice(close + 2, end).trim().replace(/\s+"[^"]*"$/, "").replace(/^<(.*)>$/, "$1");
  return [text.slice(start + 1, close), target, end + 1];
}

const ESCAPABLE = /[\\`*_{}[\]()#+\-.!~>|]/;
const BARE_URL = /^https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"]/;

function inline(text, parent, depth) {
  let buffer = "";
  const flush = () => {
    if (buffer) parent.append(document.createTextNode(buffer));
    buffer = "";
  };
  const wrap = (tag, inner) => {
    flush();
    const node = el(tag);
    if (depth < MAX_DEPTH) inline(inner, node, depth + 1);
    else node.textContent = inner;
    parent.append(node);
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    const before = i > 0 ? text[i - 1] : " ";
    if (ch === "\\" && i + 1 < text.length && ESCAPABLE.test(text[i + 1])) {
      buffer += text[i + 1];
      i += 2;
      continue;
    }
    if (ch === "`") {
      const end = text.indexOf("`", i + 1);
      if (end > i + 1) {
        flush();
        parent.append(el("code", { text: text.slice(i + 1, end) }));
        i = end + 1;
        continue;
      }
    }
    const pair = text.slice(i, i + 2);
    if ((pair === "**" || pair === "__" || pair === "~~") && !/\w/.test(pair === "__" ? before : " ")) {
      const end = text.indexOf(pair, i + 2);
      if (end > i + 2) {
        wrap(pair === "~~" ? "del" : "strong", text.slice(i + 2, end));
        i = end + 2;
        continue;
      }
    }
    if ((ch === "*" || ch === "_") && !(ch === "_" && /\w/.test(before)) && text[i + 1] && text[i + 1] !== " ") {
      const end = text.indexOf(ch, i + 1);
      if (end > i + 1 && text[end - 1] !== " " && !(ch === "_" && /\w/.test(text[end + 1] || ""))) {
        wrap("em", text.slice(i + 1, end));
        i = end + 1;
        continue;
      }
    }
    if (ch === "[" || (ch === "!" && text[i + 1] === "[")) {
      const found = linkAt(text, ch === "!" ? i + 1 : i);
      if (found) {
        const [label, target, end] = found;
        const href = safeUrl(target);
        if (href) {
          flush();
          parent.append(link(label || href, href));
          i = end;
          continue;
        }
        // An unsafe or relative target: the whole construct stays text, as written.
        buffer += text.slice(i, end);
        i = end;
        continue;
      }
    }
    if (ch === "<") {
      const auto = text.slice(i).match(/^<([a-z][a-z0-9+.-]*:[^\s<>]+)>/i);
      if (auto) {
        const href = safeUrl(auto[1]);
        if (href) {
          flush();
          parent.append(link(auto[1], href));
        } else {
          buffer += auto[0];
        }
        i += auto[0].length;
        continue;
      }
    }
    if ((ch === "h" || ch === "H") && !/\w/.test(before)) {
      const bare = text.slice(i).match(BARE_URL);
      if (bare) {
        const href = safeUrl(bare[0]);
        if (href) {
          flush();
          parent.append(link(bare[0], href));
          i += bare[0].length;
          continue;
        }
      }
    }
    buffer += ch;
    i += 1;
  }
  flush();
}
