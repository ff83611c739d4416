#!/usr/bin/env bash
# Installs what building, running and testing Parley needs, from Debian 12's
# archive and (for the web app and the API spec linter) the npm registry. Idempotent: when
# everything is present it only checks, in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsodium-dev libsqlite3-dev libspdlog-dev libfmt-dev libcli11-dev
  libtomlplusplus-dev prometheus-cpp-dev libssl-dev libgtest-dev
  libqrencode-dev oathtool openssl python3 testssl.sh
  libvips-dev libmagic-dev zlib1g-dev libarchive-dev
  sqlite3
  nodejs npm curl
  chromium fonts-dejavu-core fonts-noto-color-emoji
  clang libfuzzer-14-dev
  libncurses-dev libnotify-dev libglib2.0-dev
  tmux dbus dunst xvfb xauth libglib2.0-bin python3-gi
  postgresql-15 libpq-dev
  libhiredis-dev redis-server haproxy
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
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

# The web app's build tools need Node.js 20 or newer (the machine image's
# own; Debian 12's nodejs package is 18).
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
  echo "install-deps: Node.js $(node --version) is too old; the web app needs Node.js 20 or newer" >&2
  exit 1
fi

# npm packages of a folder, exactly as its lock says; reinstalled only when
# the lock changes.
npm_ci() {
  local dir=$1 stamp=$1/node_modules/.parley-lock
  [[ -f $dir/package-lock.json ]] || return 0
  if [[ ! -f $stamp ]] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    echo "install-deps: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$stamp"
  fi
}
npm_ci tests/openapi  # the OpenAPI linter used by the tests
npm_ci tests/push-check  # decrypts and verifies pushes in the push tests
npm_ci web            # the web app's build and test tools
