#!/usr/bin/env bash
# Installs the Debian packages the tests need, when missing: espeak-ng, sox and ffmpeg make test audio,
# Chromium drives the web tests, cmake and g++ build llama.cpp for the embedded LLM, gcc webrtcvad.
set -euo pipefail
need=()
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox libsox-fmt-all)
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v chromium >/dev/null || need+=(chromium)
command -v cmake >/dev/null || need+=(cmake)
command -v g++ >/dev/null || need+=(g++)
# webrtcvad (pulled in by resemblyzer, the diarization extra) is compiled on install: gcc and Python's headers.
command -v gcc >/dev/null || need+=(gcc)
[ -f "$(python3 -c 'import sysconfig; print(sysconfig.get_path("include"))')/Python.h" ] || need+=(python3-dev)
# The desktop app's tests: a virtual screen (Xvfb), screenshots (imagemagick's import), and the libraries Qt
# WebEngine's xcb platform plugin and Chromium load (found with ldd; a desktop Linux already has them).
command -v Xvfb >/dev/null || need+=(xvfb xauth)
command -v import >/dev/null || need+=(imagemagick)
for lib in libnss3 libnspr4 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
  libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxcb-xinerama0 libgl1 libegl1 libgbm1 \
  libxcomposite1 libxdamage1 libxrandr2 libxtst6 libxkbfile1 libasound2 libfontconfig1 libdbus-1-3; do
  dpkg-query -W -f='${Status}' "$lib" 2>/dev/null | grep -q "ok installed" || need+=("$lib")
done
if [ ${#need[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
echo "system packages: installing ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
