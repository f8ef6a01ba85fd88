// Live task updates with the polling fallback, written once for every page.
//
// While the /events stream is open, a page hears each task change from it and asks the server again
// only once per (re)connection (a snapshot of what it may have missed). While the stream is down it
// asks every `intervalMs`; a stream still connecting when the page starts gets `graceMs` first.

import { onTaskEvent, stream as appStream } from "../api.js";

const { ref, computed, watch, getCurrentScope, onScopeDispose } = Vue;

export const FALLBACK_MS = 5000;
export const GRACE_MS = 2000;

/**
 * onTask(task): each task the stream sends.
 * refresh(reason): ask the server; reason "open" (the stream (re)connected, or it is open at the start
 *   and refreshOnStart is set) or "poll" (the stream is down).
 * when(): polling asks only while this is true (e.g. while a recording has tasks in progress).
 * stream, subscribe and timers stand in for the app's stream, onTaskEvent and the window's timers (tests).
 * Returns {live, polling, stop}; stop() also runs when the calling component's scope ends.
 */
export function useLiveTasks({
  onTask = null,
  refresh = null,
  when = () => true,
  intervalMs = FALLBACK_MS,
  graceMs = GRACE_MS,
  refreshOnStart = true,
  stream = appStream,
  subscribe = onTaskEvent,
  timers = globalThis,
} = {}) {
  const polling = ref(false);
  let pollTimer = null;
  let graceTimer = null;
  let stopped = false;

  function run(reason) {
    if (stopped || !refresh) return;
    try {
      const p = refresh(reason);
      if (p && typeof p.catch === "function") p.catch(() => {});
    } catch (err) {
      console.warn("live refresh failed", err);
    }
  }

  function clearGrace() {
    if (graceTimer !== null) timers.clearTimeout(graceTimer);
    graceTimer = null;
  }

  function startPolling() {
    clearGrace();
    if (stopped || pollTimer !== null) return;
    polling.value = true;
    if (when()) run("poll");
    pollTimer = timers.setInterval(() => {
      if (stream.state !== "open" && when()) run("poll");
    }, intervalMs);
  }

  function stopPolling() {
    clearGrace();
    if (pollTimer !== null) timers.clearInterval(pollTimer);
    pollTimer = null;
    polling.value = false;
  }

  const unsubscribe = onTask ? subscribe(onTask) : null;
  // Synchronous watchers: the stream sets state, then opens; each change is seen once, in order.
  const stopState = watch(
    () => stream.state,
    (state, old) => {
      if (state === "open") stopPolling();
      else if (old === "open" || state === "down") startPolling();
    },
    { flush: "sync" },
  );
  const stopOpens = watch(
    () => stream.opens,
    () => {
      stopPolling();
      run("open");
    },
    { flush: "sync" },
  );

  if (stream.state === "open") {
    if (refreshOnStart) run("open");
  } else if (stream.state === "down") {
    startPolling();
  } else {
    graceTimer = timers.setTimeout(() => {
      graceTimer = null;
      if (stream.state !== "open") startPolling();
    }, graceMs);
  }

  function stop() {
    if (stopped) return;
    stopPolling();
    stopped = true;
    stopState();
    stopOpens();
    if (unsubscribe) unsubscribe();
  }
  if (getCurrentScope()) onScopeDispose(stop);

  return { live: computed(() => stream.state === "open"), polling, stop };
}

/** Calls fn every ms while the calling component lives (e.g. the workers list, which has no stream). */
export function useInterval(fn, ms, { immediate = true, timers = globalThis } = {}) {
  if (immediate) fn();
  const timer = timers.setInterval(fn, ms);
  const stop = () => timers.clearInterval(timer);
  if (getCurrentScope()) onScopeDispose(stop);
  return stop;
}
