/* SPDX-License-Identifier: BSD-3-Clause */
/* progress.h -- a progress line on a terminal: bytes, rate, ETA; silent on a pipe */
#ifndef RDMACPY_CLI_PROGRESS_H
#define RDMACPY_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cli_progress {
	FILE *out;
	bool enabled;
	uint64_t total;
	uint64_t done;
	uint64_t start_ns;
	uint64_t last_draw_ns;
	const char *label;
};

/* cli_now_ns -- monotonic nanoseconds */
uint64_t cli_now_ns(void);

/*
 * cli_progress_init -- draw on out only when it is a terminal and quiet is off; total 0 means
 * unknown (a stream from stdin), in which case no percentage or ETA is shown.
 */
void cli_progress_init(struct cli_progress *p, FILE *out, bool quiet, const char *label,
		       uint64_t total);

/* cli_progress_update -- account bytes and redraw at most ten times a second */
void cli_progress_update(struct cli_progress *p, uint64_t bytes_now_done);

/* cli_progress_finish -- final redraw and newline (nothing when disabled) */
void cli_progress_finish(struct cli_progress *p);

/* cli_format_rate -- "123.4 MB/s" (decimal megabytes, as perftest prints) */
void cli_format_rate(double bytes_per_s, char *buf, size_t cap);

#endif
