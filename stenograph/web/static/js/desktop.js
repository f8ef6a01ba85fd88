// The desktop window's native dialogs (stenograph/desktop/bridge.py). pywebview injects
// window.pywebview.api into the page and fires "pywebviewready" once its methods can be called; that may
// come before or after this module runs, so both orders are handled. In a plain browser `desktop.available`
// stays false and the pages keep their own file input and download links.

import { describeError } from "./api.js";

const { reactive } = Vue;

/** available: the page runs in the desktop window and its native dialogs can be used. */
export const desktop = reactive({ available: false });

function bridge() {
  const pv = window.pywebview;
  const api = pv && pv.api;
  if (!api || typeof api.open_files !== "function" || typeof api.save_export !== "function") return null;
  return api;
}

function check() {
  desktop.available = !!bridge();
}

// Over Qt WebEngine the methods exist before their channel is open: only "pywebviewready" says they work.
const pv = window.pywebview;
if (pv && (pv.platform !== "qtwebengine" || pv._QWebChannel)) check();
window.addEventListener("pywebviewready", check);

/**
 * A readable message for an error the bridge raised. pywebview rejects with an Error carrying Python's
 * str(exception): the bridge's refusals read "415 talk.exe: <the server's message>" (what follows the
 * status is shown); another message naming an HTTP status is shown as the page shows that status.
 */
export function bridgeErrorMessage(err) {
  const text = ((err && err.message) || "").trim();
  const own = text.match(/^[45]\d\d (.+)$/s);
  if (own) return own[1];
  const status = text.match(/\b([45]\d\d)\b/);
  if (status) return describeError(Number(status[1]), null).message;
  return text || "The desktop window could not do that.";
}

function requireBridge() {
  const api = bridge();
  if (!api) throw new Error("Native dialogs are only available in the desktop window.");
  return api;
}

/**
 * Open the native multi-file dialog and upload each chosen file with the form `fields` (as the Upload
 * page sends them). Resolves to the new recordings' ids ([] when cancelled).
 * Throws Error with a readable message when the server refuses a file (413, 415, 507...).
 */
export async function chooseAndUpload(fields) {
  const api = requireBridge();
  try {
    const ids = await api.open_files(fields || {});
    return Array.isArray(ids) ? ids.map(Number) : [];
  } catch (err) {
    throw new Error(bridgeErrorMessage(err));
  }
}

/**
 * Open the native save dialog and write the transcript of recording `id` as `format` (txt, srt, vtt,
 * json) there. Resolves to the path written, or null when cancelled. Throws Error with a readable message.
 */
export async function saveExport(id, format) {
  const api = requireBridge();
  try {
    const path = await api.save_export(Number(id), format);
    return path ? String(path) : null;
  } catch (err) {
    throw new Error(bridgeErrorMessage(err));
  }
}
