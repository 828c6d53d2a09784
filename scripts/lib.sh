# shellcheck shell=bash
# Shared helpers for Sotto's scripts. Source it from a script in scripts/; it does not run
# anything by itself. It sets SOTTO_ROOT (the repository root, found from this file's place)
# and puts cargo's bin folder on PATH.

SOTTO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SOTTO_ROOT

# Tools that `cargo install` puts in cargo's default bin folder must be found even when the
# calling shell has not sourced ~/.cargo/env (CI, `sudo`, a fresh login).
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in
  *":$CARGO_BIN:"*) ;;
  *) [ -d "$CARGO_BIN" ] && PATH="$CARGO_BIN:$PATH" ;;
esac
export PATH

# The virtual environment holding the Python build tools (maturin), made by scripts/setup.
PYTHON_TOOLS="$SOTTO_ROOT/target/python-tools"
# pytest for the Python binding's tests, installed into each fresh test environment.
PYTEST_VERSION=9.2.0

# Features that every workspace-wide cargo command turns on: the npm package's native
# helpers (the benchmark kernels, the interoperability test's peer). Cargo resolves
# dependency features from the packages a command selects, so clippy, `cargo test` and
# build_workspace all select the whole workspace with these features: a build with another
# selection (`cargo build -p a -p b`) resolves other features and compiles the core and
# dozens of dependencies again.
WORKSPACE_FEATURES=(--features sotto-wasm/bench,sotto-wasm/test-peer)

# build_workspace [ARGS...]: every host library and binary of the workspace (the relay,
# libsotto, libsotto_uniffi, the CLI, the desktop app, the examples and test peers) in one
# debug build, the one the suite's stages share after `cargo test --workspace`. Release
# packages keep their own narrow selection: they ship only what they need.
build_workspace() {
  (cd "$SOTTO_ROOT" && cargo build --workspace "${WORKSPACE_FEATURES[@]}" "$@")
}

# The pinned stable toolchain named in rust-toolchain.toml (e.g. 1.95.0).
sotto_toolchain() {
  sed -n 's/^channel *= *"\([^"]*\)".*/\1/p' "$SOTTO_ROOT/rust-toolchain.toml"
}

# Print a stage banner, so a failing stage is easy to find in a long log.
banner() {
  printf '\n==== %s ====\n' "$*"
}

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# run_logged LOG CMD...: run CMD with all its output in LOG. On failure show the last lines
# of LOG and return CMD's status, so quiet steps still explain themselves when they break.
run_logged() {
  local log="$1"
  shift
  if "$@" >"$log" 2>&1; then
    return 0
  else
    local status=$?
    printf '  command failed (exit %d): %s\n  last lines of %s:\n' "$status" "$*" "$log" >&2
    tail -n 40 "$log" | sed 's/^/    /' >&2
    return "$status"
  fi
}

# True when the plain `nightly` toolchain is installed (cargo-fuzz runs `cargo +nightly`;
# the suite itself never needs it). A dated nightly-YYYY-MM-DD does not count.
have_nightly() {
  rustup toolchain list 2>/dev/null | grep -q '^nightly-[^0-9]'
}

# True when cargo-fuzz can run: a nightly toolchain and the cargo-fuzz subcommand.
have_cargo_fuzz() {
  have_nightly && command -v cargo-fuzz >/dev/null 2>&1
}

# Seconds as "3m07s".
format_duration() {
  printf '%dm%02ds' $(($1 / 60)) $(($1 % 60))
}

# Starts $1 relays (target/debug/sotto-relay, already built) in $2, each also serving
# WebSocket tunnels, on loopback with private hops allowed; appends their pids to the array
# RELAY_PIDS (the caller kills them) and exports SOTTO_TEST_RELAYS: "<address> <gateway>"
# per relay, ";" between relays (what the wasm32 and npm tests read).
start_tunnel_relays() {
  local count="$1" dir="$2" n line address gateway relays=()
  for n in $(seq 1 "$count"); do
    target/debug/sotto-relay --data-dir "$dir/relay$n" --listen 127.0.0.1:0 \
      --websocket-listen 127.0.0.1:0 --operator-listen 127.0.0.1:0 --allow-private-hops \
      >"$dir/out$n" 2>"$dir/relay$n.log" &
    RELAY_PIDS+=($!)
    for _ in $(seq 1 100); do
      grep -q "ws://" "$dir/out$n" 2>/dev/null && break
      sleep 0.1
    done
    line="$(head -n 1 "$dir/out$n")"
    address="$(grep -o 'sotto://[^ ]*' <<<"$line")" ||
      die "relay $n printed no address: $line $(cat "$dir/relay$n.log")"
    gateway="$(grep -o 'ws://[^ ]*' <<<"$line")" || die "relay $n has no WebSocket gateway: $line"
    relays+=("$address $gateway")
  done
  SOTTO_TEST_RELAYS="$(
    IFS=';'
    echo "${relays[*]}"
  )"
  export SOTTO_TEST_RELAYS
}

# Starts $1 relays ($3, already built) in $2 on loopback with private hops allowed, logging
# warnings only; appends their pids to the array RELAY_PIDS (the caller kills them) and sets
# the array RELAY_ARGS to `--relay <address>` for each (the `sotto` CLI's flags).
start_loopback_relays() {
  local count="$1" dir="$2" binary="$3" n address
  RELAY_ARGS=()
  for n in $(seq 1 "$count"); do
    mkdir -p "$dir/relay-$n"
    "$binary" --data-dir "$dir/relay-$n" --listen 127.0.0.1:0 --operator-listen 127.0.0.1:0 \
      --log-level warn --allow-private-hops >"$dir/relay-$n.out" 2>"$dir/relay-$n.err" &
    RELAY_PIDS+=($!)
  done
  for n in $(seq 1 "$count"); do
    for _ in $(seq 100); do grep -q serving "$dir/relay-$n.out" && break; sleep 0.1; done
    address="$(grep -o 'sotto://[^ ]*' "$dir/relay-$n.out" | head -n 1)" ||
      die "relay $n printed no address: $(cat "$dir/relay-$n.out" "$dir/relay-$n.err")"
    RELAY_ARGS+=(--relay "$address")
  done
}
