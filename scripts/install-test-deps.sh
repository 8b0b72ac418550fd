#!/usr/bin/env bash
# Installs the Debian packages the tests use, with apt-get, only when missing.
# The list is scripts/apt-packages.txt. Postfix is preseeded to "No
# configuration", so no system-wide Postfix is configured or started: the
# tests run private instances on high ports.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
while read -r pkg _; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done < scripts/apt-packages.txt
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
