// The form that names the transcript's speakers (or channels).

import { notify } from "../util.js";

const { reactive } = Vue;

export const SpeakerNames = {
  props: { transcript: { type: Object, required: true } },
  emits: ["close"],
  setup(props, { emit }) {
    const state = reactive({ saving: false, error: "" });
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
    return { state, save };
  },
  template: `
    <form id="speakers-form" class="speakers-form" @submit.prevent="save" data-testid="speakers-form">
      <div class="field" v-for="l in transcript.labels" :key="l">
        <label :for="'spk-' + l">Name for “{{ l }}”</label>
        <input :id="'spk-' + l" type="text" v-model="transcript.speakerNames[l]" autocomplete="off" :data-testid="'speaker-' + l">
      </div>
      <p v-if="state.error" class="error" role="alert">{{ state.error }}</p>
      <div class="button-row">
        <button type="submit" class="btn btn-primary btn-small" :disabled="state.saving">Save names</button>
        <button type="button" class="btn btn-small" @click="$emit('close')">Close</button>
      </div>
    </form>`,
};
