/*
 * One person in a process of its own, for the test where two processes meet and talk
 * through real relays (relay-server/tests/c_abi.rs runs one of each):
 *
 *   person inviter <profile folder> <relay address>...
 *     prints "link <invitation link>", waits for the contact and its message, answers,
 *     waits until the answer is delivered, prints "inviter: ok".
 *   person invitee <profile folder> <link> <relay address>...
 *     accepts the link, waits until the inviter answered, writes, waits for the answer,
 *     prints "invitee: ok".
 *
 * SPDX-License-Identifier: AGPL-3.0-or-later
 */
#include "common.h"

static const char *const GREETING = "hello from another process";
static const char *const ANSWER = "and hello back";

static void inviter(SottoMessenger *me, SottoSubscription *events) {
  char *link = NULL;
  CHECK(sotto_messenger_create_invitation(me, &link));
  printf("link %s\n", link);
  fflush(stdout);
  sotto_string_free(link);

  SottoEvent *added = wait_polled(events, SOTTO_EVENT_KIND_CONTACT_ADDED, "invitee");
  char contact[80];
  snprintf(contact, sizeof contact, "%s", sotto_event_contact(added));
  sotto_event_free(added);
  SottoEvent *greeting = wait_polled(events, SOTTO_EVENT_KIND_MESSAGE_RECEIVED, GREETING);
  EXPECT(strcmp(sotto_event_contact(greeting), contact) == 0);
  sotto_event_free(greeting);

  char *answer_id = NULL;
  CHECK(sotto_messenger_send_text(me, contact, ANSWER, &answer_id));
  for (;;) {
    SottoEvent *status = wait_polled(events, SOTTO_EVENT_KIND_STATUS_CHANGED, NULL);
    bool delivered = sotto_event_status(status) == SOTTO_DELIVERY_STATUS_DELIVERED &&
                     strcmp(sotto_event_message_id(status, 0), answer_id) == 0;
    sotto_event_free(status);
    if (delivered) break;
  }
  sotto_string_free(answer_id);
}

static void invitee(SottoMessenger *me, SottoSubscription *events, const char *link) {
  char *contact = NULL;
  CHECK(sotto_messenger_accept_invitation(me, link, &contact));
  SottoEvent *ready = wait_polled(events, SOTTO_EVENT_KIND_CONTACT_READY, NULL);
  EXPECT(strcmp(sotto_event_contact(ready), contact) == 0);
  sotto_event_free(ready);
  CHECK(sotto_messenger_send_text(me, contact, GREETING, NULL));
  SottoEvent *answer = wait_polled(events, SOTTO_EVENT_KIND_MESSAGE_RECEIVED, ANSWER);
  EXPECT(strcmp(sotto_event_contact(answer), contact) == 0);
  sotto_event_free(answer);
  sotto_string_free(contact);
}

int main(int argc, char **argv) {
  bool is_inviter = argc >= 4 && strcmp(argv[1], "inviter") == 0;
  bool is_invitee = argc >= 5 && strcmp(argv[1], "invitee") == 0;
  if (!is_inviter && !is_invitee) {
    fprintf(stderr, "usage: %s inviter <folder> <relay>... | invitee <folder> <link> <relay>...\n",
            argv[0]);
    return 2;
  }
  int first_relay = is_inviter ? 3 : 4;
  SottoSettings *settings =
      settings_for(argc - first_relay, argv + first_relay, is_inviter ? "inviter" : "invitee");
  SottoMessenger *me = NULL;
  CHECK(sotto_messenger_create(argv[2], "a passphrase of this process", settings, &me));
  SottoSubscription *events = NULL;
  CHECK(sotto_messenger_subscribe(me, &events));
  CHECK(sotto_messenger_start(me));

  if (is_inviter) {
    inviter(me, events);
  } else {
    invitee(me, events, argv[3]);
  }

  CHECK(sotto_messenger_shutdown(me));
  sotto_subscription_free(events);
  sotto_messenger_free(me);
  sotto_settings_free(settings);
  printf("%s: ok\n", argv[1]);
  return 0;
}
