// The speakers panel: each speaker (or channel) in its colour with its talk time, renamed inline (names
// apply to every version) and merged into another speaker (a new version, timestamps kept); a speaker named
// from a voice profile shows the match's confidence.

import { formatDuration, notify, speakerClass } from "../util.js";

const { reactive } = Vue;

export const SpeakerNames = {
  props: { transcript: { type: Object, required: true } },
  emits: ["close"],
  setup(props, { emit }) {
    const state = reactive({ saving: false, error: "", merge: {} });
    async function save() {
      state.saving = true;
      state.error = "";
      try {
        await props.transcript.saveSpeakers();
        notify("Speaker names saved.");
        emit("close");
      } catch (err) {
        state.error = err.message;
      } finally {
        state.saving = false;
      }
    }
    async function merge(source) {
      const into = state.merge[source];
      if (!into) return;
      state.saving = true;
      state.error = "";
      try {
        await props.transcript.mergeSpeakers(source, into);
        notify(`Merged ${props.transcript.speakerNames[source] || source} into ${props.transcript.speakerNames[into] || into}: a new transcript version.`);
        delete state.merge[source];
      } catch (err) {
        state.error = err.message;
      } finally {
        state.saving = false;
      }
    }
    const colour = (l) => speakerClass(props.transcript.speakers.indexOf(l));
    const talkOf = (l) => formatDuration(props.transcript.talk[l] || 0);
    /** The voice profile that named ``l``, while ``l`` still has that name. */
    const matchOf = (l) => {
      const m = props.transcript.profileMatches[l];
      return m && props.transcript.speakerNames[l] === m.name ? m : null;
    };
    return { state, save, merge, colour, talkOf, matchOf };
  },
  template: `
    <form id="speakers-form" class="speakers-form" @submit.prevent="save" data-testid="speakers-form">
      <div class="field speaker-row" v-for="l in transcript.labels" :key="l" data-testid="speaker-row" :data-label="l">
        <div>
          <label :for="'spk-' + l">Name for <span :class="colour(l)">“{{ l }}”</span>
            <span v-if="transcript.speakers.includes(l)" class="talk muted" data-testid="talk-time"> · talks {{ talkOf(l) }}</span>
            <span v-if="matchOf(l)" class="muted small" data-testid="profile-match"
              :title="'Cosine similarity to the voice profile ' + matchOf(l).name"> · voice profile match {{ matchOf(l).confidence.toFixed(2) }}</span></label>
          <input :id="'spk-' + l" type="text" v-model="transcript.speakerNames[l]" autocomplete="off" :data-testid="'speaker-' + l">
        </div>
        <template v-if="transcript.speakers.includes(l) && transcript.speakers.length > 1">
          <div>
            <label :for="'merge-' + l" class="small">Same person as</label>
            <select :id="'merge-' + l" v-model="state.merge[l]" :data-testid="'merge-into-' + l">
              <option value="">—</option>
              <option v-for="o in transcript.speakers.filter((x) => x !== l)" :key="o" :value="o">{{ transcript.speakerNames[o] || o }}</option>
            </select>
          </div>
          <button type="button" class="btn btn-small" :disabled="state.saving || !state.merge[l]" @click="merge(l)" :data-testid="'merge-' + l">Merge</button>
        </template>
      </div>
      <p v-if="state.error" class="error" role="alert">{{ state.error }}</p>
      <div class="button-row">
        <button type="submit" class="btn btn-primary btn-small" :disabled="state.saving">Save names</button>
        <button type="button" class="btn btn-small" @click="$emit('close')">Close</button>
      </div>
    </form>`,
};
