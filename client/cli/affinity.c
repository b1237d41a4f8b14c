/* SPDX-License-Identifier: BSD-3-Clause */
/* affinity.c -- keeping the transfer thread and the file I/O thread on different CPUs */

#include "client/cli/affinity.h"

#include <errno.h>

/* cli_cpu_usable -- cpu is one this process may run on */
bool cli_cpu_usable(int cpu)
{
	cpu_set_t allowed;

	if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof(allowed), &allowed))
		return false;
	return CPU_ISSET(cpu, &allowed);
}

/* cli_affinity_split -- the caller on cpu, io_attr on the rest */
int cli_affinity_split(int cpu, cpu_set_t *saved, pthread_attr_t *io_attr)
{
	cpu_set_t self;
	cpu_set_t rest;
	int rc;

	/* the rest: what the process may use, less the transfer thread's CPU */
	if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof(rest), &rest) ||
	    !CPU_ISSET(cpu, &rest))
		return EINVAL;
	rc = pthread_getaffinity_np(pthread_self(), sizeof(*saved), saved);
	if (rc)
		return rc;
	CPU_CLR(cpu, &rest);
	if (CPU_COUNT(&rest) == 0)
		CPU_SET(cpu, &rest);
	rc = pthread_attr_setaffinity_np(io_attr, sizeof(rest), &rest);
	if (rc)
		return rc;
	CPU_ZERO(&self);
	CPU_SET(cpu, &self);
	return pthread_setaffinity_np(pthread_self(), sizeof(self), &self);
}

/* cli_affinity_restore -- undo cli_affinity_split for the calling thread */
void cli_affinity_restore(const cpu_set_t *saved)
{
	pthread_setaffinity_np(pthread_self(), sizeof(*saved), saved);
}
