// The Settings page's Watched folders section (docs/watch-folders.md): the folders of STENOGRAPH_WATCH_DIRS
// (read only) and those stored here (PUT /watch-folders), each with its own steps, language and template,
// and the files taken from them or skipped.

import { api, endpoints } from "./api.js";
import { notify } from "./util.js";

const { ref, onMounted } = Vue;

function row(folder) {
  return {
    path: folder.path || "",
    steps: (folder.steps || []).join(","),
    language: folder.language || "",
    template: folder.template || "",
  };
}

export const WatchFoldersSection = {
  setup() {
    const folders = ref([]);
    const fromSettings = ref([]);
    const files = ref([]);
    const loaded = ref(false);
    const busy = ref(false);

    function show(answer) {
      folders.value = answer.folders.map(row);
      fromSettings.value = answer.from_settings;
      files.value = answer.files;
    }

    async function load() {
      try {
        show(await api(endpoints.watchFolders()));
        loaded.value = true;
      } catch (err) {
        notify(`Could not load the watched folders: ${err.message || String(err)}`, "error");
      }
    }

    function add() {
      folders.value.push(row({}));
    }

    function remove(index) {
      folders.value.splice(index, 1);
    }

    async function save() {
      busy.value = true;
      try {
        const body = {
          folders: folders.value
            .filter((f) => f.path.trim())
            .map((f) => {
              const folder = { path: f.path.trim() };
              const steps = f.steps.split(",").map((s) => s.trim()).filter(Boolean);
              if (steps.length) folder.steps = steps;
              if (f.language.trim()) folder.language = f.language.trim();
              if (f.template.trim()) folder.template = f.template.trim();
              return folder;
            }),
        };
        show(await api(endpoints.watchFolders(), { method: "PUT", body }));
        notify(`Watched folders saved: ${body.folders.length} folder(s).`, "success");
      } catch (err) {
        notify(err.message || String(err), "error");
      } finally {
        busy.value = false;
      }
    }

    onMounted(load);
    return { folders, fromSettings, files, loaded, busy, add, remove, save };
  },
  template: `
  <section class="card" aria-labelledby="watch-heading" data-testid="watch-section">
    <h2 id="watch-heading">Watched folders</h2>
    <p class="small">New media files in these folders are transcribed once they stop growing; the subtitles,
      text and notes are written beside them (or to STENOGRAPH_EXPORT_DIR).</p>
    <ul v-if="fromSettings.length" class="muted small">
      <li v-for="f in fromSettings" :key="f.path">From STENOGRAPH_WATCH_DIRS: {{ f.path }}</li>
    </ul>
    <div v-for="(f, index) in folders" :key="index" class="watch-folder" data-testid="watch-folder">
      <label :for="'watch-path-' + index">Folder (absolute path)</label>
      <input :id="'watch-path-' + index" v-model="f.path" :disabled="!loaded" data-testid="watch-path">
      <label :for="'watch-steps-' + index">Steps (comma separated; empty: the defaults)</label>
      <input :id="'watch-steps-' + index" v-model="f.steps" :disabled="!loaded" data-testid="watch-steps">
      <label :for="'watch-language-' + index">Language (empty: detected)</label>
      <input :id="'watch-language-' + index" v-model="f.language" :disabled="!loaded" data-testid="watch-language">
      <label :for="'watch-template-' + index">Summary template</label>
      <input :id="'watch-template-' + index" v-model="f.template" :disabled="!loaded" data-testid="watch-template">
      <p><button type="button" class="btn" @click="remove(index)" data-testid="watch-remove">Remove folder</button></p>
    </div>
    <p>
      <button type="button" class="btn" :disabled="!loaded" @click="add" data-testid="watch-add">Add a folder</button>
      <button type="button" class="btn" :disabled="busy || !loaded" @click="save" data-testid="watch-save">Save folders</button>
    </p>
    <details v-if="files.length">
      <summary>Files taken ({{ files.length }})</summary>
      <ul class="small">
        <li v-for="file in files" :key="file.sha256" data-testid="watched-file" :data-status="file.status">
          {{ file.path }} · {{ file.status }}<span v-if="file.recording_id"> · recording {{ file.recording_id }}</span>
          <span v-if="file.reason" class="muted"> · {{ file.reason }}</span>
        </li>
      </ul>
    </details>
  </section>`,
};
