// Formatting helpers, a ticking clock, the hash router, the confirm dialog
// state, notices, the word-level diff and Markdown rendering.

const { reactive } = Vue;

/** Reactive "now" (ms), updated every second, for relative times and elapsed durations. */
export const clock = reactive({ now: Date.now() });
setInterval(() => {
  clock.now = Date.now();
}, 1000);

export function parseTime(iso) {
  if (!iso) return null;
  // The API sends UTC; tolerate a missing zone designator.
  const s = /[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

export function formatDateTime(iso) {
  const t = parseTime(iso);
  if (t === null) return "—";
  const d = new Date(t);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (sameDay) return time;
  return `${d.toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" })} ${time}`;
}

export function fullDateTime(iso) {
  const t = parseTime(iso);
  return t === null ? "" : new Date(t).toLocaleString();
}

/** 75 -> "1 min 15 s"; 3725 -> "1 h 2 min". */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return "—";
  let s = Math.max(0, Number(seconds));
  if (s < 10) return `${s.toFixed(1)} s`;
  s = Math.round(s);
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h} h ${m} min`;
  return sec ? `${m} min ${sec} s` : `${m} min`;
}

/** Media timestamp: 75.4 -> "1:15", 3725 -> "1:02:05". */
export function formatTimestamp(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

export function formatBytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** "5 s ago", "3 min ago". */
export function formatAgo(iso, now) {
  const t = parseTime(iso);
  if (t === null) return "never";
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

export const STEPS = ["transcription", "diarization", "speakers", "correction", "summary"];

export function stepLabel(step) {
  return (
    {
      download: "Download",
      transcription: "Transcription",
      diarization: "Speakers (who spoke when)",
      speakers: "Speaker assignment",
      correction: "Correction",
      summary: "Summary",
      webhook: "Webhook",
    }[step] || step
  );
}

/** Number of distinct speaker colours (style.css .spk-0 … .spk-7); more speakers reuse them in turn. */
export const SPEAKER_COLOURS = 8;

/** The colour class of the i-th speaker (0-based): "spk-0" … "spk-7". */
export function speakerClass(i) {
  return i >= 0 ? `spk-${i % SPEAKER_COLOURS}` : "";
}

/** Seconds each speaker talks: {label: seconds}, from segments and labelOf(segment) (empty labels skipped). */
export function talkTimes(segments, labelOf) {
  const out = {};
  for (const seg of segments || []) {
    const label = labelOf(seg);
    if (!label) continue;
    out[label] = (out[label] || 0) + Math.max(0, (seg.end || 0) - (seg.start || 0));
  }
  return out;
}

/** Describe task.result.llm (string, object or null). */
export function describeLlm(llm) {
  if (llm === undefined) return null;
  if (llm === null || llm === false || llm === "") return "none";
  if (typeof llm === "string") return llm;
  if (typeof llm === "object") {
    const parts = [llm.kind, llm.model].filter(Boolean);
    let s = parts.join(" · ") || JSON.stringify(llm);
    if (llm.local === false) s += " (remote)";
    else if (llm.local === true) s += " (local)";
    return s;
  }
  return String(llm);
}

// ---------------------------------------------------------------------------
// Hash router: #/processing, #/upload, #/recordings, #/recordings/:id.
// Hashes not starting with "#/" (e.g. the skip link's #main) are ignored.

export const route = reactive({ name: "processing", params: {}, path: "/processing" });

function parseHash(hash) {
  const path = hash.replace(/^#/, "") || "/processing";
  const parts = path.split("?")[0].split("/").filter(Boolean);
  if (parts.length === 0 || parts[0] === "processing") return { name: "processing", params: {} };
  if (parts[0] === "upload") return { name: "upload", params: {} };
  if (parts[0] === "settings") return { name: "settings", params: {} };
  if (parts[0] === "recordings" && parts.length === 1) return { name: "recordings", params: {} };
  if (parts[0] === "recordings" && parts.length >= 2)
    return { name: "recording", params: { id: decodeURIComponent(parts[1]) } };
  return { name: "notfound", params: {} };
}

function applyHash() {
  const hash = window.location.hash;
  if (hash && !hash.startsWith("#/")) return; // in-page anchor, keep the current page
  const r = parseHash(hash);
  route.name = r.name;
  route.params = r.params;
  route.path = hash.replace(/^#/, "") || "/processing";
}

export function startRouter() {
  window.addEventListener("hashchange", applyHash);
  applyHash();
}

export function navigate(path) {
  window.location.hash = `#${path}`;
}

