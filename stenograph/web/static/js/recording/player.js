// The recording's media player (audio, or video when the file has a picture); it reports its position
// to the shared playback state.

import { endpoints } from "../endpoints.js";

export const RecordingPlayer = {
  props: {
    recording: { type: Object, required: true },
    playback: { type: Object, required: true },
  },
  setup(props) {
    const src = endpoints.recordingMedia(props.recording.id);
    const hasVideo = () => !!(props.recording.rec.media && props.recording.rec.media.has_video);
    const bind = (el) => props.playback.attach(el);
    return { src, hasVideo, bind, update: () => props.playback.update() };
  },
  template: `
    <div class="player-wrap">
      <video v-if="hasVideo()" :ref="bind" class="player" controls preload="metadata" playsinline
             :src="src" data-testid="player" @timeupdate="update" @seeked="update"></video>
      <audio v-else :ref="bind" class="player" controls preload="metadata"
             :src="src" data-testid="player" @timeupdate="update" @seeked="update"></audio>
    </div>`,
};
