/*
 * The smallest C program using Sotto: it checks that the library matches the header,
 * creates a profile and prints its identity. Build it against an installed (or unpacked)
 * libsotto with pkg-config:
 *
 *   cc hello.c $(pkg-config --cflags --libs sotto) -o hello
 *   ./hello <new profile folder> <relay address>
 *
 * SPDX-License-Identifier: AGPL-3.0-or-later
 */
#include <stdio.h>

#include <sotto.h>

static int failed(const char *what) {
  const char *why = sotto_last_error_message();
  fprintf(stderr, "%s: %s\n", what, why ? why : "unknown error");
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <new profile folder> <relay address>\n", argv[0]);
    return 2;
  }
  if ((sotto_abi_version() >> 16) != SOTTO_ABI_VERSION_MAJOR) {
    fprintf(stderr, "libsotto's ABI %u is not this header's\n", sotto_abi_version() >> 16);
    return 1;
  }
  SottoSettings *settings = NULL;
  if (sotto_settings_new(&settings) != SOTTO_OK) return failed("settings");
  if (sotto_settings_add_relay(settings, argv[2]) != SOTTO_OK) return failed("relay address");
  /* One relay: packets go to it directly. With three relays or more, leave the default
   * (3-hop onion routes, so that no relay learns who talks to whom). */
  if (sotto_settings_set_route(settings, 0, 0) != SOTTO_OK) return failed("route");
  SottoMessenger *me = NULL;
  if (sotto_messenger_create(argv[1], "an example passphrase", settings, &me) != SOTTO_OK) {
    return failed("create a profile");
  }
  char *identity = NULL;
  if (sotto_messenger_identity(me, &identity) != SOTTO_OK) return failed("identity");
  printf("libsotto %u.%u.%u\n", sotto_abi_version() >> 16, (sotto_abi_version() >> 8) & 0xff,
         sotto_abi_version() & 0xff);
  printf("%s\n", identity);
  sotto_string_free(identity);
  sotto_messenger_shutdown(me);
  sotto_messenger_free(me);
  sotto_settings_free(settings);
  return 0;
}
