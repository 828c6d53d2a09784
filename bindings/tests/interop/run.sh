#!/usr/bin/env bash
# The interoperability test: a Python, a Kotlin, a C and a Rust profile talk with each
# other through the same relays (bindings/tests/interop/interop.py). Uses what the bindings
# stage of scripts/test built before it: the debug Python wheel (scripts/package python
# --debug) and the compiled Kotlin with its tests (scripts/package kotlin --debug --check);
# builds the C peer against include/sotto.h and libsotto.so, and the Rust peer.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/lib.sh"
cd "$SOTTO_ROOT"

wheel="$(ls target/package/sotto-*-linux_x86_64.whl 2>/dev/null | head -n 1 || true)"
[ -n "$wheel" ] || die "no Python wheel: run scripts/package python --debug first"
[ -d bindings/kotlin/target/test-classes ] || die "no Kotlin build: run scripts/package kotlin --debug --check first"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/sotto-interop.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# Rust: the peer on the Messenger handle, the relay and libsotto, all in the suite's
# shared build (build_workspace in scripts/lib.sh), so that nothing is compiled again.
build_workspace --quiet

# Python: the wheel in a fresh environment.
python3 -m venv "$scratch/venv"
run_logged "$scratch/pip.log" "$scratch/venv/bin/python" -m pip install --quiet \
  --disable-pip-version-check "$wheel"

# C: the peer against the header and the shared library (under its soname).
mkdir -p "$scratch/lib"
ln -s "$SOTTO_ROOT/target/debug/libsotto.so" "$scratch/lib/libsotto.so.0"
ln -s "$SOTTO_ROOT/target/debug/libsotto.so" "$scratch/lib/libsotto.so"
cc -std=c11 -Wall -Wextra -Werror -I include -I ffi/tests/c ffi/tests/c/peer.c \
  -L "$scratch/lib" -Wl,-rpath,"$scratch/lib" -lsotto -lpthread -o "$scratch/c-peer"

# Kotlin: the compiled classes (the library is on the class path) and their dependencies.
mvn -B -q -Dstyle.color=never -f bindings/kotlin/pom.xml dependency:build-classpath \
  -Dmdep.outputFile="$scratch/classpath.txt" -Dmdep.includeScope=test
kotlin_classes="$SOTTO_ROOT/bindings/kotlin/target/classes:$SOTTO_ROOT/bindings/kotlin/target/test-classes"
classpath="$kotlin_classes:$(cat "$scratch/classpath.txt")"

"$scratch/venv/bin/python" bindings/tests/interop/interop.py "target/debug/sotto-relay" \
  "python=$scratch/venv/bin/python $SOTTO_ROOT/bindings/tests/interop/peer.py" \
  "kotlin=java -cp $classpath sotto.PeerKt" \
  "c=$scratch/c-peer" \
  "rust=$SOTTO_ROOT/target/debug/sotto-peer"
