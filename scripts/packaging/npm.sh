# scripts/package npm: the npm package (sourced by scripts/package; $profile and $check set).
#
# cargo builds sotto-wasm for wasm32, the pinned wasm-bindgen CLI (wasm/bindgen-runner)
# writes the Node and the browser loader with their TypeScript types, wasm/npm adds
# package.json, the entry points and the README, and `npm pack` writes
# target/package/sotto-<version>.tgz. With --check, the tarball is installed into a scratch
# project, where wasm/tests/node runs with `node --test` and wasm/tests/browser drives two
# pages in Debian's chromium (playwright-core), all against three local relays.

# The wasm-bindgen CLI, a host binary of the workspace's shared build.
build_workspace
# The release package is built for size (the workspace's `wasm-release` profile).
cargo_profile=debug
[ "$profile" = release ] && cargo_profile=wasm-release
cargo build -p sotto-wasm --target wasm32-unknown-unknown --profile "${cargo_profile/debug/dev}"
wasm="target/wasm32-unknown-unknown/$cargo_profile/sotto_wasm.wasm"

staging="target/package/npm-staging"
rm -rf "$staging"
mkdir -p "$staging/node" "$staging/web"
# One .wasm, two loaders: Node's (CommonJS, reads the file beside it) and the browsers' (an
# ES module that fetches it; bundlers emit it as an asset).
target/debug/wasm-bindgen-run "$wasm" --target nodejs --out-dir "$staging/node"
target/debug/wasm-bindgen-run "$wasm" --target web --out-dir "$staging/web"
cp wasm/npm/package.json wasm/npm/README.md LICENSE "$staging/"
# The package is "type": "module"; wasm-bindgen's Node loader is CommonJS, and it requires
# the core's JavaScript snippets, which are ES modules (Node 20.19+ requires those).
echo '{ "type": "commonjs" }' >"$staging/node/package.json"
[ ! -d "$staging/node/snippets" ] || echo '{ "type": "module" }' >"$staging/node/snippets/package.json"
cp wasm/npm/node/index.cjs wasm/npm/node/index.mjs wasm/npm/node/files.cjs wasm/npm/index.d.ts "$staging/node/"
cp wasm/npm/web/index.js wasm/npm/web/worker.js wasm/npm/web/calls.js wasm/npm/index.d.ts "$staging/web/"
# The core's limits and defaults as a module for pages (which run the WebAssembly in a
# worker), from the Node build's coreConstants(): one source, the core.
node -e '
  const { cover, ...rest } = require(process.argv[1]).coreConstants();
  const frozen = (value) => `Object.freeze(${JSON.stringify(value)})`;
  process.stdout.write(
    "// Written by scripts/packaging/npm.sh from the core (coreConstants()).\n" +
      `export const constants = Object.freeze({ ...${frozen(rest)}, cover: ${frozen(cover)} });\n`
  );
' "$SOTTO_ROOT/$staging/node/sotto_wasm.js" >"$staging/web/constants.js"
raw=$(stat -c %s "$staging/web/sotto_wasm_bg.wasm")
gzipped=$(gzip -9 -c "$staging/web/sotto_wasm_bg.wasm" | wc -c)
echo "npm: sotto_wasm_bg.wasm is $raw bytes ($gzipped gzipped), $profile build"
tarball="$(cd "$staging" && npm pack --silent --pack-destination "$SOTTO_ROOT/target/package")"
echo "npm: target/package/$tarball"

# The browser tests' driver: playwright-core speaks to Debian's chromium; it never downloads
# a browser.
PLAYWRIGHT_CORE_VERSION=1.65.1
# The compiler that checks the package's TypeScript declarations.
TYPESCRIPT_VERSION=5.9.3

# A scratch project with the tarball installed as users get it, the browser driver and
# three local relays (their addresses in SOTTO_TEST_RELAYS).
install_scratch() {
  # The relays and the native profile of the interoperability test
  # (wasm/tests/node/native.test.mjs) came with the shared build above.
  export SOTTO_TEST_PEER="$SOTTO_ROOT/target/debug/sotto-test-peer"
  scratch="$(mktemp -d "${TMPDIR:-/tmp}/sotto-npm-check.XXXXXX")"
  RELAY_PIDS=()
  cleanup() {
    for pid in "${RELAY_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$scratch"
  }
  trap cleanup EXIT
  (cd "$scratch" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund \
    "$SOTTO_ROOT/target/package/$tarball")
  (cd "$scratch" && npm install --silent --no-audit --no-fund \
    "playwright-core@$PLAYWRIGHT_CORE_VERSION" "typescript@$TYPESCRIPT_VERSION")
  cp wasm/tests/node/*.mjs wasm/tests/browser/* "$scratch/"
  start_tunnel_relays 3 "$scratch"
  # Chromium leaves its scoped folders in TMPDIR: keep them in the scratch folder.
  mkdir -p "$scratch/tmp"
  export TMPDIR="$scratch/tmp"
}

if [ "$check" = true ]; then
  install_scratch
  # The declarations as users compile against them: a sample using the whole API, strict,
  # resolved as a bundler does (the browser build) and as Node does.
  cp -r wasm/tests/types "$scratch/types"
  (cd "$scratch" && npx tsc -p types/tsconfig.json && npx tsc -p types/tsconfig.node.json)
  echo "npm: the TypeScript sample compiles (tsc --strict, bundler and Node resolution)"
  # Node 20 has a WebSocket only behind this flag (Node 22 has it by default). The browser
  # tests use it too: they drive chromium from Node, and the pages talk to the relays.
  (cd "$scratch" && node --experimental-websocket --test --test-reporter=spec ./*.test.mjs)
fi

if [ "$bench" = true ]; then
  [ -n "${scratch:-}" ] || install_scratch
  # The benchmark kernels (wasm/src/kernels.rs), built for Chromium into a module of their
  # own beside the page and natively into sotto-kernels, with the package's profiles.
  native_profile=release
  [ "$profile" = release ] || native_profile=dev
  cargo build -p sotto-wasm --features bench --target wasm32-unknown-unknown \
    --profile "${cargo_profile/debug/dev}"
  target/debug/wasm-bindgen-run "$wasm" --target web --out-dir "$scratch/kernels"
  # (The debug one came with the shared build above.)
  [ "$native_profile" = dev ] || cargo build -p sotto-wasm --features bench --bin sotto-kernels --release
  export SOTTO_KERNELS="$SOTTO_ROOT/target/${native_profile/dev/debug}/sotto-kernels"
  cp wasm/bench/*.bench.mjs wasm/bench/kernels-worker.js wasm/bench/devtools.mjs "$scratch/"
  for script in wasm/bench/*.bench.mjs; do
    (cd "$scratch" && node --experimental-websocket "./$(basename "$script")")
  done
fi
