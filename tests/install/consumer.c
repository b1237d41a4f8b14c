/* SPDX-License-Identifier: BSD-3-Clause */
/* consumer.c -- a program built against an installed librdmacpy, as its users build theirs: it
 * asks for a connection nothing answers and expects a library code back */
#include <stdio.h>

#include <rdmacpy.h>

int main(void)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;
	int ret;

	rdmacpy_conn_opts_init(&o);
	o.timeout_ms = 2000;
	/* port 1: no daemon listens there, with or without an RDMA device on this machine */
	ret = rdmacpy_conn_open("127.0.0.1", 1, &o, &c);
	if (ret == 0) {
		rdmacpy_conn_close(&c);
		fprintf(stderr, "consumer: connected to port 1?\n");
		return 1;
	}
	printf("librdmacpy %d.%d: connecting to 127.0.0.1:1 fails with %d (%s)\n",
	       RDMACPY_VERSION_MAJOR, RDMACPY_VERSION_MINOR, ret, rdmacpy_strerror(ret));
	/* a library code, never a leaked errno */
	return ret <= RDMACPY_E_FIRST && ret >= RDMACPY_E_LAST ? 0 : 1;
}
