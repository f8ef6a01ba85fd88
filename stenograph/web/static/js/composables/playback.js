// The media player's position, shared by the player (which reports it) and the transcript (which
// highlights the segment and the word being played, and seeks when a segment or a word is chosen).

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

/** A token compared without case and punctuation ("The," == "the"), as stenograph/transcript/cues.py. */
function normToken(token) {
  const kept = token.toLowerCase().replace(/[^\p{L}\p{N}]/gu, "");
  return kept || token.toLowerCase();
}

// Scripts written without spaces between words (Han, kana, their full-width punctuation): cut into
// characters and shown without spaces, as stenograph/transcript/cues.py does for the subtitles.
const UNSPACED = /[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uff65]|[\u{20000}-\u{3134f}]/u;

function unspaced(ch) {
  return UNSPACED.test(ch);
}

/** token cut before each unspaced character, punctuation kept with the one before ("预算。" → 预, 算。). */
function unitsOf(token) {
  if (![...token].some(unspaced)) return [token];
  const units = [];
  for (const ch of token) {
    const last = units.length ? units[units.length - 1] : null;
    const glued = last !== null && (/\p{P}/u.test(ch) || (!unspaced(ch) && !unspaced([...last].pop())));
    if (glued) units[units.length - 1] += ch;
    else units.push(ch);
  }
  return units;
}

/** tokens timed over start..end, each in proportion to its characters (plus one for a space when spaced). */
function shareTime(start, end, tokens, spaced = true) {
  const extra = spaced ? 1 : 0;
  const total = tokens.reduce((n, t) => n + t.length + extra, 0) || 1;
  const span = Math.max(0, end - start);
  let at = start;
  return tokens.map((word) => {
    const next = at + (span * (word.length + extra)) / total;
    const timed = { word, start: at, end: next };
    at = next;
    return timed;
  });
}

/** Index pairs [i, j] of a longest common subsequence of a and b (null when too long to compute). */
function commonPairs(a, b) {
  const n = a.length;
  const m = b.length;
  if (n * m > 250000) return null;
  const dp = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  }
  const pairs = [];
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (a[i] === b[j]) pairs.push([i++, j++]);
    else if (dp[i + 1][j] >= dp[i][j + 1]) i++;
    else j++;
  }
  return pairs;
}

/**
 * The segment's text tokens, each timed {word, start, end} (seconds) from seg.words after aligning the two
 * (the same rule as the exports, stenograph/transcript/cues.py): matching tokens take their word's time, a
 * run of replaced words shares the run's time, inserted tokens the gap between their neighbours. Without
 * words, the segment's time is shared by characters. Chinese and Japanese are cut into characters (tokens and
 * words alike); each token's `space` is what to show before it ("" next to such a character).
 */
export function timedTokens(seg) {
  const tokens = (seg.text || "").split(/\s+/).filter(Boolean).flatMap(unitsOf);
  const pieces = [];
  for (const w of seg.words || []) {
    const parts = (w.word || "").split(/\s+/).filter(Boolean);
    const timed = parts.length === 1 ? [{ word: parts[0], start: w.start, end: w.end }] : shareTime(w.start, w.end, parts);
    for (const piece of timed) {
      const units = unitsOf(piece.word);
      pieces.push(...(units.length === 1 ? [piece] : shareTime(piece.start, piece.end, units, false)));
    }
  }
  if (!tokens.length) return [];
  const pairs = pieces.length ? commonPairs(pieces.map((p) => normToken(p.word)), tokens.map(normToken)) : null;
  if (!pairs) return shareTime(seg.start, seg.end, tokens);
  const out = [];
  let [pi, pj] = [-1, -1];
  for (const [i, j] of [...pairs, [pieces.length, tokens.length]]) {
    const old = pieces.slice(pi + 1, i);
    const fresh = tokens.slice(pj + 1, j);
    if (fresh.length && old.length === fresh.length) fresh.forEach((word, k) => out.push({ word, start: old[k].start, end: old[k].end }));
    else if (fresh.length && old.length) out.push(...shareTime(old[0].start, old[old.length - 1].end, fresh));
    else if (fresh.length) {
      const before = pi >= 0 ? pieces[pi].end : Math.min(seg.start, pieces[0].start);
      const after = i < pieces.length ? pieces[i].start : Math.max(seg.end, pieces[pieces.length - 1].end);
      out.push(...shareTime(before, Math.max(before, after), fresh));
    }
    if (j < tokens.length) out.push({ word: tokens[j], start: pieces[i].start, end: pieces[i].end });
    [pi, pj] = [i, j];
  }
  for (let k = 1; k < out.length; k++) out[k].start = Math.max(out[k].start, out[k - 1].start);
  // The space shown before each token: none at the start, none next to an unspaced character.
  out.forEach((t, k) => {
    t.space = k > 0 && !unspaced([...out[k - 1].word].pop()) && !unspaced(t.word[0]) ? " " : "";
  });
  return out;
}

/** The index of the word being played at t among timed tokens (-1 before the first). */
export function wordAt(tokens, t) {
  let idx = -1;
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i].start <= t + 0.001) idx = i;
    else break;
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
