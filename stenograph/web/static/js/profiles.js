// The Settings page's Voice profiles section (docs/speaker-profiles.md): the named voices kept to label
// later recordings, each renamed, merged into another or deleted (its voice embeddings with it).

import { api, endpoints } from "./api.js";
import { notify } from "./util.js";

const { ref, onMounted } = Vue;

export const ProfilesSection = {
  setup() {
    const profiles = ref([]);
    const enabled = ref(true);
    const names = ref({}); // profile id -> the name being typed
    const mergeInto = ref({}); // profile id -> the id of the profile to merge it into

    async function load() {
      try {
        const listed = await api(endpoints.speakerProfiles());
        profiles.value = listed.data;
        enabled.value = listed.enabled;
        names.value = Object.fromEntries(listed.data.map((p) => [p.id, p.name]));
      } catch (err) {
        notify(`Could not load the voice profiles: ${err.message || String(err)}`, "error");
      }
    }

    async function act(run, done) {
      try {
        await run();
        notify(done, "success");
        await load();
      } catch (err) {
        notify(err.message || String(err), "error");
      }
    }

    const rename = (p) =>
      act(() => api(endpoints.speakerProfile(p.id), { method: "PATCH", body: { name: names.value[p.id].trim() } }),
        "Profile renamed.");
    const merge = (p) =>
      act(() => api(endpoints.speakerProfileMerge(p.id), { method: "POST", body: { into: Number(mergeInto.value[p.id]) } }),
        "Profiles merged.");
    const remove = (p) =>
      act(() => api(endpoints.speakerProfile(p.id), { method: "DELETE" }), `Profile ${p.name} and its voice deleted.`);

    onMounted(load);
    return { profiles, enabled, names, mergeInto, rename, merge, remove };
  },
  template: `
    <section class="card" aria-labelledby="profiles-heading" data-testid="profiles">
      <h2 id="profiles-heading">Voice profiles</h2>
      <p class="muted small">Naming a speaker keeps their voice, so later recordings name them automatically.</p>
      <p v-if="!enabled" class="banner banner-warning" role="note" data-testid="profiles-off">
        STENOGRAPH_SPEAKER_PROFILES is false: no voice is kept or matched.</p>
      <ul v-if="profiles.length" class="profiles" data-testid="profile-list">
        <li v-for="p in profiles" :key="p.id" data-testid="profile" :data-name="p.name">
          <label :for="'profile-name-' + p.id" class="visually-hidden">Name of {{ p.name }}</label>
          <input :id="'profile-name-' + p.id" v-model="names[p.id]" maxlength="100" data-testid="profile-name">
          <button type="button" class="btn btn-small" data-testid="profile-rename"
            :disabled="!(names[p.id] || '').trim() || names[p.id].trim() === p.name" @click="rename(p)">Rename</button>
          <span class="muted small" data-testid="profile-count">
            {{ p.embeddings }} voice sample(s) from {{ p.recordings }} recording(s)</span>
          <template v-if="profiles.length > 1">
            <label :for="'profile-merge-' + p.id" class="visually-hidden">Merge {{ p.name }} into</label>
            <select :id="'profile-merge-' + p.id" v-model="mergeInto[p.id]" data-testid="profile-merge-into">
              <option :value="undefined" disabled>Merge into…</option>
              <option v-for="o in profiles.filter((o) => o.id !== p.id)" :key="o.id" :value="o.id">{{ o.name }}</option>
            </select>
            <button type="button" class="btn btn-small" data-testid="profile-merge" :disabled="!mergeInto[p.id]"
              @click="merge(p)">Merge</button>
          </template>
          <button type="button" class="btn btn-small btn-danger" data-testid="profile-delete" @click="remove(p)">Delete</button>
        </li>
      </ul>
      <p v-else class="muted" data-testid="profiles-empty">No voice profile yet: rename a speaker on a recording's page.</p>
    </section>
  `,
};
