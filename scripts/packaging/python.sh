# shellcheck shell=bash
# scripts/package python: the Python wheel. Sourced by scripts/package, which set `profile`
# (release or debug) and `check` (true or false).

# shellcheck source=scripts/packaging/uniffi.sh
source scripts/packaging/uniffi.sh
out="target/package"
mkdir -p "$out"
rm -f "$out"/sotto-*.whl

# maturin builds libsotto_uniffi.so, runs the workspace's pinned uniffi-bindgen on it and
# packs python/sotto with the generated module and the library.
build_wheel "$out"
wheel="$(ls "$out"/sotto-*.whl)"
echo "package: $wheel ($(du -h "$wheel" | cut -f1))"

$check || exit 0

# Use it as a user would: a fresh virtual environment, `pip install` of the wheel, and the
# tests run from a copy outside the repository, against relays from this build.
build_relay
scratch="$(mktemp -d "${TMPDIR:-/tmp}/sotto-python.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
run_logged "$scratch/pip.log" "$scratch/venv/bin/python" -m pip install --quiet \
  --disable-pip-version-check "$wheel" "pytest==$PYTEST_VERSION"
cp -r bindings/tests/python "$scratch/tests"
SOTTO_RELAY_BIN="$SOTTO_ROOT/target/$profile/sotto-relay" \
  SOTTO_BINDINGS_README="$SOTTO_ROOT/bindings/README.md" \
  "$scratch/venv/bin/python" -m pytest -p no:cacheprovider -q "$scratch/tests"
echo "package: checked (installed the wheel into a fresh environment; bindings/tests/python passed)"
