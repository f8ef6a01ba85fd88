// Files dropped anywhere on the window are uploaded by the Upload page (its queue, options, progress and
// errors): a drop on another page opens the Upload page and hands the files to it. Only drags that carry
// files are taken; dragged text and links keep the browser's own behaviour (inputs still accept them).

import { navigate, route } from "./util.js";

const { reactive } = Vue;

/** active: files are being dragged over the window (the overlay shows). */
export const windowDrag = reactive({ active: false });

let receiver = null; // the mounted Upload page's addFiles
let pending = []; // files dropped before it was mounted
let depth = 0; // dragenter/dragleave pairs: the drag has left the window when it returns to 0

function carriesFiles(ev) {
  const types = ev.dataTransfer && ev.dataTransfer.types;
  return !!types && Array.from(types).includes("Files");
}

/** The Upload page registers the function that enqueues files; it gets any files dropped meanwhile. */
export function receiveDroppedFiles(fn) {
  receiver = fn;
  if (pending.length) {
    const files = pending;
    pending = [];
    fn(files);
  }
  return () => {
    if (receiver === fn) receiver = null;
  };
}

function deliver(files) {
  if (!files.length) return;
  if (receiver && route.name === "upload") {
    receiver(files);
    return;
  }
  pending.push(...files);
  navigate("/upload");
}

function reset() {
  depth = 0;
  windowDrag.active = false;
}

/** Listen on the window for file drags (once, at start-up). */
export function startWindowDrop() {
  window.addEventListener("dragenter", (ev) => {
    if (!carriesFiles(ev)) return;
    ev.preventDefault();
    depth += 1;
    windowDrag.active = true;
  });
  window.addEventListener("dragover", (ev) => {
    if (!carriesFiles(ev)) return;
    ev.preventDefault(); // allows the drop (the browser would otherwise open the file)
    ev.dataTransfer.dropEffect = "copy";
    windowDrag.active = true;
  });
  window.addEventListener("dragleave", (ev) => {
    if (!carriesFiles(ev)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) windowDrag.active = false;
  });
  window.addEventListener("drop", (ev) => {
    if (!carriesFiles(ev)) return;
    ev.preventDefault();
    reset();
    deliver(Array.from(ev.dataTransfer.files || []));
  });
  window.addEventListener("dragend", reset);
}
