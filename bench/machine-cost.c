/*
 * SPDX-License-Identifier: ISC
 *
 * machine-cost.c -- what the primitives a new process is made of cost on
 * this machine: a system call, a page fault on a new anonymous page, a
 * copy-on-write fault after fork, and a fork whose child exits at once,
 * with and without touching pages.  bench/run prints these beside its
 * figures: Tern starts one smtpd per connection, so at one message per
 * connection its CPU per message follows these numbers, while Postfix,
 * which reuses its processes, hardly depends on them.
 *
 * Usage: machine-cost            (prints "name value unit" lines)
 * Every loop has a fixed count; nothing but this process and its
 * children is touched.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define PAGE		4096
#define PAGES		1024	/* pages per fault measurement */
#define SYSCALLS	100000
#define FORKS		200
#define TOUCHED		64	/* pages a child writes in the second fork test */

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* CPU time of this process and its reaped children, in microseconds. */
static double
cpu_us(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec +
	    kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) * 1e6 +
	    (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec +
	    kids.ru_utime.tv_usec + kids.ru_stime.tv_usec);
}

static char *
map_pages(size_t n)
{
	char *p;

	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static void
touch(volatile char *p, size_t n, char v)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i * PAGE] = v;
}

/* Mean CPU of a fork whose child writes `pages` pages of p, then exits. */
static double
fork_cost(volatile char *p, size_t pages)
{
	double c0;
	pid_t pid;
	int i;

	c0 = cpu_us();
	for (i = 0; i < FORKS; i++) {
		if ((pid = fork()) == -1) {
			perror("fork");
			exit(1);
		}
		if (pid == 0) {
			touch(p, pages, 3);
			_exit(0);
		}
		if (waitpid(pid, NULL, 0) == -1) {
			perror("waitpid");
			exit(1);
		}
	}
	return (cpu_us() - c0) / FORKS;
}

int
main(void)
{
	int fd[2];
	double t0, syscall_us, anon_us, cow_us;
	char *a, *b, c;
	pid_t pid;
	int i;

	t0 = now_us();
	for (i = 0; i < SYSCALLS; i++)
		(void)syscall(SYS_getppid);
	syscall_us = (now_us() - t0) / SYSCALLS;

	a = map_pages(PAGES);
	t0 = now_us();
	touch(a, PAGES, 1);
	anon_us = (now_us() - t0) / PAGES;

	/* A child writes every page its parent had written: all COW. */
	if (pipe(fd) == -1 || (pid = fork()) == -1) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(fd[0]);
		t0 = now_us();
		touch(a, PAGES, 2);
		cow_us = (now_us() - t0) / PAGES;
		(void)write(fd[1], &cow_us, sizeof(cow_us));
		_exit(0);
	}
	close(fd[1]);
	if (read(fd[0], &cow_us, sizeof(cow_us)) != (ssize_t)sizeof(cow_us)) {
		fprintf(stderr, "no answer from the child\n");
		return 1;
	}
	waitpid(pid, NULL, 0);

	b = map_pages(TOUCHED);
	touch(b, TOUCHED, 1);
	c = 0;
	printf("syscall %.2f us\n", syscall_us);
	printf("anon_fault %.2f us\n", anon_us);
	printf("cow_fault %.2f us\n", cow_us);
	printf("fork_exit %.0f us\n", fork_cost(&c, 0));
	printf("fork_touch%d_exit %.0f us\n", TOUCHED, fork_cost(b, TOUCHED));
	return 0;
}
