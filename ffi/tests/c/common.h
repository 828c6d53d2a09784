/*
 * What the C tests share: checks that stop the program with the failing call's status and
 * message, and waiting for polled events.
 *
 * SPDX-License-Identifier: AGPL-3.0-or-later
 */
#ifndef SOTTO_TEST_COMMON_H
#define SOTTO_TEST_COMMON_H

#define _POSIX_C_SOURCE 200809L

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sotto.h"

/* How long any one expected event may take (the relays run on loopback). */
#define PATIENCE_SECONDS 60

static inline void fail(const char *file, int line, const char *what, SottoStatus status) {
  const char *why = sotto_last_error_message();
  fprintf(stderr, "%s:%d: %s -> status %d (%s)\n", file, line, what, (int)status,
          why ? why : "no message");
  exit(1);
}

#define CHECK(call)                                          \
  do {                                                       \
    SottoStatus status_ = (call);                            \
    if (status_ != SOTTO_OK) fail(__FILE__, __LINE__, #call, status_); \
  } while (0)

/* A call that must fail with `expected`, leaving a message. */
#define EXPECT_STATUS(expected, call)                                              \
  do {                                                                             \
    SottoStatus status_ = (call);                                                  \
    if (status_ != (expected)) fail(__FILE__, __LINE__, #call " (wanted " #expected ")", status_); \
    if (sotto_last_error_message() == NULL) {                                      \
      fprintf(stderr, "%s:%d: %s left no error message\n", __FILE__, __LINE__, #call); \
      exit(1);                                                                     \
    }                                                                              \
  } while (0)

#define EXPECT(condition)                                                        \
  do {                                                                           \
    if (!(condition)) {                                                          \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #condition);   \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

static inline double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- Events polled from a subscription's file descriptor ---- */

/* Waits for an event of this kind (and, if given, text) and returns it (the caller frees
 * it); the events before it are dropped. */
static inline SottoEvent *wait_polled(SottoSubscription *subscription, SottoEventKind kind,
                               const char *text) {
  double deadline = now_seconds() + PATIENCE_SECONDS;
  struct pollfd readable = {.fd = sotto_subscription_fd(subscription), .events = POLLIN};
  EXPECT(readable.fd >= 0);
  while (now_seconds() < deadline) {
    if (poll(&readable, 1, 1000) < 0) {
      perror("poll");
      exit(1);
    }
    SottoEvent *event = NULL;
    SottoStatus status;
    while ((status = sotto_subscription_next(subscription, &event)) == SOTTO_OK) {
      const char *got = sotto_event_text(event);
      if (sotto_event_kind(event) == kind && (text == NULL || (got && strcmp(got, text) == 0))) {
        return event;
      }
      sotto_event_free(event);
      event = NULL;
    }
    if (status != SOTTO_NO_EVENT) fail(__FILE__, __LINE__, "sotto_subscription_next", status);
  }
  fprintf(stderr, "no polled event of kind %d within %d s\n", (int)kind, PATIENCE_SECONDS);
  exit(1);
}

static inline SottoSettings *settings_for(int relays, char **addresses, const char *name) {
  SottoSettings *settings = NULL;
  CHECK(sotto_settings_new(&settings));
  for (int i = 0; i < relays; i++) CHECK(sotto_settings_add_relay(settings, addresses[i]));
  CHECK(sotto_settings_set_display_name(settings, name));
  CHECK(sotto_settings_set_route(settings, 3, 0));
  return settings;
}

static inline void path_in(char *target, size_t size, const char *root, const char *name) {
  snprintf(target, size, "%s/%s", root, name);
}

#endif /* SOTTO_TEST_COMMON_H */
