// The media player's position, shared by the player (which reports it) and the transcript (which
// highlights the segment being played and seeks when a segment is chosen).

const { reactive, markRaw } = Vue;

/** The index of the segment at time t (-1 before the first); segments are sorted by start. */
export function segmentAt(segments, t) {
  let idx = -1;
  for (let i = 0; i < segments.length; i++) {
    if (segments[i].start <= t + 0.001) idx = i;
    else break;
  }
  if (idx >= 0 && segments[idx].end !== undefined && t > segments[idx].end + 0.5) {
    // In a gap after this segment: keep it highlighted only until the next one.
    if (idx + 1 < segments.length && t >= segments[idx + 1].start) idx += 1;
  }
  return idx;
}

export function usePlayback() {
  const state = reactive({
    el: null,
    /** Seconds, null until the player first reports (no segment is highlighted before). */
    time: null,
    /** The player element (or null when it goes). */
    attach(el) {
      state.el = el ? markRaw(el) : null;
    },
    /** The player moved (timeupdate, seeked). */
    update() {
      if (state.el) state.time = state.el.currentTime;
    },
    playing() {
      return !!state.el && !state.el.paused;
    },
    /** Jump to t seconds and play. */
    seek(t) {
      const el = state.el;
      if (!el) return;
      el.currentTime = t;
      state.time = t;
      const p = el.play();
      if (p && p.catch) p.catch(() => {});
    },
  });
  return state;
}
