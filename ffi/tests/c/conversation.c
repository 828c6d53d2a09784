/*
 * Two profiles in one process meet by invitation through real relays and talk, entirely
 * through the C ABI: Alice hears events through a callback, Bob polls a file descriptor;
 * 8 threads then send on one handle at once. Then every error path of these calls returns
 * its status and a message.
 *
 * Usage: conversation <scratch folder> <relay address>...
 * Exit status 0 when everything held; otherwise the first failure on stderr.
 *
 * SPDX-License-Identifier: AGPL-3.0-or-later
 */
#include "common.h"

#include <pthread.h>
#include <signal.h>

/* ---- Alice: events through the callback, kept in a small log under a lock ---- */

#define LOG_SIZE 1024

struct logged {
  SottoEventKind kind;
  SottoDeliveryStatus status;
  char contact[80];
  char text[256];
  char message_id[40];
};

struct event_log {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  struct logged events[LOG_SIZE];
  int count;
};

static void copy(char *target, size_t size, const char *source) {
  snprintf(target, size, "%s", source ? source : "");
}

static void on_event(void *user_data, const SottoEvent *event) {
  struct event_log *log = user_data;
  pthread_mutex_lock(&log->lock);
  if (log->count < LOG_SIZE) {
    struct logged *entry = &log->events[log->count++];
    entry->kind = sotto_event_kind(event);
    entry->status = sotto_event_status(event);
    copy(entry->contact, sizeof entry->contact, sotto_event_contact(event));
    copy(entry->text, sizeof entry->text, sotto_event_text(event));
    copy(entry->message_id, sizeof entry->message_id, sotto_event_message_id(event, 0));
  }
  pthread_cond_broadcast(&log->changed);
  pthread_mutex_unlock(&log->lock);
}

/* Waits for the first logged event at or after `*from` of this kind (and, if given, text);
 * copies it out and moves `*from` past it. */
