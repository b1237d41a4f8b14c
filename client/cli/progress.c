/* SPDX-License-Identifier: BSD-3-Clause */
/* progress.c -- a progress line on a terminal: bytes, rate, ETA; silent on a pipe */

#include "client/cli/progress.h"

#include <time.h>
#include <unistd.h>

#include "common/size.h"

/* cli_now_ns -- monotonic nanoseconds */
uint64_t cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* cli_format_rate -- "123.4 MB/s" */
void cli_format_rate(double bytes_per_s, char *buf, size_t cap)
{
	snprintf(buf, cap, "%.1f MB/s", bytes_per_s / 1e6);
}

/* human -- bytes with one decimal in binary units, for the moving counter */
static void human(uint64_t n, char *buf, size_t cap)
{
	static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	unsigned i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, cap, i ? "%.1f %s" : "%.0f %s", v, names[i]);
}

/* draw -- one carriage-returned line */
static void draw(struct cli_progress *p, uint64_t now)
{
	double secs = (double)(now - p->start_ns) / 1e9;
	double rate = secs > 0 ? (double)p->done / secs : 0;
	char done[32];
	char total[32];
	char r[32];

	human(p->done, done, sizeof(done));
	cli_format_rate(rate, r, sizeof(r));
	if (p->total) {
		double frac = (double)p->done / (double)p->total;
		double eta = rate > 0 ? (double)(p->total - p->done) / rate : 0;

		human(p->total, total, sizeof(total));
		fprintf(p->out, "\r%s %5.1f%% %s / %s  %s  ETA %2.0fs   ", p->label, frac * 100,
			done, total, r, eta);
	} else {
		fprintf(p->out, "\r%s %s  %s   ", p->label, done, r);
	}
	fflush(p->out);
	p->last_draw_ns = now;
}

/* cli_progress_init -- draw on a terminal only */
void cli_progress_init(struct cli_progress *p, FILE *out, bool quiet, const char *label,
		       uint64_t total)
{
	p->out = out;
	p->enabled = !quiet && isatty(fileno(out));
	p->total = total;
	p->done = 0;
	p->start_ns = cli_now_ns();
	p->last_draw_ns = 0;
	p->label = label;
}

/* cli_progress_update -- account bytes and redraw at most ten times a second */
void cli_progress_update(struct cli_progress *p, uint64_t bytes_now_done)
{
	uint64_t now;

	p->done = bytes_now_done;
	if (!p->enabled)
		return;
	now = cli_now_ns();
	if (now - p->last_draw_ns >= 100000000ull)
		draw(p, now);
}

/* cli_progress_finish -- final redraw and newline */
void cli_progress_finish(struct cli_progress *p)
{
	if (!p->enabled)
		return;
	draw(p, cli_now_ns());
	fputc('\n', p->out);
}
