/* The C side of relay-server/benches/c_abi_overhead.rs: two profiles meet through the C
 * ABI and one sends `count` texts to the other, whose callback counts them in. Prints the
 * seconds from the first send to the last message received, as `seconds <s>`.
 *
 * usage: throughput <scratch folder> <relay address> <count>
 *
 * The same work as the Rust side of the bench: direct writes to one relay, the messengers'
 * background work on, events through the callback (on a library thread). */

#include "../tests/c/common.h"

#include <pthread.h>

struct counter {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  long received;
  int ready;
  char contact[80];
};

static void on_event(void *user_data, const SottoEvent *event) {
  struct counter *counter = user_data;
  SottoEventKind kind = sotto_event_kind(event);
  pthread_mutex_lock(&counter->lock);
  switch (kind) {
    case SOTTO_EVENT_KIND_MESSAGE_RECEIVED: counter->received++; break;
    case SOTTO_EVENT_KIND_CONTACT_READY: counter->ready = 1; break;
    case SOTTO_EVENT_KIND_CONTACT_ADDED:
      snprintf(counter->contact, sizeof counter->contact, "%s", sotto_event_contact(event));
      break;
    case SOTTO_EVENT_KIND_MISSED:
      fprintf(stderr, "the callback missed events\n");
      exit(1);
    default: break;
  }
  pthread_cond_broadcast(&counter->changed);
  pthread_mutex_unlock(&counter->lock);
}

/* Waits until `done(counter)` holds, at most `seconds`. */
static void wait_until(struct counter *counter, int (*done)(const struct counter *), int seconds) {
  double deadline = now_seconds() + seconds;
  pthread_mutex_lock(&counter->lock);
  while (!done(counter)) {
    if (now_seconds() > deadline) {
      fprintf(stderr, "timed out (%ld received)\n", counter->received);
      exit(1);
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    pthread_cond_timedwait(&counter->changed, &counter->lock, &until);
  }
  pthread_mutex_unlock(&counter->lock);
}

static long wanted;
static int all_received(const struct counter *c) { return c->received >= wanted; }
static int is_ready(const struct counter *c) { return c->ready; }
static int has_contact(const struct counter *c) { return c->contact[0] != '\0'; }

static SottoMessenger *messenger(const char *root, const char *name, const char *relay,
                                 struct counter *counter) {
  SottoSettings *settings = NULL;
  CHECK(sotto_settings_new(&settings));
  CHECK(sotto_settings_add_relay(settings, relay));
  CHECK(sotto_settings_set_display_name(settings, name));
  CHECK(sotto_settings_set_route(settings, 0, 0));
  char directory[4096];
  path_in(directory, sizeof directory, root, name);
  SottoMessenger *messenger = NULL;
  CHECK(sotto_messenger_create(directory, name, settings, &messenger));
  sotto_settings_free(settings);
  CHECK(sotto_messenger_set_event_callback(messenger, on_event, counter));
  CHECK(sotto_messenger_start(messenger));
  return messenger;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s <scratch folder> <relay address> <count>\n", argv[0]);
    return 2;
  }
  wanted = atol(argv[3]);
  static struct counter sender_events = {
      .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
  static struct counter recipient_events = {
      .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
  SottoMessenger *sender = messenger(argv[1], "c-sender", argv[2], &sender_events);
  SottoMessenger *recipient = messenger(argv[1], "c-recipient", argv[2], &recipient_events);

  char *link = NULL, *unused = NULL;
  CHECK(sotto_messenger_create_invitation(sender, &link));
  CHECK(sotto_messenger_accept_invitation(recipient, link, &unused));
  sotto_string_free(link);
  sotto_string_free(unused);
  wait_until(&sender_events, has_contact, PATIENCE_SECONDS);
  wait_until(&recipient_events, is_ready, PATIENCE_SECONDS);

  double started = now_seconds();
  for (long i = 0; i < wanted; i++) {
    char text[32];
    snprintf(text, sizeof text, "message %ld", i);
    char *id = NULL;
    CHECK(sotto_messenger_send_text(sender, sender_events.contact, text, &id));
    sotto_string_free(id);
  }
  wait_until(&recipient_events, all_received, 3600);
  double elapsed = now_seconds() - started;

  CHECK(sotto_messenger_shutdown(sender));
  CHECK(sotto_messenger_shutdown(recipient));
  sotto_messenger_free(sender);
  sotto_messenger_free(recipient);
  printf("seconds %.6f\n", elapsed);
  return 0;
}
