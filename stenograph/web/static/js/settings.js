// Settings page: which language model the correction and summary steps use (with a plain warning when
// transcript text would leave this machine), the global glossary (PUT /glossary), voice profiles and webhooks.

import { api, endpoints } from "./api.js";
import { notify } from "./util.js";
import { ProfilesSection } from "./profiles.js";
import { WebhooksSection } from "./webhooks.js";
import { WatchFoldersSection } from "./watch.js";

const { ref, onMounted } = Vue;

export const SettingsPage = {
  components: { ProfilesSection, WebhooksSection, WatchFoldersSection },
  setup() {
    const llm = ref(null);
    const llmError = ref("");
    const glossaryText = ref("");
    const fromSettings = ref([]);
    const saving = ref(false);
    const loaded = ref(false); // the glossary is not editable until it has loaded, so a load never overwrites an edit

    async function load() {
      try {
        llm.value = await api(endpoints.llmSettings());
      } catch (err) {
        llmError.value = err.message || String(err);
      }
      try {
        const glossary = await api(endpoints.glossary());
        glossaryText.value = glossary.terms.join("\n");
        fromSettings.value = glossary.from_settings || [];
        loaded.value = true;
      } catch (err) {
        notify(`Could not load the glossary: ${err.message || String(err)}`, "error");
      }
    }

    async function saveGlossary() {
      saving.value = true;
      try {
        const terms = glossaryText.value.split(/[\n,]/).map((t) => t.trim()).filter(Boolean);
        const saved = await api(endpoints.glossary(), { method: "PUT", body: { terms } });
        glossaryText.value = saved.terms.join("\n");
        notify(`Glossary saved: ${saved.terms.length} term(s).`, "success");
      } catch (err) {
        notify(err.message || String(err), "error");
      } finally {
        saving.value = false;
      }
    }

    onMounted(load);
    return { llm, llmError, glossaryText, fromSettings, saving, loaded, saveGlossary };
  },
  template: `
  <div class="page" data-testid="page-settings">
    <h1 tabindex="-1">Settings</h1>
    <section class="card" aria-labelledby="llm-heading">
      <h2 id="llm-heading">Language model</h2>
      <p v-if="llmError" class="error" role="alert">{{ llmError }}</p>
      <template v-else-if="llm">
        <p data-testid="llm-kind">
          <strong>{{ llm.kind === 'none' ? 'None' : llm.kind }}</strong>
          <span v-if="llm.model"> · {{ llm.model }}</span>
          <span v-if="llm.endpoint" class="muted"> · {{ llm.endpoint }}</span>
        </p>
        <p class="muted small">{{ llm.reason }}</p>
        <p v-if="llm.kind === 'none'" class="small">
          Without a language model, correction applies the glossary below and summaries are extractive.
        </p>
        <p v-if="llm.warning" class="banner banner-warning" role="note" data-testid="settings-llm-warning">{{ llm.warning }}</p>
        <p v-else-if="llm.kind !== 'none'" class="small" data-testid="settings-llm-local">Transcripts stay on this machine.</p>
      </template>
      <p v-else class="muted">Loading…</p>
    </section>
    <section class="card" aria-labelledby="glossary-heading">
      <h2 id="glossary-heading">Glossary</h2>
      <p class="small">Names and terms, one per line: Whisper favours them, and correction fixes near-misses.</p>
      <label for="glossary-terms">Terms</label>
      <textarea id="glossary-terms" rows="6" v-model="glossaryText" :disabled="!loaded" data-testid="glossary-terms"></textarea>
      <p v-if="fromSettings.length" class="muted small">Also from STENOGRAPH_GLOSSARY: {{ fromSettings.join(', ') }}</p>
      <p><button type="button" class="btn" :disabled="saving || !loaded" @click="saveGlossary" data-testid="glossary-save">Save glossary</button></p>
    </section>
    <profiles-section></profiles-section>
    <webhooks-section></webhooks-section>
    <watch-folders-section></watch-folders-section>
  </div>`,
};
