#!/usr/bin/env bash
# Install the Debian packages MediaNest needs when they are missing: exiftool and ffmpeg (the
# media store), Node.js and npm (to build the web app). With --test also Debian's chromium, which
# the browser tests drive through Playwright for Python (it never downloads a browser of its own).
set -euo pipefail
missing=()
command -v exiftool >/dev/null || missing+=(libimage-exiftool-perl)
{ command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; } || missing+=(ffmpeg)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)  # NodeSource's nodejs ships npm itself
if [ "${1:-}" = "--test" ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} ..."
  # another install may hold the dpkg lock for a while: wait for it rather than fail
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    "${missing[@]}" >/dev/null
else
  echo "MediaNest needs: ${missing[*]}. Install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
