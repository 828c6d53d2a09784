# shellcheck shell=bash
# What the UniFFI packages (python, kotlin, swift) share, sourced by their scripts.
#
# Every package uses one build of libsotto_uniffi.so and of the pinned generator: the one
# maturin makes for the wheel (its `cargo rustc` of the library and its `cargo run --bin
# uniffi-bindgen`). Building them any other way (say `cargo build -p sotto-uniffi`) would
# unify features differently and compile the core a second time.

[ -x "$PYTHON_TOOLS/bin/maturin" ] || die "no maturin in $PYTHON_TOOLS: run scripts/setup"

# maturin's arguments for this profile (a debug wheel is for this machine's tests only: no
# manylinux audit).
maturin_build_args() {
  if [ "$profile" = release ]; then
    printf '%s\n' --release
  else
    printf '%s\n' --profile dev --compatibility linux
  fi
}

# Builds the wheel into $1 (and with it target/<profile>/libsotto_uniffi.so and the
# generator).
build_wheel() {
  local args
  mapfile -t args < <(maturin_build_args)
  "$PYTHON_TOOLS/bin/maturin" build --manifest-path bindings/Cargo.toml --out "$1" "${args[@]}"
}

# The library the bindings load, built as for the wheel.
uniffi_library() {
  local scratch
  scratch="$(mktemp -d "${TMPDIR:-/tmp}/sotto-wheel.XXXXXX")"
  build_wheel "$scratch" >"$scratch.log" 2>&1 || {
    tail -n 40 "$scratch.log" >&2
    die "building libsotto_uniffi.so failed"
  }
  rm -rf "$scratch" "$scratch.log"
  UNIFFI_LIBRARY="$SOTTO_ROOT/target/$profile/libsotto_uniffi.so"
  [ -f "$UNIFFI_LIBRARY" ] || die "no $UNIFFI_LIBRARY after the build"
}

# Generates the bindings of LANGUAGE into FOLDER from the library (bindings/uniffi.toml
# holds the per-language settings).
generate_bindings() {
  rm -rf "$2"
  cargo run -q --bin uniffi-bindgen -- generate "$UNIFFI_LIBRARY" --language "$1" --no-format \
    --out-dir "$2" >/dev/null
}

# The relay (and libsotto) the package checks run against: as scripts/package c builds
# them, so that the two share one build.
build_relay() {
  if [ "$profile" = release ]; then
    cargo build -p sotto-ffi -p sotto-relay --release
  else
    build_workspace
  fi
}
