/* SPDX-License-Identifier: BSD-3-Clause */
/* spec.h -- remote range specs on the command line: HOST:REGION[@OFFSET][+LENGTH] */
#ifndef RDMACPY_CLI_SPEC_H
#define RDMACPY_CLI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_HOST_MAX   256
#define CLI_REGION_MAX 64

struct cli_spec {
	char host[CLI_HOST_MAX];
	uint16_t port;	/* the daemon's port when the directory said it; 0: --port */
	char node[64];	/* NODE/REGION: the node named, else "" */
	char region[CLI_REGION_MAX];
	uint64_t offset;
	uint64_t length;
	bool has_length;
};

/*
 * cli_spec_parse -- split "HOST:REGION[@OFFSET][+LENGTH]"; an IPv6 host goes in brackets
 * ("[fe80::1]:buf"). OFFSET and LENGTH take size units (64K, 1MiB). A LENGTH of 0 is refused.
 * On error, a sentence for the user is written to err.
 * ERRORS: -EINVAL malformed; -ENAMETOOLONG host or region too long; -ERANGE overflow.
 */
int cli_spec_parse(const char *text, struct cli_spec *spec, char *err, size_t errcap);

/*
 * cli_spec_parse_name -- split "REGION[@OFFSET][+LENGTH]" or "NODE/REGION[@OFFSET][+LENGTH]",
 * the forms a region takes when the cluster directory says where it is; host stays empty
 */
int cli_spec_parse_name(const char *text, struct cli_spec *spec, char *err, size_t errcap);

/* cli_spec_is_remote -- whether an argument looks like HOST:REGION rather than a file */
bool cli_spec_is_remote(const char *text);

#endif
