#!/usr/bin/env bash
# Install (apt, as root) and start the real services the tests use: one file per service
# in scripts/services.d/, each defining <name>_install and <name>_start. Idempotent.
#   scripts/services.sh            install + start all
#   scripts/services.sh docker     only that one
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
STATE_DIR="${MLOPS_SERVICES_DIR:-/tmp/mlops-services}"
mkdir -p "$STATE_DIR"
export STATE_DIR

apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

services=()
for f in "$here"/services.d/*.sh; do
  [ -e "$f" ] || continue
  # shellcheck source=/dev/null
  . "$f"
  services+=("$(basename "$f" .sh)")
done
wanted=("$@")
[ "${#wanted[@]}" -gt 0 ] || wanted=("${services[@]}")
for name in "${wanted[@]}"; do
  echo "== service: $name"
  "${name}_install"
  "${name}_start"
done
