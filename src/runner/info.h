/* SPDX-License-Identifier: MIT */
/* What an agent or a person needs to know before sending code: moat's
 * version, the protections in force on this machine (what `moat doctor`
 * finds), the limit sets, the languages installed and the modes. For
 * `moat info` and the "info" operation of `moat serve`. */
#pragma once

#include <stdio.h>

#include "sandbox/probe.h"
#include "util/json.h"

void info_json(const struct system_facts *f, struct json *j);
void info_text(const struct system_facts *f, FILE *out);
