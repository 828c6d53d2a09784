# shellcheck shell=bash
# scripts/package swift: the Swift sources for an XCFramework build on a Mac (see
# bindings/README.md). Sourced by scripts/package, which set `profile` (release or debug)
# and `check` (true or false).
#
# There is no Swift compiler here, so --check verifies what can be verified: generation is
# deterministic, Sotto.swift parses with tree-sitter-swift and has the public API, and the
# C header sottoFFI.h compiles.

# shellcheck source=scripts/packaging/uniffi.sh
source scripts/packaging/uniffi.sh
version="$(cargo metadata --no-deps --format-version 1 |
  jq -r '.packages[] | select(.name == "sotto-uniffi") | .version')"
uniffi_library
generate() { generate_bindings swift "$1"; }

name="sotto-swift-$version"
out="target/package"
stage="$out/$name"
generate "$stage/Sources"
cp bindings/README.md LICENSE "$stage/"
tar -C "$out" -czf "$out/$name.tar.gz" "$name"
echo "package: $out/$name.tar.gz (Sotto.swift, sottoFFI.h, sottoFFI.modulemap)"

if $check; then
  again="$(mktemp -d "${TMPDIR:-/tmp}/sotto-swift.XXXXXX")"
  trap 'rm -rf "$again"' EXIT
  generate "$again/Sources"
  diff -r "$stage/Sources" "$again/Sources" >/dev/null ||
    die "generating the Swift twice gave different files"
  "$PYTHON_TOOLS/bin/python" bindings/tests/swift/check_swift.py "$stage/Sources" bindings/README.md
  printf '#include "sottoFFI.h"\n' |
    cc -fsyntax-only -std=c11 -Wall -Wextra -Werror -D_Nullable= -D_Nonnull= \
      -I "$stage/Sources" -x c -
  echo "package: checked (deterministic generation; Sotto.swift parses; sottoFFI.h compiles)"
fi
rm -rf "$stage"
