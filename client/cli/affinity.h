/* SPDX-License-Identifier: BSD-3-Clause */
/* affinity.h -- keeping the transfer thread and the file I/O thread on different CPUs */
#ifndef RDMACPY_CLI_AFFINITY_H
#define RDMACPY_CLI_AFFINITY_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

/*
 * With soft-RoCE (rxe, siw) the protocol work of a transfer runs in the kernel on the CPU that
 * posted it, so the thread that talks to the library is busy for the whole copy, and a file
 * I/O thread that the scheduler puts beside it halves the rate. --cpu N keeps the transfer
 * thread on N and the I/O thread on the other CPUs the process may use.
 */

/* cli_cpu_usable -- cpu is one this process may run on */
bool cli_cpu_usable(int cpu);

/*
 * cli_affinity_split -- move the calling thread to cpu alone, saving its mask in saved, and
 * set io_attr so that a thread created with it runs on the other allowed CPUs (on cpu too
 * when it is the only one). 0, or an errno.
 */
int cli_affinity_split(int cpu, cpu_set_t *saved, pthread_attr_t *io_attr);

/* cli_affinity_restore -- give the calling thread back the mask cli_affinity_split saved */
void cli_affinity_restore(const cpu_set_t *saved);

#endif
