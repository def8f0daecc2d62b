// The host's public HTTP API, as the page uses it: JSON calls and Server-Sent Event streams,
// with the tab's API key (sessionStorage: gone when the tab closes) when the host needs one.

const KEY = "hosting-ui.api-key";

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }

  static async from(response) {
    let message = `${response.status} ${response.statusText}`.trim();
    let code = null;
    try {
      const body = await response.json();
      if (body && body.error) {
        message = body.error.message || message;
        code = body.error.code || null;
      }
    } catch {
      // Not JSON (a proxy's page, say): the status line is all there is.
    }
    return new ApiError(response.status, message, code);
  }
}

export class Api {
  constructor(apiBase, uiBase) {
    this.apiBase = apiBase;
    this.uiBase = uiBase;
    this.onUnauthorized = null;
  }

  get key() {
    return sessionStorage.getItem(KEY);
  }

  set key(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  }

  url(path, query, base) {
    const url = new URL((base ?? this.apiBase) + path, window.location.origin);
    for (const [name, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    return url;
  }

  async request(method, path, { body, query, signal, base } = {}) {
    const headers = {};
    if (this.key) headers.Authorization = `Bearer ${this.key}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(this.url(path, query, base), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
    if (!response.ok) {
      const error = await ApiError.from(response);
      if (error.status === 401 && this.onUnauthorized) this.onUnauthorized(error);
      throw error;
    }
    return response;
  }

  async json(method, path, options) {
    return (await this.request(method, path, options)).json();
  }

  // Every page of a list route (bounded: a list longer than `maxPages` pages is cut).
  async all(path, { query = {}, base, maxPages = 50 } = {}) {
    const data = [];
    let after;
    for (let page = 0; page < maxPages; page += 1) {
      const body = await this.json("GET", path, { query: { ...query, after }, base });
      data.push(...body.data);
      if (!body.has_more || body.data.length === 0) break;
      after = body.last_id;
    }
    return data;
  }

  // The events of a Server-Sent Events response, parsed (comments and keep-alives skipped).
  async *events(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let boundary = buffer.indexOf("\n\n");
        while (boundary >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          const data = block
            .split("\n")
            .filter((line) => line.startsWith("data:"))
            .map((line) => line.slice(5).replace(/^ /, ""))
            .join("\n");
          if (data && data !== "[DONE]") yield JSON.parse(data);
          boundary = buffer.indexOf("\n\n");
        }
      }
    } finally {
      // Stopped early (the page moved on): close the connection; after the end this does nothing.
      reader.cancel().catch(() => {});
    }
  }
}
