#!/usr/bin/env bash
# warmbox set-up for a fresh Debian machine (`npm run setup`): the system packages, the native
# launcher, the hello-world program, the TypeScript build, the built-in images, and `warmbox` on PATH.
# Idempotent: each step checks first, so a second run is quick and changes nothing.
# Runs as root, or as a user with sudo for the steps that need root.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
WARMBOX_DATA=${WARMBOX_DATA:-/var/lib/warmbox}
BIN_LINK=/usr/local/bin/warmbox
CLI="$ROOT/dist/cli/main.js"
BUILD_STAMP="$ROOT/dist/.setup-build-stamp"

# Runtime: redis-server (private Redis), busybox-static (busybox image), libseccomp-dev gcc make
# libc6-dev (launcher, hello), attr (setfattr: opaque whiteouts); zstd (zstd layers in tests). Tests and benchmarks: runc, skopeo,
# umoci, docker-registry (a real OCI registry on loopback), apache2-utils (htpasswd -B for the
# registry with basic auth), iproute2. Language images (images/image-recipes.ts): debootstrap.
# Network `bridge` (runtime/sandbox-network.ts): iproute2 (`ip`), nftables (`nft`: its own table per worker).
# postgresql: the db of several processes or hosts (WARMBOX_DATABASE_URL); the tests start servers of their
# own from its binaries (test/helpers/postgres.ts).
PACKAGES=(redis-server busybox-static libseccomp-dev gcc make libc6-dev attr zstd
          runc skopeo umoci docker-registry apache2-utils iproute2 nftables debootstrap postgresql)

step() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Runs a command (in a subshell, so that a `die` inside is reported too) with its output kept in a
# log, shown only when it fails.
quietly() {
  local log
  log=$(mktemp)
  if ! ( "$@" ) >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "failed: $*"
  fi
  rm -f "$log"
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "this step needs root: run as root, or install sudo ($*)"
  fi
}

is_installed() {
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

# 1. System packages: apt-get only for what is missing (mirrors come from the machine's apt config).
command -v dpkg-query >/dev/null || die "this set-up is for Debian (no dpkg-query found)"
missing=()
for pkg in "${PACKAGES[@]}"; do is_installed "$pkg" || missing+=("$pkg"); done
if ((${#missing[@]})); then
  # Debian's postgresql would create a cluster and start it on port 5432: warmbox uses only the
  # binaries (its tests start private servers), so no cluster is made.
  if ! is_installed postgresql; then
    as_root mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' | as_root tee /etc/postgresql-common/createcluster.d/warmbox-no-main-cluster.conf >/dev/null
  fi
  step "installing ${missing[*]}"
  quietly as_root apt-get update
  quietly as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
  step "system packages present"
fi

# 2. Node and the npm dependencies.
command -v node >/dev/null || die "node is not installed (warmbox needs Node >= 20)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "node $(node --version) is too old: warmbox needs Node >= 20"
# npm rewrites node_modules/.package-lock.json at every install: it dates what node_modules holds.
INSTALLED_LOCK=node_modules/.package-lock.json
if [[ ! -f "$INSTALLED_LOCK" ]] || [[ package-lock.json -nt "$INSTALLED_LOCK" ]]; then
  # `npm ci`: exactly what the tracked lock says, and the lock is never rewritten. The lock lists
  # every platform's optional packages (test/infra/package-lock.test.ts checks it), so npm ci
  # accepts it on any platform; after a change to package.json, run `npm install` first.
  step "npm ci"
  quietly npm ci --no-audit --no-fund
  touch "$INSTALLED_LOCK"
else
  step "node_modules up to date"
fi

# 3. The native launcher (runtime/native/Makefile) and the hello-world program.
if [[ -f runtime/native/Makefile ]]; then
  step "building runtime/native"
  quietly make -C runtime/native
else
  step "runtime/native/Makefile not there yet: skipping the launcher"
fi
step "building infra/images/hello-world"
quietly make -C infra/images/hello-world

# 4. The TypeScript build, when a source is newer than the last one.
newer=""
if [[ -f "$BUILD_STAMP" ]]; then
  newer=$(find contract queue api worker runtime images db server cli test bench package.json package-lock.json tsconfig.json \
    -newer "$BUILD_STAMP" \( -name '*.ts' -o -name '*.json' \) -not -path '*/node_modules/*' -print -quit 2>/dev/null || true)
fi
if [[ ! -f "$BUILD_STAMP" || -n "$newer" ]]; then
  step "npm run build"
  quietly npm run build
  touch "$BUILD_STAMP"
else
  step "dist up to date"
fi

# 5. The built-in images (busybox, hello-world) in the snapshot store, written by the server's
#    code (the CLI speaks to the API only).
BUILTIN_IMAGES="$ROOT/dist/server/setup-builtin-images.js"
if [[ -f "$BUILTIN_IMAGES" ]]; then
  step "built-in images in $WARMBOX_DATA/store"
  quietly as_root env WARMBOX_DATA="$WARMBOX_DATA" "$(command -v node)" "$BUILTIN_IMAGES"
else
  step "dist/server/setup-builtin-images.js not there yet: skipping the built-in images"
fi

# 6. `warmbox` on PATH.
if [[ ! -f "$CLI" ]]; then
  step "dist/cli/main.js not there yet: not linking $BIN_LINK"
elif [[ $(readlink "$BIN_LINK" 2>/dev/null || true) == "$CLI" ]]; then
  step "$BIN_LINK present"
else
  step "linking $BIN_LINK -> $CLI"
  as_root ln -sfn "$CLI" "$BIN_LINK"
fi

step "done"
