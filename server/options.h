/* SPDX-License-Identifier: BSD-3-Clause */
/* options.h -- rdmacpyd's command line */
#ifndef RDMACPY_SERVER_OPTIONS_H
#define RDMACPY_SERVER_OPTIONS_H

#include "server/config.h"

/* rcp_options_parse -- flags and config files into cfg, in order: 0, 1 when --help or
 * --version ran (exit 0), -EINVAL after a usage message */
int rcp_options_parse(struct rcp_config *cfg, int argc, char **argv);

#endif /* RDMACPY_SERVER_OPTIONS_H */
