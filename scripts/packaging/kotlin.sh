# shellcheck shell=bash
# scripts/package kotlin: the Kotlin library, a jar with the generated sources compiled and
# the native library for linux-x86-64 inside. Sourced by scripts/package, which set
# `profile` (release or debug) and `check` (true or false).
#
# --check runs the JUnit 5 tests (bindings/kotlin/src/test) through Maven against relays of
# this build, with the library loaded from the jar's class path as an app would.

# shellcheck source=scripts/packaging/uniffi.sh
source scripts/packaging/uniffi.sh
version="$(cargo metadata --no-deps --format-version 1 |
  jq -r '.packages[] | select(.name == "sotto-uniffi") | .version')"
uniffi_library
generate_bindings kotlin bindings/kotlin/target/generated-sources/uniffi
# The relays the tests talk through.
build_relay
built="$SOTTO_ROOT/target/$profile"

goal=(package -DskipTests)
$check && goal=(verify)
# No compile daemon: it would outlive the build by hours.
mvn -B -q -Dstyle.color=never -f bindings/kotlin/pom.xml "${goal[@]}" \
  -Dkotlin.compiler.daemon=false \
  -Dsotto.version="$version" \
  -Dsotto.native.dir="$built" \
  -Dsotto.relay.bin="$built/sotto-relay"

out="target/package"
mkdir -p "$out"
jar="$out/sotto-kotlin-$version-linux-x86-64.jar"
cp "bindings/kotlin/target/sotto-$version.jar" "$jar"
[[ "$(unzip -Z1 "$jar")" == *linux-x86-64/libsotto_uniffi.so* ]] || die "the jar lacks the native library"
echo "package: $jar ($(du -h "$jar" | cut -f1))"
$check && echo "package: checked (the Kotlin tests passed through Maven against the jar's library)"
true
