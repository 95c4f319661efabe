#!/usr/bin/env bash
# Runs the whole Vidimus test suite on a fresh machine.
#
# First it installs what the tests need from Debian (as root, or through sudo):
#   ffmpeg (ffprobe and ffmpeg check every recorded segment), python3-jsonschema (checks
#   the rulebook and the compliance formats against their JSON Schemas), GStreamer's RTSP server
#   with its Python bindings (the third-party RTSP peer), Chromium (the console's
#   browser tests), strace (the durability test traces the order of fsyncs and sends),
#   Go with golang.org/x/mod (an independent implementation of C2SP signed notes that
#   checks our witness format), nasm (OpenH264's assembly in vidimus-codec; without it
#   the build falls back to slower plain C), sip-tester (SIPp: plays the GB/T 28181
#   superior platform in tests/gb28181.rs), gstreamer1.0-libav (GStreamer decodes the RTSP
#   re-stream in tests/restream.rs)
#   and, if missing, Node.js; then the console's npm packages.
# Then: the console's type check and build (which must match the committed web/dist),
# formatting check, clippy with warnings as errors, and every test.
# The tests read the sample clips in ../shared/testdata (beside the project root).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(ffmpeg python3-gi python3-jsonschema gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base
          gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
          gstreamer1.0-libav chromium strace golang-go golang-golang-x-mod-dev nasm sip-tester)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js 20.19+ (for Vite 8): the machine's own if it has one, else Debian's.
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if [ ! -d ../shared/testdata/clips ]; then
  echo "error: the test clips are missing: expected ../shared/testdata/clips beside the project root" >&2
  exit 1
fi

echo "== web console: npm ci, type check, build"
# (npm install, not npm ci: npm 11 omits an optional Windows-only package of Vite from
# the lock file and then refuses `npm ci`.)
(cd web && npm install --no-audit --no-fund --loglevel=error && npm run build --silent)
if [ -d .git ] && ! git diff --quiet -- web/dist; then
  echo "error: web/dist is out of date: commit the output of 'cd web && npm run build'" >&2
  git status --short -- web/dist >&2
  exit 1
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked --all-targets 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One summary line over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
