# Puts the project's Node (≥ 22) first on PATH and installs the npm dependencies when they are
# missing or older than package-lock.json. Meant to be sourced (no `set -e`: it would leak into
# the caller); returns non-zero on failure.
#
# The machine may only have Node 20; the npm package node-linux-<arch> is a plain Node binary with
# no install script, so it can be fetched from the npm registry into the cache.

CAUSERIE_NODE_VERSION="${CAUSERIE_NODE_VERSION:-22.23.3}"
CAUSERIE_CACHE="${CAUSERIE_CACHE:-$HOME/.cache/causerie}"

causerie_node_env() {
  local root arch dir bin
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "causerie: unsupported CPU architecture $(uname -m)" >&2; return 1 ;;
  esac
  dir="$CAUSERIE_CACHE/node-$CAUSERIE_NODE_VERSION"
  bin="$dir/node_modules/.bin"
  if [ ! -x "$bin/node" ]; then
    echo "causerie: installing Node $CAUSERIE_NODE_VERSION into $dir" >&2
    mkdir -p "$dir" || return 1
    npm install --prefix "$dir" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
      --loglevel=error "node-linux-$arch@$CAUSERIE_NODE_VERSION" >&2 || {
      echo "causerie: could not install Node $CAUSERIE_NODE_VERSION from the npm registry" >&2
      return 1
    }
  fi
  case ":$PATH:" in
    *":$bin:"*) ;;
    *) PATH="$bin:$PATH" ;;
  esac
  export PATH
  # npm is a script run by the first `node` on PATH, so from here on it runs on Node 22 too.
  if [ ! -f "$root/node_modules/.package-lock.json" ] ||
    [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    echo "causerie: installing npm dependencies (npm ci)" >&2
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >&2) || {
      echo "causerie: npm ci failed" >&2
      return 1
    }
  fi
  PATH="$root/node_modules/.bin:$PATH"
  export PATH
}

causerie_node_env
