// The header in a C++ translation unit: its declarations get C linkage (extern "C"), and
// the library's functions are callable from C++.
//
// SPDX-License-Identifier: AGPL-3.0-or-later
#include "sotto.h"

static_assert(SOTTO_ABI_VERSION_MAJOR == (SOTTO_ABI_VERSION >> 16), "the version macros agree");

extern "C++" unsigned abi_version_from_cpp() { return sotto_abi_version(); }
