#!/usr/bin/env bash
# The command-line client as a user drives it: two profiles made with `sotto init` meet by
# invitation and talk through three real relay processes using only `sotto` commands (their
# --json output parsed with jq), including a 50 MiB file with a progress bar on a terminal
# and none in a pipe, an image, receipts, safety numbers, a malformed link, a wrong
# passphrase refused with the profile unchanged, and a profile in use refused.
#
#   examples/cli/tests/cli.sh    (scripts/test runs it in its cli stage)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/lib.sh"
cd "$SOTTO_ROOT"

# The CLI and the relay from the suite's shared build.
build_workspace --quiet
target="$(cargo metadata --no-deps --format-version 1 | jq -r .target_directory)"
SOTTO="$target/debug/sotto"
RELAY="$target/debug/sotto-relay"

work="$(mktemp -d "${TMPDIR:-/tmp}/sotto-cli-test.XXXXXX")"
RELAY_PIDS=()
cleanup() {
  for pid in "${RELAY_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

SECONDS=0
fail() { printf 'cli test FAILED: %s\n' "$*" >&2; exit 1; }
# has FILE FILTER: some JSON line of FILE passes FILTER.
has() { jq -s -e "any(.[]; $2)" "$1" > /dev/null; }
# receive_until WHO FILE FILTER [ARGS...]: WHO runs `receive --wait` (appending to FILE)
# until a line passes FILTER (messages cross the mixes with delays of their own).
receive_until() {
  local who="$1" file="$2" filter="$3"
  shift 3
  for _ in $(seq 20); do
    "$who" receive --wait 10 "$@" >> "$file"
    has "$file" "$filter" && return 0
  done
  fail "$who never received $filter: $(cat "$file")"
}
# expect_exit CODE CMD...: runs CMD, which must end with exit code CODE.
expect_exit() {
  local wanted="$1" code=0
  shift
  "$@" > last.out 2> last.err || code=$?
  [ "$code" = "$wanted" ] || fail "$* exited $code, not $wanted: $(cat last.out last.err)"
}

start_loopback_relays 3 "$work" "$RELAY"

export ALICE_PASS="alice's long passphrase" BOB_PASS="bob's long passphrase"
alice() { "$SOTTO" --profile alice --passphrase-env ALICE_PASS --json "$@"; }
# Bob's passphrase comes on standard input, the other way every command offers.
bob() { printf '%s\n' "$BOB_PASS" | "$SOTTO" --profile bob --passphrase-stdin --json "$@"; }

echo "[${SECONDS}s] init: two passphrase profiles"
alice init --name Alice "${RELAY_ARGS[@]}" > /dev/null
bob init --name Bob "${RELAY_ARGS[@]}" > /dev/null
[ "$(alice relay list | jq '.relays | length')" = 3 ] || fail "relay list"
expect_exit 5 alice relay add "sotto://not-a-relay"

echo "[${SECONDS}s] a wrong passphrase is refused and the profile is unchanged"
before="$(find alice -type f -print0 | sort -z | xargs -0 sha256sum)"
export WRONG_PASS="not it"
expect_exit 3 "$SOTTO" --profile alice --passphrase-env WRONG_PASS --json contacts
jq -e '.error.class == "locked"' last.out > /dev/null || fail "wrong passphrase: $(cat last.out)"
expect_exit 3 "$SOTTO" --profile alice contacts < /dev/null
[ "$before" = "$(find alice -type f -print0 | sort -z | xargs -0 sha256sum)" ] ||
  fail "a refused opening changed the profile"
expect_exit 4 "$SOTTO" --profile nobody --json contacts

echo "[${SECONDS}s] invitation: Bob accepts Alice's link"
alice invite --qr-png invite.png > invite.json
link="$(jq -r .link invite.json)"
[ -s invite.png ] || fail "no QR image"
# The short link: a QR code a phone reads off a screen, read back by Debian's zbarimg.
[ "${#link}" -le 200 ] || fail "the invitation link has ${#link} characters: $link"
[ "$(jq .qr_version invite.json)" -le 10 ] || fail "QR version $(jq .qr_version invite.json)"
[ "$(zbarimg --quiet --raw invite.png 2> /dev/null)" = "$link" ] || fail "zbarimg read another link"
expect_exit 5 bob accept "sotto://invite#garbage"
jq -e '.error.class == "invalid"' last.out > /dev/null || fail "malformed link: $(cat last.out)"
bob accept "$link" --name Alice > accept.json
expect_exit 5 bob accept "$link"   # the same invitation again: already a contact
bob send Alice "hello before the answer" | jq -e '.status == "queued"' > /dev/null
receive_until alice alice-1.json '.event == "contact_added" and .display_name == "Bob"'
alice rename "$(jq -r 'select(.event == "contact_added") | .contact' alice-1.json)" Bob > /dev/null
expect_exit 4 alice send Carol "who?"

echo "[${SECONDS}s] text both ways, held message included"
receive_until bob bob-1.json '.event == "contact_ready"'
receive_until alice alice-2.json '.event == "message" and .body.text == "hello before the answer"'
alice send Bob "hi Bob" | jq -e '.status == "sent"' > /dev/null
receive_until bob bob-2.json '.event == "message" and .body.text == "hi Bob"'

echo "[${SECONDS}s] a 50 MiB file: a progress bar on a terminal, none in a pipe"
head -c $((50 * 1024 * 1024)) /dev/urandom > big.bin
script -qec "'$SOTTO' --profile bob --passphrase-env BOB_PASS send-file Alice big.bin" \
  terminal.log > /dev/null
grep -q "big.bin" terminal.log || fail "no progress bar on a terminal: $(cat terminal.log)"
grep -q "Sent" terminal.log || fail "send-file on a terminal: $(cat terminal.log)"
mkdir downloads
receive_until alice alice-3.json '.event == "message" and .body.size == 52428800' \
  --download-dir downloads 2> alice-3.err
[ ! -s alice-3.err ] || fail "progress reached a pipe: $(cat alice-3.err)"
cmp big.bin downloads/big.bin || fail "the file arrived changed"

echo "[${SECONDS}s] an image"
python3 - <<'PY'
import struct, zlib
w, h = 64, 48
rows = b"".join(b"\x00" + bytes(v for x in range(w) for v in (x * 4 % 256, y * 5 % 256, 128))
               for y in range(h))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
open("picture.png", "wb").write(png)
PY
alice send-file Bob picture.png --image | jq -e '.status == "sent"' > /dev/null
receive_until bob bob-3.json '.event == "message" and .body.type == "image" and .body.width == 64
  and .body.height == 48 and (.body.thumbnail | length) > 0' --download-dir .
cmp picture.png "$(jq -r 'select(.event == "message") | .path' bob-3.json)"
echo "not an image" > fake.png
expect_exit 5 alice send-file Bob fake.png --image

echo "[${SECONDS}s] a voice clip (Ogg Opus made by opusenc from espeak-ng's speech)"
espeak-ng -w speech.wav "Hello Alice, this is Bob on the command line."
opusenc --quiet speech.wav clip.opus
bob send-file Alice clip.opus --voice | jq -e '.status == "sent"' > /dev/null
mkdir voice
receive_until alice alice-voice.json '.event == "message" and .body.type == "voice_clip"
  and .body.codec == "opus" and .body.duration_ms > 1000' --download-dir voice
cmp clip.opus voice/voice-*.ogg || fail "the clip arrived changed"
opusinfo voice/voice-*.ogg > /dev/null || fail "opusinfo refused the received clip"
expect_exit 5 bob send-file Alice speech.wav --voice  # a WAV file is not a voice clip

echo "[${SECONDS}s] a download that fails loses nothing: the message is kept, fetched later"
echo "a small file" > small.txt
bob send-file Alice small.txt > /dev/null
: > alice-4.json
for _ in $(seq 20); do
  code=0
  alice receive --wait 10 --download-dir "$work/missing/folder/small.txt" >> alice-4.json || code=$?
  has alice-4.json '.event == "download_failed"' && break
done
[ "$code" = 9 ] || fail "a failed download exited $code: $(cat alice-4.json)"
has alice-4.json '.event == "message" and .body.name == "small.txt" and .path == null' ||
  fail "the message was not printed: $(cat alice-4.json)"
small_id="$(jq -r 'select(.event == "message") | .message_id' alice-4.json)"
alice download Bob "$small_id" --to downloads > /dev/null
cmp small.txt downloads/small.txt || fail "the later download differs"

echo "[${SECONDS}s] receipts: Alice's messages delivered and read"
alice receive --wait 5 > /dev/null || true
for _ in $(seq 40); do
  alice history Bob > history.json
  has history.json '.message.body.text == "hi Bob" and .message.status == "read"' && break
  sleep 0.5
  alice receive > /dev/null || true
done
has history.json '.message.body.text == "hi Bob" and .message.status == "read"' || fail "no read receipt: $(cat history.json)"

echo "[${SECONDS}s] safety numbers: compared and verified"
digits="$(bob safety Alice | jq -r .digits)"
[ "${#digits}" = 60 ] || fail "safety digits: $digits"
alice verify Bob "$digits" | jq -e '.verified' > /dev/null
alice contacts > contacts.json
has contacts.json '.name == "Bob" and .verified' || fail "not verified: $(cat contacts.json)"
wrong="$(printf '%s' "$digits" | tr 0123456789 1234567890)"
expect_exit 8 bob verify Alice "$wrong"
expect_exit 8 bob verify Alice "12345"

echo "[${SECONDS}s] history pages, search, deleting a message"
alice history Bob --limit 2 > page.json
[ "$(wc -l < page.json)" = 2 ] || fail "a page of 2: $(cat page.json)"
oldest_shown="$(head -n 1 page.json | jq -r .message.message_id)"
alice history Bob --limit 50 --before "$oldest_shown" > before.json
has before.json '.message.body.text == "hello before the answer"' || fail "scrolling back"
alice search Bob "before the" > found.json
[ "$(wc -l < found.json)" = 1 ] || fail "search: $(cat found.json)"
doomed="$(jq -r .message.message_id found.json)"
alice delete Bob "$doomed" > /dev/null
alice search Bob "before the" > found.json
[ ! -s found.json ] || fail "a deleted message is still found"
expect_exit 5 alice delete Bob "not-an-id"

echo "[${SECONDS}s] route and cover traffic, kept in the profile"
alice route --hops 2 --delay-ms 50 --cover on > route.json
has route.json '.route.hops == 2 and .route.mean_delay_ms == 50 and .cover_mb_per_day > 0' ||
  fail "route: $(cat route.json)"
alice relay list > route.json
has route.json '.route.hops == 2 and .cover' || fail "route not kept: $(cat route.json)"
expect_exit 5 alice route --hops 4  # more hops than relays
alice route --hops 3 --cover off > /dev/null
expect_exit 5 alice relay remove "$(jq -r '.relays[0]' route.json)"  # two left for three hops

echo "[${SECONDS}s] a new passphrase: the old one is refused afterwards"
export NEW_ALICE_PASS="alice's new passphrase"
alice change-passphrase --new-passphrase-env NEW_ALICE_PASS > /dev/null
expect_exit 3 alice contacts
ALICE_PASS="$NEW_ALICE_PASS"
alice contacts > /dev/null

echo "[${SECONDS}s] one program per profile"
"$SOTTO" --profile alice --passphrase-env ALICE_PASS receive --follow > follow.out 2>&1 &
follower=$!
for _ in $(seq 100); do
  code=0
  alice contacts > last.out 2>&1 || code=$?
  [ "$code" = 7 ] && break
  sleep 0.1
done
[ "$code" = 7 ] || fail "a second program opened a profile in use (exit $code)"
bob send Alice "while you follow" > /dev/null
for _ in $(seq 100); do grep -q "while you follow" follow.out && break; sleep 0.2; done
grep -q "Bob: while you follow" follow.out || fail "follow printed: $(cat follow.out)"
kill -TERM "$follower"
wait "$follower" || fail "receive --follow did not end cleanly on SIGTERM"
alice contacts > /dev/null

echo "[${SECONDS}s] forgetting a contact"
alice forget Bob > /dev/null
alice contacts > contacts.json
[ ! -s contacts.json ] || fail "Bob is still a contact: $(cat contacts.json)"
expect_exit 4 alice history Bob

echo "[${SECONDS}s] cli test: ok in ${SECONDS}s"
