# shellcheck shell=bash
# scripts/package swift: the Swift sources for an XCFramework build on a Mac (see
# bindings/README.md). Sourced by scripts/package, which set `profile` (release or debug)
# and `check` (true or false).
#
# There is no Swift compiler here, so --check verifies what can be verified: generation is
# deterministic, sotto.swift parses with tree-sitter-swift and has the public API, and the
# C header sottoFFI.h compiles.

[ -x "$PYTHON_TOOLS/bin/python" ] || die "no Python tools in $PYTHON_TOOLS: run scripts/setup"
version="$(cargo metadata --no-deps --format-version 1 |
  jq -r '.packages[] | select(.name == "sotto-uniffi") | .version')"
if [ "$profile" = release ]; then
  cargo build -p sotto-uniffi -p uniffi-bindgen --release
else
  cargo build -p sotto-uniffi -p uniffi-bindgen
fi
built="target/$profile"
generate() {
  rm -rf "$1"
  "$built/uniffi-bindgen" generate "$built/libsotto_uniffi.so" --language swift \
    --no-format --out-dir "$1" >/dev/null
}

name="sotto-swift-$version"
out="target/package"
stage="$out/$name"
generate "$stage/Sources"
cp bindings/README.md LICENSE "$stage/"
tar -C "$out" -czf "$out/$name.tar.gz" "$name"
echo "package: $out/$name.tar.gz (sotto.swift, sottoFFI.h, sottoFFI.modulemap)"

if $check; then
  again="$(mktemp -d "${TMPDIR:-/tmp}/sotto-swift.XXXXXX")"
  trap 'rm -rf "$again"' EXIT
  generate "$again/Sources"
  diff -r "$stage/Sources" "$again/Sources" >/dev/null ||
    die "generating the Swift twice gave different files"
  "$PYTHON_TOOLS/bin/python" bindings/tests/swift/check_swift.py "$stage/Sources"
  printf '#include "sottoFFI.h"\n' |
    cc -fsyntax-only -std=c11 -Wall -Wextra -Werror -D_Nullable= -D_Nonnull= \
      -I "$stage/Sources" -x c -
  echo "package: checked (deterministic generation; sotto.swift parses; sottoFFI.h compiles)"
fi
rm -rf "$stage"
