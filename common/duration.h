/* SPDX-License-Identifier: BSD-3-Clause */
/* duration.h -- time spans as people write them: 5s, 500ms, 2m */
#ifndef RDMACPY_COMMON_DURATION_H
#define RDMACPY_COMMON_DURATION_H

#include <stdint.h>

/*
 * rcp_duration_parse -- "N[unit]" into milliseconds, unit ms, s, m or h (seconds when there is
 * none). Surrounding blanks are refused.
 * ERRORS: -EINVAL empty, no digits, unknown unit or trailing text; -ERANGE overflow.
 */
int rcp_duration_parse(const char *s, uint64_t *ms);

#endif
