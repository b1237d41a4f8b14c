/* SPDX-License-Identifier: BSD-3-Clause */
/* size.h -- byte sizes as people write them: 64K, 4MiB, 1G */
#ifndef RDMACPY_COMMON_SIZE_H
#define RDMACPY_COMMON_SIZE_H

#include <stddef.h>
#include <stdint.h>

/*
 * rcp_size_parse -- parse "N[unit]" where unit is B, K/KiB, M/MiB, G/GiB or T/TiB (any case,
 * all powers of 1024, as RDMA buffers are). Surrounding blanks are refused.
 * ERRORS: -EINVAL empty, no digits, unknown unit or trailing text; -ERANGE overflow.
 */
int rcp_size_parse(const char *s, uint64_t *out);

/* rcp_size_format -- the largest unit that divides n exactly ("64 MiB", "4097 B") */
void rcp_size_format(uint64_t n, char *buf, size_t cap);

#endif
