/* SPDX-License-Identifier: BSD-3-Clause */
/* stream_map.h -- put and get of a file on a memory file system, without copying its bytes */
#ifndef RDMACPY_CLI_STREAM_MAP_H
#define RDMACPY_CLI_STREAM_MAP_H

#include <stdbool.h>
#include <stdint.h>

#include "client/cli/stream.h"

/* returned before any byte moved when the file cannot be mapped: use the ring (stream.c) */
#define CLI_MAP_UNSUITABLE 1

/* cli_map_suitable -- fd is a regular file on tmpfs or ramfs, whose pages are the file */
bool cli_map_suitable(int fd);

/* cli_map_put -- s->total bytes of the file, from its start, to the grant: its pages are the
 * source. 0, an RDMACPY_E_*, -1 with the local cause in s, or CLI_MAP_UNSUITABLE */
int cli_map_put(struct cli_stream *s, uint64_t chunk, unsigned depth,
		void (*progress)(void *ctx, uint64_t done), void *ctx);

/* cli_map_get -- the grant into the file, sized to s->total: its pages are the destination */
int cli_map_get(struct cli_stream *s, uint64_t chunk, unsigned depth,
		void (*progress)(void *ctx, uint64_t done), void *ctx);

#endif
