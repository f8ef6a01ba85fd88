// Original against the latest version of the transcript, word by word.

import { formatTimestamp, wordDiff } from "../util.js";

const { ref, computed } = Vue;

export const TranscriptDiff = {
  props: {
    transcript: { type: Object, required: true },
    playback: { type: Object, required: true },
  },
  setup(props) {
    const onlyChanged = ref(false);
    const all = computed(() => (props.transcript.diff && props.transcript.diff.segments) || []);
    const rows = computed(() => {
      const list = all.value.map((s) => ({
        ...s,
        parts: s.changed ? wordDiff(s.original || "", s.corrected || "") : null,
      }));
      return onlyChanged.value ? list.filter((r) => r.changed) : list;
    });
    const changedCount = computed(() => all.value.filter((s) => s.changed).length);
    return { onlyChanged, rows, changedCount, formatTimestamp };
  },
  template: `
    <div class="diff-head">
      <p class="small muted" data-testid="diff-summary">{{ changedCount }} segment{{ changedCount === 1 ? '' : 's' }} changed from the original to the latest version.
        <span class="legend"><del>removed</del> <ins>added</ins></span></p>
      <span class="check">
        <input id="diff-only" type="checkbox" v-model="onlyChanged">
        <label for="diff-only">Only changed segments</label>
      </span>
    </div>
    <ol class="segments diff" data-testid="diff">
      <li v-for="row in rows" :key="row.index" class="segment-row" :class="{ changed: row.changed }" data-testid="diff-segment" :data-changed="row.changed ? 'true' : 'false'">
        <button type="button" class="segment" @click="playback.seek(row.start)" :aria-label="'Play from ' + formatTimestamp(row.start)">
          <span class="ts">{{ formatTimestamp(row.start) }}</span>
          <span class="text" v-if="row.parts"><template v-for="(p, k) in row.parts" :key="k">{{ k ? ' ' : '' }}<del v-if="p.type === 'del'" data-testid="diff-del">{{ p.text }}</del><ins v-else-if="p.type === 'ins'" data-testid="diff-ins">{{ p.text }}</ins><span v-else>{{ p.text }}</span></template></span>
          <span class="text" v-else>{{ row.corrected ?? row.original }}</span>
        </button>
      </li>
    </ol>`,
};
