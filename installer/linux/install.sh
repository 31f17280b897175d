#!/bin/sh
# Silent install of the mamori agent on a Debian/Ubuntu PC (for sites that push a script rather
# than a package). Never prompts; exit status 0 = installed and configured (enrolled, or to be
# enrolled by the agent once the collector can be reached), non-zero = not installed, reason printed.
#
#   sudo ./install.sh --collector wss://collector.example.lg.jp:8470/agent --ca-pin AB:CD:… \
#        --token-file /root/mamori-token [--segment mynumber|lgwan|internet] [--package ./mamori-agent_0.1.0_amd64.deb]
#
# A first install needs --collector, --ca-pin and a token; --token-file (a 0600 file) keeps the
# token out of the process list and out of sudo's log, --token TOKEN is accepted too.
# Without --package the newest mamori-agent_*_amd64.deb next to this script is used.
set -eu

usage() {
	echo "usage: $0 --collector URL --ca-pin SHA256 (--token-file FILE | --token TOKEN) [--segment S] [--package FILE.deb]" >&2
	exit 2
}

COLLECTOR="" TOKEN="" TOKEN_FILE="" CA_PIN="" SEGMENT="" PACKAGE=""
while [ $# -gt 0 ]; do
	case "$1" in
	--collector) [ $# -ge 2 ] || usage; COLLECTOR=$2; shift 2 ;;
	--token) [ $# -ge 2 ] || usage; TOKEN=$2; shift 2 ;;
	--token-file) [ $# -ge 2 ] || usage; TOKEN_FILE=$2; shift 2 ;;
	--ca-pin) [ $# -ge 2 ] || usage; CA_PIN=$2; shift 2 ;;
	--segment) [ $# -ge 2 ] || usage; SEGMENT=$2; shift 2 ;;
	--package) [ $# -ge 2 ] || usage; PACKAGE=$2; shift 2 ;;
	-h | --help) usage ;;
	*) echo "$0: unknown option $1" >&2; usage ;;
	esac
done

if [ "$(id -u)" != 0 ]; then
	echo "$0: 管理者 (root) として実行してください / run as root" >&2
	exit 1
fi
if [ ! -e /etc/mamori/agent.yml ]; then
	# First install: the package's preinst would refuse it as well, this only says it earlier.
	[ -n "$COLLECTOR" ] || { echo "$0: --collector is required for a first install" >&2; usage; }
	[ -n "$CA_PIN" ] || { echo "$0: --ca-pin is required for a first install (printed by \`mamori collector init\`)" >&2; usage; }
	[ -n "$TOKEN$TOKEN_FILE" ] || { echo "$0: --token-file (or --token) is required for a first install" >&2; usage; }
fi
if [ -n "$TOKEN_FILE" ]; then
	[ -r "$TOKEN_FILE" ] || { echo "$0: --token-file $TOKEN_FILE: cannot read" >&2; exit 1; }
	case "$TOKEN_FILE" in /*) ;; *) TOKEN_FILE="$(pwd)/$TOKEN_FILE" ;; esac
fi
if [ -z "$PACKAGE" ]; then
	PACKAGE=$(ls -1 "$(dirname "$0")"/mamori-agent_*_amd64.deb 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$PACKAGE" ] || [ ! -f "$PACKAGE" ]; then
	echo "$0: package not found (give --package FILE.deb)" >&2
	exit 1
fi
case "$PACKAGE" in /*) ;; *) PACKAGE="$(pwd)/$PACKAGE" ;; esac

# apt-get resolves the package's few dependencies (libc6, libstdc++6) from the PC's sources.
export DEBIAN_FRONTEND=noninteractive MAMORI_COLLECTOR="$COLLECTOR" MAMORI_TOKEN="$TOKEN" MAMORI_TOKEN_FILE="$TOKEN_FILE" MAMORI_CA_PIN="$CA_PIN" MAMORI_SEGMENT="$SEGMENT"
# A refused token or a wrong pin stops the install in the package's preinst (nothing installed,
# apt keeps working; apt-get exits non-zero and this script with it), the reason printed in Japanese.
apt-get install -y -q -o Dpkg::Options::=--force-confold "$PACKAGE"
version=$(dpkg-query -W -f='${Version}' mamori-agent)
if [ -e /var/lib/mamori/identity.json ]; then
	echo "mamori agent installed and enrolled / インストール完了 (収集サーバーに登録済み): $version"
elif grep -q '"kind": "\(refused\|pin\)"' /var/lib/mamori.enrollment.json 2>/dev/null; then
	# Refused after unpacking (no openssl for the check before it, or a one-time token used by another PC meanwhile).
	echo "$0: 登録できませんでした: $(sed -n 's/^ *"reason": "\(.*\)",$/\1/p' /var/lib/mamori.enrollment.json)" >&2
	echo "  the package is installed but not configured; run install.sh again with a valid token" >&2
	exit 1
else
	echo "mamori agent installed / インストール完了: $version (収集サーバーに接続できないため未登録。接続できるようになると自動で登録します / not enrolled yet: the collector is not reachable)"
fi
