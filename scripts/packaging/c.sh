# shellcheck shell=bash
# scripts/package c: the C library's tarball. Sourced by scripts/package, which set
# `profile` (release or debug) and `check` (true or false).


abi_part() { sed -n "s/^pub const SOTTO_ABI_VERSION_$1: u32 = \([0-9]*\);/\1/p" ffi/src/abi.rs; }
major="$(abi_part MAJOR)"
version="$major.$(abi_part MINOR).$(abi_part PATCH)"
[ -n "$major" ] || die "no ABI version in ffi/src/abi.rs"

# The relay comes along for --check. A debug package is for this machine's tests: it is
# the suite's shared build (build_workspace in lib.sh).
if [ "$profile" = release ]; then
  cargo build -p sotto-ffi -p sotto-relay --release
else
  build_workspace
fi
built="target/$profile"

name="sotto-c-$version-$(uname -m)-linux"
out="target/package"
stage="$out/$name"
rm -rf "$stage" "$out/$name.tar.gz"
mkdir -p "$stage/include" "$stage/lib/pkgconfig"
cp include/sotto.h "$stage/include/"
cp "$built/libsotto.so" "$stage/lib/libsotto.so.$version"
ln -s "libsotto.so.$version" "$stage/lib/libsotto.so.$major"
ln -s "libsotto.so.$major" "$stage/lib/libsotto.so"
cp "$built/libsotto.a" "$stage/lib/"
cp LICENSE "$stage/"
# Relative to the .pc file, so the unpacked folder works wherever it is.
cat >"$stage/lib/pkgconfig/sotto.pc" <<PC
prefix=\${pcfiledir}/../..
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: sotto
Description: Sotto, an end-to-end encrypted, metadata-private messenger SDK (C ABI)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lsotto
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl
PC
tar -C "$out" -czf "$out/$name.tar.gz" "$name"
rm -rf "$stage"
echo "package: $out/$name.tar.gz ($(du -h "$out/$name.tar.gz" | cut -f1))"

$check || exit 0

scratch="$(mktemp -d "${TMPDIR:-/tmp}/sotto-package.XXXXXX")"
relay_pid=""
cleanup() {
  [ -n "$relay_pid" ] && kill "$relay_pid" 2>/dev/null
  rm -rf "$scratch"
}
trap cleanup EXIT
tar -C "$scratch" -xzf "$out/$name.tar.gz"
prefix="$scratch/$name"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion sotto)" = "$version" ] || die "pkg-config does not see sotto $version"
# shellcheck disable=SC2046 # pkg-config's words are meant to be split
cc -std=c11 -Wall -Wextra -Werror examples/c/hello.c $(pkg-config --cflags --libs sotto) \
  -Wl,-rpath,"$prefix/lib" -o "$scratch/hello"
# It must load the unpacked library, not one from the build tree.
# (ldd's output is read whole first: `ldd | grep -q` fails under pipefail when grep stops
# reading at the match and ldd's later lines meet a closed pipe.)
libraries="$(ldd "$scratch/hello")"
grep -qF "$prefix/lib/libsotto.so.$major" <<<"$libraries" ||
  die "hello does not load the unpacked libsotto.so.$major: $libraries"

"$built/sotto-relay" --data-dir "$scratch/relay" --listen 127.0.0.1:0 --operator-listen 127.0.0.1:0 >"$scratch/relay.out" 2>"$scratch/relay.log" &
relay_pid=$!
for _ in $(seq 100); do
  [ -s "$scratch/relay.out" ] && break
  sleep 0.1
done
address="$(head -n 1 "$scratch/relay.out" | tr ' ' '\n' | grep '^sotto://' | head -n 1 || true)"
case "$address" in sotto://*) ;; *) die "the relay printed no address" ;; esac
output="$("$scratch/hello" "$scratch/profile" "$address")"
printf '%s\n' "$output"
printf '%s\n' "$output" | grep -q "^libsotto $version$" || die "hello did not print the library version"
printf '%s\n' "$output" | grep -q "^sotto-id:" || die "hello did not print an identity"
echo "package: checked (built and ran examples/c/hello.c against the unpacked tarball)"
