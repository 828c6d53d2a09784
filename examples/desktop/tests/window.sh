#!/usr/bin/env bash
# sotto-desktop in a real window under Xvfb (Mesa's software OpenGL):
# - on a fresh profile it opens a window showing the first-run screen (its title names the
#   screen), painted, and makes no profile by itself;
# - on a profile made and used by the `sotto` CLI (it met a contact and talked through real
#   relays), it shows the unlock screen, takes the passphrase typed on the keyboard, and
#   opens the conversation found with Ctrl+K.
# Screenshots of each screen are kept in target/desktop/ (the README shows them).
#
#   examples/desktop/tests/window.sh    (scripts/test runs it in its desktop stage)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/lib.sh"
cd "$SOTTO_ROOT"

# The app, the CLI and the relay from the suite's shared build.
build_workspace --quiet
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
fail() {
  printf 'window test FAILED: %s\n' "$*" >&2
  [ -z "${DISPLAY:-}" ] || import -window root "$shots/failure.png" 2>/dev/null || true
  exit 1
}

# Xvfb picks a free display itself and writes its number once it accepts connections (a
# fixed wait was too short on a busy machine, and a random number could be taken).
exec 3>"$work/display"
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp > "$work/xvfb.log" 2>&1 &
pids+=("$!")
exec 3>&-
for _ in $(seq 600); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || fail "Xvfb did not start within 60 s: $(cat "$work/xvfb.log")"
export DISPLAY=":$(head -n 1 "$work/display")"
XDG_CONFIG_HOME="$work/config" "$target/debug/sotto-desktop" --profile "$work/profile" \
  > "$work/app.log" 2>&1 &
pids+=("$!")

window=""
for _ in $(seq 300); do
  window="$(xdotool search --name '^Sotto - Welcome$' 2>/dev/null | head -1 || true)"
  [ -n "$window" ] && break
  sleep 0.2
done
[ -n "$window" ] || fail "no window shows the first-run screen: $(cat "$work/app.log")"
sleep 2 # the first frames
import -window "$window" "$shots/first-run.png"
# Painted, not blank: the screenshot has many colours (text, fields, the background).
colours="$(convert "$shots/first-run.png" -format '%k' info:)"
[ "$colours" -gt 16 ] || fail "the window looks blank ($colours colours)"
[ ! -e "$work/profile/key.json" ] || fail "the first-run screen made a profile by itself"
kill "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
echo "window test: first-run window painted ($colours colours)"

# Bob's profile, made and used with the CLI: he met Alice and they talked.
SOTTO="$target/debug/sotto"
cd "$work"
RELAY_PIDS=()
start_loopback_relays 3 "$work" "$target/debug/sotto-relay"
pids+=("${RELAY_PIDS[@]}")
export ALICE_PASS="alice's passphrase" BOB_PASS="bob's passphrase"
alice() { "$SOTTO" --profile alice --passphrase-env ALICE_PASS --json "$@"; }
bob() { "$SOTTO" --profile bob --passphrase-env BOB_PASS --json "$@"; }
# receive_until WHO FILTER: WHO receives until a JSON line passes FILTER.
receive_until() {
  local who="$1" filter="$2"
  for _ in $(seq 20); do
    "$who" receive --wait 10 --no-download >> "$who.json"
    jq -s -e "any(.[]; $filter)" "$who.json" > /dev/null && return 0
  done
  fail "$who never received $filter"
}
alice init --name Alice "${RELAY_ARGS[@]}" > /dev/null
bob init --name Bob "${RELAY_ARGS[@]}" > /dev/null
link="$(alice invite | jq -r .link)"
bob accept "$link" --name Alice > /dev/null
receive_until alice '.event == "contact_added"'
alice rename "$(jq -r 'select(.event == "contact_added") | .contact' alice.json)" Bob > /dev/null
receive_until bob '.event == "contact_ready"'
bob send Alice "Hi Alice! Are we still on for lunch tomorrow?" > /dev/null
receive_until alice '.event == "message"'
alice send Bob "Yes! 12:30 at the usual place. I'll bring the photos from the trip." > /dev/null
convert -size 320x200 gradient:'#4a90d9'-'#f5d76e' -fill white -draw 'circle 230,60 250,80' \
  photo.png
alice send-file Bob photo.png --image > /dev/null
printf 'Itinerary\n\nDay 1: the lake\nDay 2: the mountains\n' > itinerary.txt
alice send-file Bob itinerary.txt > /dev/null
receive_until bob '.event == "message" and .body.type == "file"'
bob send Alice "Perfect, see you there." > /dev/null

# Bob opens his profile in the desktop app.
"$target/debug/sotto-desktop" --profile bob > "$work/app2.log" 2>&1 &
pids+=("$!")
window=""
for _ in $(seq 100); do
  window="$(xdotool search --name '^Sotto - Unlock$' 2>/dev/null | head -1 || true)"
  [ -n "$window" ] && break
  sleep 0.2
done
[ -n "$window" ] || fail "the CLI's profile does not show the unlock screen: $(cat "$work/app2.log")"
sleep 1
import -window "$window" "$shots/unlock.png"
# No window manager gives the window the keyboard: give it, then click into the field.
xdotool windowfocus "$window"
xdotool mousemove --window "$window" 500 250 click 1
sleep 0.5
xdotool type --delay 20 "$BOB_PASS"
xdotool key Return
unlocked=""
for _ in $(seq 100); do
  unlocked="$(xdotool search --name '^Sotto$' 2>/dev/null | head -1 || true)"
  [ -n "$unlocked" ] && break
  sleep 0.2
done
[ -n "$unlocked" ] || fail "the typed passphrase did not unlock: $(cat "$work/app2.log")"
sleep 1
xdotool key ctrl+k
xdotool type --delay 20 "ali"
xdotool key Return
sleep 2
import -window "$unlocked" "$shots/conversation.png"
colours="$(convert "$shots/conversation.png" -format '%k' info:)"
[ "$colours" -gt 16 ] || fail "the conversation looks blank ($colours colours)"
# The dialogs, opened with the mouse where a person clicks (the window is 1000 x 680).
dialog() {
  local name="$1" x="$2" y="$3"
  xdotool mousemove --window "$unlocked" "$x" "$y" click 1
  sleep 2
  import -window "$unlocked" "$shots/$name.png"
  xdotool key Escape
  sleep 0.5
}
dialog safety-number 940 44
dialog invite 97 12
dialog settings 960 12
printf 'window test passed: first-run, unlock, conversation, safety number, invite and settings screens in %s\n' "$shots"
