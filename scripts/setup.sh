#!/bin/sh
# Installs every Debian package agentline's build, run and tests need.
# Idempotent: does nothing (and needs no network) when all are present.
set -e
PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev
 flite1-dev libespeak-ng-dev espeak-ng-data libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us
 libre-dev librem-dev libspandsp-dev libspeexdsp-dev libopus-dev libssl-dev
 python3 sip-tester baresip-core kamailio kamailio-tls-modules
 sox libsox-fmt-all openssl tshark iproute2 procps"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
		|| missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
