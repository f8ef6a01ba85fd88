// HTTP helpers for the Stenograph API: JSON requests, error messages, uploads
// with progress (XMLHttpRequest), task actions and the shared server-sent event stream.
// Every address comes from endpoints.js.

import { endpoints, taskActionRequest } from "./endpoints.js";

export { endpoints } from "./endpoints.js";

const { reactive } = Vue;

/** Set to true as soon as any request answers 401: the app then shows the token prompt. */
export const auth = reactive({ required: false });

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

const FALLBACK_MESSAGES = {
  400: "The server refused the request.",
  401: "Sign-in required.",
  403: "Not allowed.",
  404: "Not found.",
  409: "That is not possible in the current state.",
  413: "The file is too large for this server.",
  415: "This file is not a supported audio or video file.",
  422: "The server refused the request as invalid.",
  500: "The server had an internal error.",
  502: "The server is unreachable (bad gateway).",
  503: "The server is busy or unavailable.",
};

/** Turn an error body (any of the shapes FastAPI can produce) into {code, message}. */
export function describeError(status, body) {
  let code = `http_${status}`;
  let message = null;
  const detail = body && typeof body === "object" ? body.detail : null;
  if (detail && typeof detail === "object" && !Array.isArray(detail)) {
    code = detail.code || code;
    message = detail.message || null;
  } else if (typeof detail === "string") {
    message = detail;
  } else if (Array.isArray(detail) && detail.length) {
    // Pydantic validation errors: [{loc: [...], msg: "..."}]
    message = detail
      .map((d) => {
        const where = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body").join(".") : "";
        return where ? `${where}: ${d.msg}` : d.msg;
      })
      .join("; ");
  } else if (typeof body === "string" && body.trim() && body.length < 300 && !body.includes("<")) {
    message = body.trim();
  }
  if (!message) message = FALLBACK_MESSAGES[status] || `The server answered ${status}.`;
  return { code, message };
}

function parseBody(text, contentType) {
  if (contentType && contentType.includes("json")) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * fetch() wrapper. Returns parsed JSON (or text for non-JSON answers, null for 204).
 * Throws ApiError with the server's detail.message.
 */
export async function api(path, { method = "GET", body, headers = {}, signal } = {}) {
  const opts = {
    method,
    headers: { Accept: "application/json", ...headers },
    credentials: "same-origin",
    signal,
  };
  if (body !== undefined) {
    opts.body = JSON.stringify(body);
    opts.headers["Content-Type"] = "application/json";
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(0, "network", "Cannot reach the Stenograph server.");
  }
  if (res.status === 401 && path !== endpoints.login()) auth.required = true;
  const ct = res.headers.get("content-type") || "";
  const text = res.status === 204 ? "" : await res.text();
  const parsed = parseBody(text, ct);
  if (!res.ok) {
    const { code, message } = describeError(res.status, parsed);
    throw new ApiError(res.status, code, message);
  }
  if (res.status === 204 || text === "") return null;
  return parsed;
}

/**
 * Perform an action the server lists in task.actions ("cancel", "retry", "delete").
 * Returns the updated task for cancel and retry, null for delete.
 */
export async function taskAction(id, action) {
  const req = taskActionRequest(id, action);
  if (!req) throw new ApiError(0, "unknown_action", `Unknown task action “${action}”.`);
  const res = await api(req.path, { method: req.method });
  return res && res.data && res.data.id !== undefined ? res.data : res;
}

/**
 * Upload one file to POST /recordings with XMLHttpRequest so that upload
 * progress can be shown. `fields` are extra form fields (strings).
 * Returns {promise, abort}; the promise resolves to the created recordings.
 */
export function uploadRecording(file, fields, onProgress, fileName) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    const form = new FormData();
    if (!file) {
      // an import from a URL: fields.url, no file
    } else if (fileName) form.append("file", file, fileName);
    else form.append("file", file);
    for (const [k, v] of Object.entries(fields || {})) {
      if (v === undefined || v === null || v === "") continue;
      form.append(k, v);
    }
    xhr.open("POST", endpoints.recordings());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "text";
    xhr.upload.addEventListener("progress", (ev) => {
      if (ev.lengthComputable && onProgress) onProgress(ev.loaded / ev.total);
    });
    xhr.addEventListener("load", () => {
      const parsed = parseBody(xhr.responseText, xhr.getResponseHeader("content-type") || "");
      if (xhr.status >= 200 && xhr.status < 300) {
        if (onProgress) onProgress(1);
        resolve(parsed && parsed.data ? parsed.data : []);
      } else {
        if (xhr.status === 401) auth.required = true;
        const { code, message } = describeError(xhr.status, parsed);
        reject(new ApiError(xhr.status, code, message));
      }
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError(0, "network", "The upload failed: cannot reach the server.")),
    );
    xhr.addEventListener("abort", () => reject(new ApiError(0, "aborted", "Upload cancelled.")));
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

// ---------------------------------------------------------------------------
// Server-sent events: one EventSource for the whole app.
// state: "connecting" | "open" | "down"; opens counts successful (re)connections.

export const stream = reactive({ state: "connecting", opens: 0, lastEventAt: null });
const taskListeners = new Set();
let source = null;
let retryTimer = null;

export function onTaskEvent(fn) {
  taskListeners.add(fn);
  return () => taskListeners.delete(fn);
}

export function startStream() {
  if (source || typeof EventSource === "undefined") {
    if (typeof EventSource === "undefined") stream.state = "down";
    return;
  }
  clearTimeout(retryTimer);
  const es = new EventSource(endpoints.events(), { withCredentials: true });
  source = es;
  es.addEventListener("open", () => {
    stream.state = "open";
    stream.opens += 1;
  });
  es.addEventListener("task", (ev) => {
    let task;
    try {
      task = JSON.parse(ev.data);
    } catch {
      return;
    }
    stream.lastEventAt = Date.now();
    for (const fn of taskListeners) {
      try {
        fn(task);
      } catch (err) {
        console.warn("task listener failed", err);
      }
    }
  });
  es.addEventListener("error", () => {
    stream.state = "down";
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (e.g. 401 or the server is gone): try again ourselves.
      es.close();
      if (source === es) source = null;
      retryTimer = setTimeout(startStream, 5000);
    }
  });
}