static struct logged wait_logged(struct event_log *log, int *from, SottoEventKind kind,
                                 const char *text) {
  double deadline = now_seconds() + PATIENCE_SECONDS;
  pthread_mutex_lock(&log->lock);
  for (;;) {
    for (int i = *from; i < log->count; i++) {
      struct logged *entry = &log->events[i];
      if (entry->kind == kind && (text == NULL || strcmp(entry->text, text) == 0)) {
        struct logged found = *entry;
        *from = i + 1;
        pthread_mutex_unlock(&log->lock);
        return found;
      }
    }
    if (now_seconds() > deadline) {
      fprintf(stderr, "no event of kind %d (%s) within %d s\n", (int)kind, text ? text : "",
              PATIENCE_SECONDS);
      exit(1);
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    pthread_cond_timedwait(&log->changed, &log->lock, &until);
  }
}

/* Waits for the received message with this id (anywhere in the log). */
static void wait_message(struct event_log *log, const char *id) {
  double deadline = now_seconds() + PATIENCE_SECONDS;
  pthread_mutex_lock(&log->lock);
  for (;;) {
    for (int i = 0; i < log->count; i++) {
      if (log->events[i].kind == SOTTO_EVENT_KIND_MESSAGE_RECEIVED &&
          strcmp(log->events[i].message_id, id) == 0) {
        pthread_mutex_unlock(&log->lock);
        return;
      }
    }
    if (now_seconds() > deadline) {
      fprintf(stderr, "message %s did not arrive within %d s\n", id, PATIENCE_SECONDS);
      exit(1);
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    pthread_cond_timedwait(&log->changed, &log->lock, &until);
  }
}

/* ---- Files ---- */

static void write_pattern(const char *path, size_t size, unsigned char seed) {
  FILE *file = fopen(path, "wb");
  EXPECT(file != NULL);
  for (size_t i = 0; i < size; i++) fputc((int)((i * 31 + seed) & 0xff), file);
  EXPECT(fclose(file) == 0);
}

static bool same_files(const char *a, const char *b) {
  FILE *x = fopen(a, "rb"), *y = fopen(b, "rb");
  EXPECT(x != NULL && y != NULL);
  int c, d;
  bool same = true;
  do {
    c = fgetc(x);
    d = fgetc(y);
    if (c != d) same = false;
  } while (same && c != EOF);
  fclose(x);
  fclose(y);
  return same;
}

/* ---- Many threads on one handle ---- */

#define THREADS 8
#define PER_THREAD 5

struct sender {
  SottoMessenger *messenger;
  const char *contact;
  int thread;
  int failed;
};

static void *send_from_thread(void *argument) {
  struct sender *sender = argument;
  for (int i = 0; i < PER_THREAD; i++) {
    char text[64];
    snprintf(text, sizeof text, "thread %d message %d", sender->thread, i);
    char *id = NULL;
    if (sotto_messenger_send_text(sender->messenger, sender->contact, text, &id) != SOTTO_OK) {
      fprintf(stderr, "thread %d: %s\n", sender->thread, sotto_last_error_message());
      sender->failed++;
    }
    sotto_string_free(id);
    /* A call from each thread reads as well as writes. */
    char *identity = NULL;
    if (sotto_messenger_identity(sender->messenger, &identity) != SOTTO_OK) sender->failed++;
    sotto_string_free(identity);
  }
  return NULL;
}

/* How many logged events from `from` on have this kind and text. */
static int count_logged(struct event_log *log, int from, SottoEventKind kind, const char *text) {
  int count = 0;
  pthread_mutex_lock(&log->lock);
  for (int i = from; i < log->count; i++) {
    if (log->events[i].kind == kind && strcmp(log->events[i].text, text) == 0) count++;
  }
  pthread_mutex_unlock(&log->lock);
  return count;
}

/* Every failing call returns its own status and leaves a message; outputs stay untouched. */
static void error_paths(int relays, char **addresses, const char *root) {
  SottoSettings *settings = NULL;
  EXPECT_STATUS(SOTTO_ERROR_NULL_ARGUMENT, sotto_settings_new(NULL));
  CHECK(sotto_settings_new(&settings));
  EXPECT(sotto_last_error_message() == NULL);
  EXPECT_STATUS(SOTTO_ERROR_INVALID_ARGUMENT, sotto_settings_add_relay(settings, "not a relay"));
  EXPECT_STATUS(SOTTO_ERROR_NULL_ARGUMENT, sotto_settings_add_relay(settings, NULL));
  EXPECT_STATUS(SOTTO_ERROR_INVALID_UTF8, sotto_settings_set_display_name(settings, "bad \xff name"));
  EXPECT_STATUS(SOTTO_ERROR_INVALID_ARGUMENT, sotto_settings_set_route(settings, 9, 0));
  EXPECT_STATUS(SOTTO_ERROR_INVALID_ARGUMENT, sotto_settings_set_cover_traffic(settings, -1, 0, 0, 0));
  EXPECT_STATUS(SOTTO_ERROR_INVALID_ARGUMENT, sotto_settings_set_call_timeout(settings, 0));
  CHECK(sotto_settings_set_call_timeout(settings, 300));

  /* The last error copied into the host's own buffer: too small says how large. */
  EXPECT_STATUS(SOTTO_ERROR_INVALID_ARGUMENT, sotto_settings_set_route(settings, 9, 0));
  size_t needed = 0;
  char small[4];
  EXPECT(sotto_last_error_copy(small, sizeof small, &needed) == SOTTO_ERROR_BUFFER_TOO_SMALL);
  EXPECT(needed == strlen(sotto_last_error_message()));
  char *whole = malloc(needed + 1);
  EXPECT(whole != NULL);
  EXPECT(sotto_last_error_copy(whole, needed + 1, &needed) == SOTTO_OK);
  EXPECT(strcmp(whole, sotto_last_error_message()) == 0 && strstr(whole, "hops"));
  free(whole);
  for (int i = 0; i < relays; i++) CHECK(sotto_settings_add_relay(settings, addresses[i]));

  char nowhere[4096];
  path_in(nowhere, sizeof nowhere, root, "nobody-here");
  SottoMessenger *untouched = (SottoMessenger *)&settings; /* must not be overwritten */
  SottoMessenger *messenger = untouched;
  EXPECT_STATUS(SOTTO_ERROR_STORE, sotto_messenger_open(nowhere, "passphrase", settings, &messenger));
  EXPECT(messenger == untouched);
  EXPECT_STATUS(SOTTO_ERROR_NULL_ARGUMENT, sotto_messenger_open(NULL, "passphrase", settings, &messenger));
  EXPECT_STATUS(SOTTO_ERROR_NULL_ARGUMENT, sotto_messenger_open(nowhere, "passphrase", NULL, &messenger));
  EXPECT_STATUS(SOTTO_ERROR_NULL_ARGUMENT, sotto_messenger_start(NULL));
  EXPECT_STATUS(SOTTO_ERROR_NULL_ARGUMENT, sotto_messenger_send_text(NULL, "c", "t", NULL));
  sotto_settings_free(settings);
  sotto_settings_free(NULL);
  sotto_messenger_free(NULL);
  sotto_subscription_free(NULL);
  sotto_event_free(NULL);
  sotto_string_free(NULL);
  SottoBytes empty = {NULL, 0};
  sotto_bytes_free(empty);
  EXPECT(sotto_event_kind(NULL) == SOTTO_EVENT_KIND_MISSED);
  EXPECT(sotto_event_text(NULL) == NULL);
  EXPECT(sotto_subscription_fd(NULL) == -1);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s <scratch folder> <relay address>...\n", argv[0]);
    return 2;
  }
  const char *root = argv[1];
  int relays = argc - 2;
  char **addresses = argv + 2;

  EXPECT(sotto_abi_version() == SOTTO_ABI_VERSION);
  error_paths(relays, addresses, root);

  char alice_dir[4096], bob_dir[4096];
  path_in(alice_dir, sizeof alice_dir, root, "alice");
  path_in(bob_dir, sizeof bob_dir, root, "bob");
  SottoSettings *alice_settings = settings_for(relays, addresses, "Alice");
  SottoSettings *bob_settings = settings_for(relays, addresses, "Bob");
  SottoMessenger *alice = NULL, *bob = NULL;
  CHECK(sotto_messenger_create(alice_dir, "alice's passphrase", alice_settings, &alice));
  CHECK(sotto_messenger_create(bob_dir, "bob's passphrase", bob_settings, &bob));
  /* This program left SIGPIPE at its default: the library made it "ignore", so a write to
   * a connection a relay closed fails with EPIPE rather than killing the program. */
  struct sigaction sigpipe;
  EXPECT(sigaction(SIGPIPE, NULL, &sigpipe) == 0 && sigpipe.sa_handler == SIG_IGN);

  char *identity = NULL;
  CHECK(sotto_messenger_identity(alice, &identity));
  EXPECT(strncmp(identity, "sotto-id:", 9) == 0);
  sotto_string_free(identity);

  static struct event_log alice_log = {
      .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER, .count = 0};
  int alice_seen = 0;
  CHECK(sotto_messenger_set_event_callback(alice, on_event, &alice_log));
  SottoSubscription *bob_events = NULL;
  CHECK(sotto_messenger_subscribe(bob, &bob_events));
  CHECK(sotto_messenger_start(alice));
  CHECK(sotto_messenger_start(bob));

  /* Meeting: Alice's link, Bob accepts; Alice hears of Bob, Bob of Alice's answer. */
  char *link = NULL, *alice_at_bob = NULL;
  CHECK(sotto_messenger_create_invitation(alice, &link));
  SottoBytes png = {NULL, 0};
  CHECK(sotto_invitation_qr_png(link, &png));
  EXPECT(png.len > 8 && memcmp(png.data, "\x89PNG\r\n\x1a\n", 8) == 0);
  sotto_bytes_free(png);
  char *svg = NULL;
  CHECK(sotto_invitation_qr_svg(link, &svg));
  EXPECT(strstr(svg, "<svg") != NULL);
  sotto_string_free(svg);
  EXPECT_STATUS(SOTTO_ERROR_INVITATION, sotto_invitation_qr_svg("sotto:garbage", &svg));
  CHECK(sotto_messenger_accept_invitation(bob, link, &alice_at_bob));
  EXPECT_STATUS(SOTTO_ERROR_INVITATION, sotto_messenger_accept_invitation(bob, "sotto:garbage", &link));
  sotto_string_free(link);
  struct logged added = wait_logged(&alice_log, &alice_seen, SOTTO_EVENT_KIND_CONTACT_ADDED, "Bob");
  char bob_at_alice[80];
  copy(bob_at_alice, sizeof bob_at_alice, added.contact);
  SottoEvent *ready = wait_polled(bob_events, SOTTO_EVENT_KIND_CONTACT_READY, NULL);
  EXPECT(strcmp(sotto_event_contact(ready), alice_at_bob) == 0);
  sotto_event_free(ready);

  /* Bob writes; Alice's callback hears it, she reads it, Bob learns it was read. */
  char *sent_id = NULL;
  CHECK(sotto_messenger_send_text(bob, alice_at_bob, "hello from C", &sent_id));
  EXPECT(strlen(sent_id) == 32);
  struct logged received =
      wait_logged(&alice_log, &alice_seen, SOTTO_EVENT_KIND_MESSAGE_RECEIVED, "hello from C");
  EXPECT(strcmp(received.contact, bob_at_alice) == 0);
  EXPECT(strcmp(received.message_id, sent_id) == 0);
  CHECK(sotto_messenger_mark_read(alice, bob_at_alice, received.message_id));
  for (;;) {
    SottoEvent *status = wait_polled(bob_events, SOTTO_EVENT_KIND_STATUS_CHANGED, NULL);
    bool read = sotto_event_status(status) == SOTTO_DELIVERY_STATUS_READ &&
                strcmp(sotto_event_message_id(status, 0), sent_id) == 0;
    EXPECT(sotto_event_json(status) != NULL && strstr(sotto_event_json(status), "status_changed"));
    sotto_event_free(status);
    if (read) break;
  }
  sotto_string_free(sent_id);

  /* Alice answers (text with more than ASCII); Bob's poll brings it. */
  CHECK(sotto_messenger_send_text(alice, bob_at_alice, "grüße zurück ✓", NULL));
  SottoEvent *answer = wait_polled(bob_events, SOTTO_EVENT_KIND_MESSAGE_RECEIVED, "grüße zurück ✓");
  EXPECT(sotto_event_body_kind(answer) == SOTTO_BODY_KIND_TEXT);
  EXPECT(sotto_event_message_id_count(answer) == 1);
  EXPECT(sotto_event_message_id(answer, 1) == NULL);
  sotto_event_free(answer);

  /* Attachments: a file, an image and a voice clip from Bob, from a path and again from
   * memory (the image with a preview, the clip with a waveform), each downloaded by Alice
   * and identical. */
  const char *kinds[] = {"file", "image", "voice", "file-bytes", "image-bytes", "voice-bytes"};
  const uint8_t thumbnail[] = {0xff, 0xd8, 0xff, 0xe0, 'p', 'r', 'e', 'v'};
  const uint8_t waveform[] = {0, 40, 200, 255, 90};
  for (int k = 0; k < 6; k++) {
    char source[4096], target[4096], name[64];
    snprintf(name, sizeof name, "%s-source.bin", kinds[k]);
    path_in(source, sizeof source, root, name);
    size_t size = 150000 + 977 * (size_t)k;
    write_pattern(source, size, (unsigned char)k);
    uint8_t *data = NULL;
    if (k >= 3) {
      data = malloc(size);
      EXPECT(data != NULL);
      FILE *file = fopen(source, "rb");
      EXPECT(file != NULL && fread(data, 1, size, file) == size);
      fclose(file);
    }
    char *id = NULL;
    switch (k) {
      case 0: CHECK(sotto_messenger_send_file(bob, alice_at_bob, source, "report.bin", NULL, &id)); break;
      case 1: CHECK(sotto_messenger_send_image(bob, alice_at_bob, source, "image/png", 640, 480, &id)); break;
      case 2: CHECK(sotto_messenger_send_voice_clip(bob, alice_at_bob, source, "opus", 2500, &id)); break;
      case 3:
        CHECK(sotto_messenger_send_file_bytes(bob, alice_at_bob, data, size, "memo.txt", "text/plain", &id));
        break;
      case 4:
        CHECK(sotto_messenger_send_image_bytes(bob, alice_at_bob, data, size, "image/jpeg", 32, 24,
                                               thumbnail, sizeof thumbnail, &id));
        break;
      default:
        CHECK(sotto_messenger_send_voice_clip_bytes(bob, alice_at_bob, data, size, "opus", 1200,
                                                    waveform, sizeof waveform, &id));
        break;
    }
    /* The caller's buffer is free for reuse once the call returned. */
    if (data != NULL) memset(data, 0, size);
    free(data);
    EXPECT(strlen(id) == 32);
    wait_message(&alice_log, id);
    snprintf(name, sizeof name, "%s-downloaded.bin", kinds[k]);
    path_in(target, sizeof target, root, name);
    uint64_t downloaded = 0;
    CHECK(sotto_messenger_download_attachment(alice, bob_at_alice, id, target, &downloaded));
    EXPECT(downloaded == size);
    EXPECT(same_files(source, target));
    sotto_string_free(id);
  }
  EXPECT_STATUS(SOTTO_ERROR_ATTACHMENT,
                sotto_messenger_send_file(bob, alice_at_bob, "/nonexistent/file", "x", NULL, NULL));
  EXPECT_STATUS(SOTTO_ERROR_NULL_ARGUMENT,
                sotto_messenger_send_file_bytes(bob, alice_at_bob, NULL, 10, "x", NULL, NULL));
  uint8_t big_preview[SOTTO_MAX_THUMBNAIL_BYTES + 1] = {0};
  EXPECT_STATUS(SOTTO_ERROR_CONTENT,
                sotto_messenger_send_image_bytes(bob, alice_at_bob, waveform, sizeof waveform, "image/png",
                                                 1, 1, big_preview, sizeof big_preview, NULL));
  uint8_t long_waveform[SOTTO_MAX_WAVEFORM_SAMPLES + 1] = {0};
  EXPECT_STATUS(SOTTO_ERROR_CONTENT,
                sotto_messenger_send_voice_clip_bytes(bob, alice_at_bob, waveform, sizeof waveform, "opus",
                                                      10, long_waveform, sizeof long_waveform, NULL));

  /* History and contacts as JSON; safety numbers compared both ways. */
  char *json = NULL;
  CHECK(sotto_messenger_history_json(alice, bob_at_alice, NULL, 3, &json));
  /* The last three: the attachments from memory, with their preview and waveform. */
  EXPECT(json[0] == '[' && strstr(json, "\"voice_clip\"") && strstr(json, "\"image\"") &&
         strstr(json, "memo.txt") && !strstr(json, "report.bin") &&
         strstr(json, "\"thumbnail\":\"/9j/4HByZXY=\"") &&
         strstr(json, "\"waveform\":[0,40,200,255,90]"));
  sotto_string_free(json);
  CHECK(sotto_messenger_history_json(alice, bob_at_alice, NULL, 100, &json));
  /* Alice read Bob's first text; his attachments are received, not read. */
  EXPECT(strstr(json, "hello from C") && strstr(json, "\"read\"") && strstr(json, "\"received\""));
  sotto_string_free(json);
  EXPECT_STATUS(SOTTO_ERROR_INVALID_ARGUMENT,
                sotto_messenger_history_json(alice, bob_at_alice, NULL, 100000, &json));
  CHECK(sotto_messenger_contacts_json(alice, &json));
  EXPECT(strstr(json, bob_at_alice) && strstr(json, "\"verified\":false"));
  sotto_string_free(json);
  char *alice_digits = NULL, *bob_digits = NULL;
  SottoBytes alice_code = {NULL, 0}, qr = {NULL, 0};
  CHECK(sotto_messenger_safety_number(alice, bob_at_alice, &alice_digits, &alice_code, &qr));
  CHECK(sotto_messenger_safety_number(bob, alice_at_bob, &bob_digits, NULL, NULL));
  EXPECT(strlen(alice_digits) == 60 && strcmp(alice_digits, bob_digits) == 0);
  EXPECT(qr.len > 8 && memcmp(qr.data, "\x89PNG", 4) == 0);
  int match = -1;
  CHECK(sotto_messenger_compare_safety_code(bob, alice_at_bob, alice_code.data, alice_code.len, &match));
  EXPECT(match == 1);
  CHECK(sotto_messenger_mark_verified(bob, alice_at_bob));
  CHECK(sotto_messenger_contacts_json(bob, &json));
  EXPECT(strstr(json, "\"verified\":true"));
  sotto_string_free(json);
  EXPECT_STATUS(SOTTO_ERROR_SAFETY,
                sotto_messenger_compare_safety_code(bob, alice_at_bob, (const uint8_t *)"junk", 4, &match));
  sotto_string_free(alice_digits);
  sotto_string_free(bob_digits);
  sotto_bytes_free(alice_code);
  sotto_bytes_free(qr);

  /* Local edits: a name, a deleted message. */
  CHECK(sotto_messenger_rename_contact(alice, bob_at_alice, "Bobby"));
  CHECK(sotto_messenger_contacts_json(alice, &json));
  EXPECT(strstr(json, "\"name\":\"Bobby\""));
  sotto_string_free(json);
  CHECK(sotto_messenger_delete_message(alice, bob_at_alice, received.message_id));
  CHECK(sotto_messenger_history_json(alice, bob_at_alice, NULL, 100, &json));
  EXPECT(strstr(json, "hello from C") == NULL);
  sotto_string_free(json);
  EXPECT_STATUS(SOTTO_ERROR_UNKNOWN_MESSAGE,
                sotto_messenger_delete_message(alice, bob_at_alice, "00000000000000000000000000000000"));

  /* Network settings at runtime: Alice turns cover traffic on and off again; settings
   * without a relay are refused and change nothing. */
  CHECK(sotto_messenger_network_settings_json(alice, &json));
  EXPECT(strstr(json, "\"hops\":3") && strstr(json, "\"cover\":null") &&
         strstr(json, addresses[0]));
  sotto_string_free(json);
  SottoSettings *network = settings_for(relays, addresses, "");
  CHECK(sotto_settings_set_cover_traffic(network, 0.2, 0.05, 0.05, 60000));
  CHECK(sotto_messenger_set_network_settings(alice, network));
  CHECK(sotto_messenger_network_settings_json(alice, &json));
  EXPECT(strstr(json, "\"payload_per_second\":0.2") && strstr(json, "\"loop_timeout_ms\":60000"));
  sotto_string_free(json);
  CHECK(sotto_settings_set_cover_traffic(network, 0, 0, 0, 0));
  CHECK(sotto_messenger_set_network_settings(alice, network));
  sotto_settings_free(network);
  SottoSettings *no_relay = NULL;
  CHECK(sotto_settings_new(&no_relay));
  EXPECT_STATUS(SOTTO_ERROR_TRANSPORT, sotto_messenger_set_network_settings(alice, no_relay));
  sotto_settings_free(no_relay);
  CHECK(sotto_messenger_network_settings_json(alice, &json));
  EXPECT(strstr(json, "\"cover\":null") && strstr(json, addresses[0]));
  sotto_string_free(json);

  /* 8 threads of Bob's at once on one handle: every text arrives once. */
  pthread_t threads[THREADS];
  struct sender senders[THREADS];
  for (int t = 0; t < THREADS; t++) {
    senders[t] = (struct sender){.messenger = bob, .contact = alice_at_bob, .thread = t};
    EXPECT(pthread_create(&threads[t], NULL, send_from_thread, &senders[t]) == 0);
  }
  for (int t = 0; t < THREADS; t++) {
    EXPECT(pthread_join(threads[t], NULL) == 0);
    EXPECT(senders[t].failed == 0);
  }
  for (int t = 0; t < THREADS; t++) {
    for (int i = 0; i < PER_THREAD; i++) {
      char expected[64];
      snprintf(expected, sizeof expected, "thread %d message %d", t, i);
      int from = alice_seen;
      wait_logged(&alice_log, &from, SOTTO_EVENT_KIND_MESSAGE_RECEIVED, expected);
      EXPECT(count_logged(&alice_log, alice_seen, SOTTO_EVENT_KIND_MESSAGE_RECEIVED, expected) == 1);
    }
  }

  /* Search: texts and file names. */
  CHECK(sotto_messenger_search_json(alice, bob_at_alice, "thread 3 message 4", 10, &json));
  EXPECT(strstr(json, "thread 3 message 4") && !strstr(json, "thread 2"));
  sotto_string_free(json);
  CHECK(sotto_messenger_search_json(alice, bob_at_alice, "memo", 10, &json));
  EXPECT(strstr(json, "memo.txt") && !strstr(json, "report.bin"));
  sotto_string_free(json);

  /* Bob changes his passphrase while his messenger runs. */
  CHECK(sotto_messenger_change_passphrase(bob, "bob's new passphrase"));
  CHECK(sotto_messenger_send_text(bob, alice_at_bob, "after the new passphrase", NULL));
  wait_logged(&alice_log, &alice_seen, SOTTO_EVENT_KIND_MESSAGE_RECEIVED, "after the new passphrase");

  /* Errors with a live messenger. */
  EXPECT_STATUS(SOTTO_ERROR_UNKNOWN_CONTACT,
                sotto_messenger_send_text(alice, "00000000000000000000000000000000", "x", NULL));
  EXPECT_STATUS(SOTTO_ERROR_INVALID_ARGUMENT, sotto_messenger_send_text(alice, "not a contact", "x", NULL));
  EXPECT_STATUS(SOTTO_ERROR_INVALID_ARGUMENT, sotto_messenger_send_text(alice, "", "x", NULL));
  EXPECT_STATUS(SOTTO_ERROR_INVALID_ARGUMENT,
                sotto_messenger_mark_read(alice, bob_at_alice, "not a message id"));
  EXPECT_STATUS(SOTTO_ERROR_INVALID_UTF8, sotto_messenger_send_text(alice, bob_at_alice, "\xc3", NULL));

  /* Shut down: every later call says so; the subscription ends. */
  CHECK(sotto_messenger_shutdown(alice));
  CHECK(sotto_messenger_shutdown(bob));
  EXPECT_STATUS(SOTTO_ERROR_SHUT_DOWN, sotto_messenger_send_text(alice, bob_at_alice, "late", NULL));
  SottoEvent *late = NULL;
  SottoStatus end;
  while ((end = sotto_subscription_next(bob_events, &late)) == SOTTO_OK) sotto_event_free(late);
  double deadline = now_seconds() + PATIENCE_SECONDS;
  while (end == SOTTO_NO_EVENT && now_seconds() < deadline) {
    struct pollfd readable = {.fd = sotto_subscription_fd(bob_events), .events = POLLIN};
    poll(&readable, 1, 100);
    while ((end = sotto_subscription_next(bob_events, &late)) == SOTTO_OK) sotto_event_free(late);
  }
  EXPECT(end == SOTTO_ERROR_SHUT_DOWN);
  sotto_subscription_free(bob_events);
  sotto_messenger_free(alice);
  sotto_messenger_free(bob);

  /* Bob's profile opens again with his new passphrase only. */
  SottoMessenger *again = NULL;
  EXPECT_STATUS(SOTTO_ERROR_KEY, sotto_messenger_open(bob_dir, "not bob's", bob_settings, &again));
  EXPECT_STATUS(SOTTO_ERROR_KEY, sotto_messenger_open(bob_dir, "bob's passphrase", bob_settings, &again));
  EXPECT(again == NULL);
  CHECK(sotto_messenger_open(bob_dir, "bob's new passphrase", bob_settings, &again));
  CHECK(sotto_messenger_shutdown(again));
  sotto_messenger_free(again);

  sotto_string_free(alice_at_bob);
  sotto_settings_free(alice_settings);
  sotto_settings_free(bob_settings);
  puts("conversation: ok");
  return 0;
}