// ---------------------------------------------------------------------------
// Confirmation dialog: const ok = await confirmAction({title, message, confirmLabel}).

export const confirmState = reactive({
  open: false,
  title: "",
  message: "",
  confirmLabel: "OK",
  cancelLabel: "Keep",
  resolve: null,
});

export function confirmAction({ title, message, confirmLabel = "OK", cancelLabel = "Keep" }) {
  if (confirmState.resolve) confirmState.resolve(false);
  return new Promise((resolve) => {
    Object.assign(confirmState, { open: true, title, message, confirmLabel, cancelLabel, resolve });
  });
}

// ---------------------------------------------------------------------------
// Toast-like notices (role=status live region).

export const notices = reactive({ items: [], next: 1 });

export function notify(message, kind = "info", ms = 6000) {
  const id = notices.next++;
  notices.items.push({ id, message, kind });
  setTimeout(() => {
    const i = notices.items.findIndex((n) => n.id === id);
    if (i >= 0) notices.items.splice(i, 1);
  }, ms);
}

// ---------------------------------------------------------------------------

function tokenize(s) {
  return (s || "").split(/\s+/).filter(Boolean);
}

/**
 * Word-level diff of a and b (longest common subsequence over words).
 * Returns [{type: "same"|"del"|"ins", text}] where consecutive words of one
 * type are merged (joined by single spaces); render the parts separated by spaces.
 */
export function wordDiff(a, b) {
  const x = tokenize(a);
  const y = tokenize(b);
  const n = x.length;
  const m = y.length;
  if (n * m > 250000) {
    // Too long for a quadratic diff: show as a whole replacement.
    return [
      ...(n ? [{ type: "del", text: x.join(" ") }] : []),
      ...(m ? [{ type: "ins", text: y.join(" ") }] : []),
    ];
  }
  const dp = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i][j] = x[i] === y[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
    }
  }
  const out = [];
  const push = (type, word) => {
    const last = out[out.length - 1];
    if (last && last.type === type) last.text += ` ${word}`;
    else out.push({ type, text: word });
  };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      push("same", y[j]);
      i++;
      j++;
    } else if (dp[i + 1][j] >= dp[i][j + 1]) {
      push("del", x[i++]);
    } else {
      push("ins", y[j++]);
    }
  }
  while (i < n) push("del", x[i++]);
  while (j < m) push("ins", y[j++]);
  return out;
}

/** Whether an image address is this server's own, or data:/blob: (never another site). */
export function isLocalImage(src) {
  try {
    const url = new URL(src, window.location.href);
    return url.protocol === "data:" || url.protocol === "blob:" || url.origin === window.location.origin;
  } catch {
    return false;
  }
}

// A Markdown image of another site would tell that site who reads the summary, and when: DOMPurify
// replaces it (still in its inert document, so nothing is fetched) with a link saying it was not loaded.
// The server's Content-Security-Policy (img-src 'self' data: blob:) blocks any that slips through.
function dropRemoteImages(node) {
  if (node.nodeName === "SOURCE") node.removeAttribute("srcset");
  if (node.nodeName !== "IMG") return;
  node.removeAttribute("srcset");
  const src = node.getAttribute("src") || "";
  if (src && isLocalImage(src)) return;
  const link = node.ownerDocument.createElement("a");
  link.setAttribute("href", src);
  link.setAttribute("rel", "noreferrer noopener");
  link.setAttribute("class", "remote-image");
  link.setAttribute("data-testid", "remote-image");
  const alt = node.getAttribute("alt");
  link.textContent = `Image not loaded (from another site)${alt ? `: ${alt}` : ""}`;
  node.replaceWith(link);
}
if (window.DOMPurify && !window.DOMPurify.stenographImages) {
  window.DOMPurify.addHook("afterSanitizeAttributes", dropRemoteImages);
  window.DOMPurify.stenographImages = true;
}

/** Render Markdown to sanitised HTML (marked + DOMPurify); remote images become links, not loaded. */
export function renderMarkdown(md) {
  const html = window.marked.parse(md || "", { gfm: true, breaks: false, async: false });
  return window.DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
}

/** Types of pending tasks that no live worker takes, sorted (a worker whose task_types is null takes
 * every type): those tasks wait until such a worker starts. */
export function uncoveredTypes(tasks, workers) {
  const live = workers.filter((w) => w.live);
  const covered = (type) => live.some((w) => !w.task_types || w.task_types.includes(type));
  const pending = new Set([...tasks].filter((t) => t.status === "pending").map((t) => t.type));
  return [...pending].filter((type) => !covered(type)).sort();
}
