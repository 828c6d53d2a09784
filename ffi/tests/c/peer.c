/* The C peer of the bindings' interoperability test (bindings/tests/interop): one profile
 * on libsotto, driven by lines on standard input and answering on standard output, in the
 * protocol bindings/tests/interop/peer.py describes (the peers in Python, Rust and Kotlin
 * speak it too). Events arrive through the callback, on a library thread.
 *
 * usage: peer <profile folder> <relay>... */

#include "common.h"

#include <pthread.h>

#define MAX_SEEN 256

struct seen {
  SottoEventKind kind;
  char contact[80];
  char message_id[40];
  char *json; /* the whole event, for the body */
};

static struct {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  struct seen events[MAX_SEEN];
  int count;
} seen = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};

static void on_event(void *user_data, const SottoEvent *event) {
  (void)user_data;
  pthread_mutex_lock(&seen.lock);
  if (seen.count < MAX_SEEN) {
    struct seen *entry = &seen.events[seen.count++];
    entry->kind = sotto_event_kind(event);
    const char *contact = sotto_event_contact(event);
    const char *id = sotto_event_message_id(event, 0);
    snprintf(entry->contact, sizeof entry->contact, "%s", contact ? contact : "");
    snprintf(entry->message_id, sizeof entry->message_id, "%s", id ? id : "");
    entry->json = strdup(sotto_event_json(event));
  }
  pthread_cond_broadcast(&seen.changed);
  pthread_mutex_unlock(&seen.lock);
}

/* Waits (holding the lock while it looks) for the first event from `*from` on that
 * `matches`; returns its index and moves `*from` past it when `consume`. */
static int wait_event(int *from, bool consume, bool (*matches)(const struct seen *, const char **),
                      const char **args) {
  double deadline = now_seconds() + PATIENCE_SECONDS;
  pthread_mutex_lock(&seen.lock);
  for (;;) {
    for (int i = *from; i < seen.count; i++) {
      if (matches(&seen.events[i], args)) {
        if (consume) *from = i + 1;
        pthread_mutex_unlock(&seen.lock);
        return i;
      }
    }
    if (now_seconds() > deadline) {
      fprintf(stderr, "peer: no matching event within %d s\n", PATIENCE_SECONDS);
      exit(1);
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    pthread_cond_timedwait(&seen.changed, &seen.lock, &until);
  }
}

static bool is_added(const struct seen *e, const char **args) {
  (void)args;
  return e->kind == SOTTO_EVENT_KIND_CONTACT_ADDED;
}
static bool is_ready(const struct seen *e, const char **args) {
  return e->kind == SOTTO_EVENT_KIND_CONTACT_READY && strcmp(e->contact, args[0]) == 0;
}
/* A text `args[1]` from contact `args[0]`: the body JSON holds "text":"<text>". */
static bool is_text(const struct seen *e, const char **args) {
  char needle[512];
  snprintf(needle, sizeof needle, "\"text\":\"%s\"", args[1]);
  return e->kind == SOTTO_EVENT_KIND_MESSAGE_RECEIVED && strcmp(e->contact, args[0]) == 0 &&
         strstr(e->json, needle) != NULL;
}
/* A file named `args[1]` from contact `args[0]`. */
static bool is_file(const struct seen *e, const char **args) {
  char needle[512];
  snprintf(needle, sizeof needle, "\"name\":\"%s\"", args[1]);
  return e->kind == SOTTO_EVENT_KIND_MESSAGE_RECEIVED && strcmp(e->contact, args[0]) == 0 &&
         strstr(e->json, "\"type\":\"file\"") != NULL && strstr(e->json, needle) != NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s <profile folder> <relay>...\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  SottoSettings *settings = settings_for(argc - 2, argv + 2, "c");
  SottoMessenger *messenger = NULL;
  CHECK(sotto_messenger_create(argv[1], "interop", settings, &messenger));
  CHECK(sotto_messenger_set_event_callback(messenger, on_event, NULL));
  CHECK(sotto_messenger_start(messenger));
  char *identity = NULL;
  CHECK(sotto_messenger_identity(messenger, &identity));
  printf("ready %s\n", identity);
  sotto_string_free(identity);

  int added_from = 0;
  char line[8192];
  while (fgets(line, sizeof line, stdin) != NULL) {
    const char *words[4] = {NULL, NULL, NULL, NULL};
    int n = 0;
    for (char *word = strtok(line, " \n"); word != NULL && n < 4; word = strtok(NULL, " \n")) {
      words[n++] = word;
    }
    if (n == 0) continue;
    const char *command = words[0];
    const char **args = words + 1;
    char *out = NULL;
    if (strcmp(command, "invite") == 0) {
      CHECK(sotto_messenger_create_invitation(messenger, &out));
      printf("link %s\n", out);
    } else if (strcmp(command, "accept") == 0 && n == 2) {
      CHECK(sotto_messenger_accept_invitation(messenger, args[0], &out));
      const char *ready_args[] = {out};
      int from = 0;
      wait_event(&from, false, is_ready, ready_args);
      printf("contact %s\n", out);
    } else if (strcmp(command, "await-contact") == 0) {
      int i = wait_event(&added_from, true, is_added, args);
      printf("contact %s\n", seen.events[i].contact);
    } else if (strcmp(command, "send") == 0 && n == 3) {
      CHECK(sotto_messenger_send_text(messenger, args[0], args[1], &out));
      printf("sent %s\n", out);
    } else if (strcmp(command, "send-file") == 0 && n == 4) {
      CHECK(sotto_messenger_send_file(messenger, args[0], args[1], args[2], NULL, &out));
      printf("sent %s\n", out);
    } else if (strcmp(command, "expect") == 0 && n == 3) {
      int from = 0;
      wait_event(&from, false, is_text, args);
      printf("got\n");
    } else if (strcmp(command, "expect-file") == 0 && n == 4) {
      int from = 0;
      int i = wait_event(&from, false, is_file, args);
      uint64_t size = 0;
      CHECK(sotto_messenger_download_attachment(messenger, args[0], seen.events[i].message_id,
                                                args[2], &size));
      printf("got %llu\n", (unsigned long long)size);
    } else if (strcmp(command, "quit") == 0) {
      CHECK(sotto_messenger_shutdown(messenger));
      printf("bye\n");
      break;
    } else {
      printf("error unknown command %s\n", command);
    }
    sotto_string_free(out);
  }
  sotto_messenger_free(messenger);
  sotto_settings_free(settings);
  pthread_mutex_lock(&seen.lock);
  for (int i = 0; i < seen.count; i++) free(seen.events[i].json);
  pthread_mutex_unlock(&seen.lock);
  return 0;
}
