#!/usr/bin/env bash
# sotto-desktop in a real window: started under Xvfb (Mesa's software OpenGL) on a fresh
# profile, it must open a window showing the first-run screen (its title names the screen)
# and paint it; the screenshot is kept as target/desktop/first-run.png.
#
#   examples/desktop/tests/window.sh    (scripts/test runs it in its desktop stage)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/lib.sh"
cd "$SOTTO_ROOT"

cargo build --quiet -p sotto-desktop --bin sotto-desktop
target="$(cargo metadata --no-deps --format-version 1 | jq -r .target_directory)"
shots="$target/desktop"
mkdir -p "$shots"
work="$(mktemp -d "${TMPDIR:-/tmp}/sotto-window-test.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { printf 'window test FAILED: %s\n' "$*" >&2; exit 1; }

display=":$((90 + RANDOM % 100))"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp > "$work/xvfb.log" 2>&1 &
pids+=("$!")
for _ in $(seq 50); do xdpyinfo -display "$display" > /dev/null 2>&1 && break; sleep 0.1; done
export DISPLAY="$display"
XDG_CONFIG_HOME="$work/config" "$target/debug/sotto-desktop" --profile "$work/profile" \
  > "$work/app.log" 2>&1 &
pids+=("$!")

window=""
for _ in $(seq 100); do
  window="$(xdotool search --name '^Sotto - Welcome$' 2>/dev/null | head -1 || true)"
  [ -n "$window" ] && break
  sleep 0.2
done
[ -n "$window" ] || fail "no window shows the first-run screen: $(cat "$work/app.log")"
sleep 2 # the first frames
import -window root "$shots/first-run.png"
# Painted, not blank: the screenshot has many colours (text, fields, the background).
colours="$(convert "$shots/first-run.png" -format '%k' info:)"
[ "$colours" -gt 16 ] || fail "the window looks blank ($colours colours)"
[ ! -e "$work/profile/key.json" ] || fail "the first-run screen made a profile by itself"
printf 'window test passed: first-run window (%s colours), screenshot %s\n' "$colours" \
  "$shots/first-run.png"
