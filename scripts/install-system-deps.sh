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
