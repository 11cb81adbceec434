#!/bin/sh
# Installs every Debian package agentline's build, run and tests need.
# Idempotent: does nothing (and needs no network) when all are present.
set -e
PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev
 flite1-dev libespeak-ng-dev espeak-ng-data libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us
 libre-dev librem-dev libspandsp-dev libspeexdsp-dev libopus-dev libssl-dev libsqlite3-dev sqlite3
 python3 sip-tester baresip-core kamailio kamailio-tls-modules
 kamailio-websocket-modules coturn
 sox libsox-fmt-all openssl tshark iproute2 procps flite
 chromium"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
		|| missing="$missing $p"
done
if [ -n "$missing" ]; then
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# ------------------------------------------------------------------------
# Speech deps from npm (no headers, loaded with dlopen at run time), into
# deps/ of the repo (gitignored). Idempotent: skipped when present.
#   deps/sherpa-onnx/libsherpa-onnx-c-api.so + libonnxruntime.so (1.13.8)
#   deps/silero/silero_vad.onnx (Silero VAD v5)
# A failed download leaves the energy VAD in use (vad = auto); it does not
# fail the setup.
DEPS="$(cd "$(dirname "$0")/.." && pwd)/deps"
SHERPA_PKG=sherpa-onnx-linux-x64@1.13.8
SILERO_PKG=@livekit/agents-plugin-silero@1.9.0
npm_fetch() { # npm_fetch PKG DESTDIR FILE... : unpack FILEs of PKG
	pkg=$1; dest=$2; shift 2
	tmp=$(mktemp -d)
	if (cd "$tmp" && npm pack --silent "$pkg" >/dev/null 2>&1) &&
	   tar -xzf "$tmp"/*.tgz -C "$tmp"; then
		mkdir -p "$dest"
		for f in "$@"; do
			cp "$tmp/package/$f" "$dest/" || { rm -rf "$tmp"; return 1; }
		done
		echo "setup: fetched $pkg into $dest"
	else
		echo "setup: could not fetch $pkg (npm); Silero VAD unavailable"
	fi
	rm -rf "$tmp"
}
if command -v npm >/dev/null 2>&1; then
	[ -f "$DEPS/sherpa-onnx/libsherpa-onnx-c-api.so" ] &&
	[ -f "$DEPS/sherpa-onnx/libonnxruntime.so" ] ||
		npm_fetch "$SHERPA_PKG" "$DEPS/sherpa-onnx" \
			libsherpa-onnx-c-api.so libonnxruntime.so || true
	[ -f "$DEPS/silero/silero_vad.onnx" ] ||
		npm_fetch "$SILERO_PKG" "$DEPS/silero" \
			dist/silero_vad.onnx || true
else
	echo "setup: npm not found; Silero VAD unavailable (energy VAD used)"
fi

# playwright-core (no dependencies) drives Debian's chromium in the control
# centre test (test/integ/test_ui.py): the whole package into
# deps/playwright-core.
PLAYWRIGHT_PKG=playwright-core@1.65.1
if command -v npm >/dev/null 2>&1 &&
   [ ! -f "$DEPS/playwright-core/package.json" ]; then
	tmp=$(mktemp -d)
	if (cd "$tmp" && npm pack --silent "$PLAYWRIGHT_PKG" >/dev/null 2>&1) &&
	   tar -xzf "$tmp"/*.tgz -C "$tmp"; then
		rm -rf "$DEPS/playwright-core"
		mkdir -p "$DEPS"
		mv "$tmp/package" "$DEPS/playwright-core"
		echo "setup: fetched $PLAYWRIGHT_PKG into $DEPS/playwright-core"
	else
		echo "setup: could not fetch $PLAYWRIGHT_PKG (npm); the control" \
			"centre test will skip"
	fi
	rm -rf "$tmp"
fi
