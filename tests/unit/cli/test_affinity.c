/* SPDX-License-Identifier: BSD-3-Clause */
/* test_affinity.c -- --cpu: the transfer thread on one CPU, the file I/O thread off it */

#include <criterion/criterion.h>
#include <errno.h>

#include "client/cli/affinity.h"

/* first_allowed -- the lowest CPU this process may use */
static int first_allowed(const cpu_set_t *set)
{
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, set))
			return i;
	return -1;
}

static void *report_mask(void *arg)
{
	pthread_getaffinity_np(pthread_self(), sizeof(cpu_set_t), arg);
	return NULL;
}

Test(affinity, usable__only_cpus_in_the_mask)
{
	cpu_set_t allowed;

	cr_assert_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	cr_assert(cli_cpu_usable(first_allowed(&allowed)));
	cr_assert_not(cli_cpu_usable(-1));
	cr_assert_not(cli_cpu_usable(CPU_SETSIZE));
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (!CPU_ISSET(i, &allowed)) {
			cr_assert_not(cli_cpu_usable(i), "CPU %d is not in the mask", i);
			break;
		}
}

Test(affinity, split__caller_alone_io_elsewhere_then_restored)
{
	cpu_set_t allowed, saved, self, io, after;
	pthread_attr_t attr;
	pthread_t t;
	int cpu;

	cr_assert_eq(pthread_getaffinity_np(pthread_self(), sizeof(allowed), &allowed), 0);
	cpu = first_allowed(&allowed);
	cr_assert_eq(pthread_attr_init(&attr), 0);
	cr_assert_eq(cli_affinity_split(cpu, &saved, &attr), 0);
	cr_assert(CPU_EQUAL(&saved, &allowed));

	cr_assert_eq(pthread_getaffinity_np(pthread_self(), sizeof(self), &self), 0);
	cr_assert_eq(CPU_COUNT(&self), 1);
	cr_assert(CPU_ISSET(cpu, &self));

	CPU_ZERO(&io);
	cr_assert_eq(pthread_create(&t, &attr, report_mask, &io), 0);
	pthread_join(t, NULL);
	pthread_attr_destroy(&attr);
	if (CPU_COUNT(&allowed) > 1) {
		cr_assert_not(CPU_ISSET(cpu, &io), "the I/O thread may not share the CPU");
		cr_assert_eq(CPU_COUNT(&io), CPU_COUNT(&allowed) - 1);
	} else {
		cr_assert(CPU_EQUAL(&io, &allowed), "one CPU: both threads share it");
	}

	cli_affinity_restore(&saved);
	cr_assert_eq(pthread_getaffinity_np(pthread_self(), sizeof(after), &after), 0);
	cr_assert(CPU_EQUAL(&after, &allowed));
}

Test(affinity, split__refuses_a_cpu_outside_the_mask)
{
	cpu_set_t saved, before, after;
	pthread_attr_t attr;

	cr_assert_eq(pthread_getaffinity_np(pthread_self(), sizeof(before), &before), 0);
	cr_assert_eq(pthread_attr_init(&attr), 0);
	cr_assert_eq(cli_affinity_split(-1, &saved, &attr), EINVAL);
	cr_assert_eq(cli_affinity_split(CPU_SETSIZE, &saved, &attr), EINVAL);
	pthread_attr_destroy(&attr);
	cr_assert_eq(pthread_getaffinity_np(pthread_self(), sizeof(after), &after), 0);
	cr_assert(CPU_EQUAL(&before, &after), "a refused split leaves the thread alone");
}
