# scripts/package npm: the npm package (sourced by scripts/package; $profile and $check set).
#
# cargo builds sotto-wasm for wasm32, the pinned wasm-bindgen CLI (wasm/bindgen-runner)
# writes the Node module and its TypeScript types, wasm/npm adds package.json, the entry
# point and the README, and `npm pack` writes target/package/sotto-<version>.tgz.
# With --check, the tarball is installed into a scratch project and wasm/tests/node runs
# there with `node --test` against three local relays.

cargo build -p sotto-wasm-bindgen-runner
build_args=(-p sotto-wasm --target wasm32-unknown-unknown)
[ "$profile" = release ] && build_args+=(--release)
cargo build "${build_args[@]}"
wasm="target/wasm32-unknown-unknown/$profile/sotto_wasm.wasm"

staging="target/package/npm-staging"
rm -rf "$staging"
mkdir -p "$staging/node"
target/debug/wasm-bindgen-run "$wasm" --target nodejs --out-dir "$staging/node"
cp wasm/npm/package.json wasm/npm/README.md "$staging/"
cp LICENSE "$staging/"
cp wasm/npm/index.cjs wasm/npm/index.d.ts "$staging/node/"
raw=$(stat -c %s "$staging/node/sotto_wasm_bg.wasm")
gzipped=$(gzip -9 -c "$staging/node/sotto_wasm_bg.wasm" | wc -c)
echo "npm: sotto_wasm_bg.wasm is $raw bytes ($gzipped gzipped), $profile build"
tarball="$(cd "$staging" && npm pack --silent --pack-destination "$SOTTO_ROOT/target/package")"
echo "npm: target/package/$tarball"

if [ "$check" = true ]; then
  cargo build -p sotto-ffi -p sotto-relay
  scratch="$(mktemp -d "${TMPDIR:-/tmp}/sotto-npm-check.XXXXXX")"
  RELAY_PIDS=()
  cleanup() {
    for pid in "${RELAY_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$scratch"
  }
  trap cleanup EXIT
  (cd "$scratch" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund \
    "$SOTTO_ROOT/target/package/$tarball")
  cp wasm/tests/node/*.test.mjs "$scratch/"
  start_tunnel_relays 3 "$scratch"
  # Node 20 has a WebSocket only behind this flag (Node 22 has it by default).
  (cd "$scratch" && node --experimental-websocket --test --test-reporter=spec ./*.test.mjs)
fi
