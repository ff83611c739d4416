#!/usr/bin/env bash
# Installs what building, running and testing Parley needs, from Debian 12's
# archive and (for the API spec linter) the npm registry. Idempotent: when
# everything is present it only checks, in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsodium-dev libsqlite3-dev libspdlog-dev libfmt-dev libcli11-dev
  libtomlplusplus-dev prometheus-cpp-dev libssl-dev libgtest-dev
  libqrencode-dev oathtool openssl python3 testssl.sh
  libvips-dev libmagic-dev zlib1g-dev
  sqlite3
  nodejs npm curl
  clang libfuzzer-14-dev
  libncurses-dev libnotify-dev libglib2.0-dev
  tmux dbus dunst xvfb xauth libglib2.0-bin
)

missing=()
for package in "${packages[@]}"; do
  # npm and nodejs may come from elsewhere (e.g. a newer Node.js install).
  if [[ $package == nodejs ]] && command -v node >/dev/null; then continue; fi
  if [[ $package == npm ]] && command -v npm >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The OpenAPI linter used by the tests; reinstalled only when the lock changes.
lint_dir=tests/openapi
if [[ -f $lint_dir/package-lock.json ]]; then
  stamp=$lint_dir/node_modules/.parley-lock
  if [[ ! -f $stamp ]] || ! cmp -s "$lint_dir/package-lock.json" "$stamp"; then
    echo "install-deps: npm ci in $lint_dir"
    (cd "$lint_dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$lint_dir/package-lock.json" "$stamp"
  fi
fi
