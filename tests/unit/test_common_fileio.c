/* read_proc_file_at (src/common/fileio.c): one read less per /proc file on the attach path,
 * and still every byte, whatever the file's size. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "common/fileio.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void assert_reads_alike(const char *path, size_t at_least)
{
	struct cntr_err err;
	char *whole = NULL, *once = NULL;
	size_t whole_len = 0, once_len = 0;

	assert_int_equal(read_file_at(AT_FDCWD, path, &whole, &whole_len, &err), 0);
	assert_int_equal(read_proc_file_at(AT_FDCWD, path, &once, &once_len, &err), 0);
	assert_true(whole_len >= at_least);
	assert_int_equal(once_len, whole_len);
	assert_memory_equal(once, whole, whole_len);
	assert_int_equal(once[once_len], '\0');
	free(whole);
	free(once);
}

/* A stopped child's files do not change between the two reads. Its environment is
 * env_bytes long (in /proc/PID/environ, a copy from its memory). */
static pid_t stopped_child(size_t env_bytes)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char *big = malloc(env_bytes + 8);
		char *argv[] = { "sh", "-c", "kill -STOP $$", NULL };
		char *envp[] = { big, NULL };

		if (!big)
			_exit(1);
		memcpy(big, "BIG=", 4);
		memset(big + 4, 'x', env_bytes);
		big[env_bytes + 4] = '\0';
		execve("/bin/sh", argv, envp);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, NULL, WUNTRACED), pid);
	return pid;
}

static void kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void read_both(pid_t pid, const char *what, size_t at_least)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	assert_reads_alike(path, at_least);
}

static void test_one_piece_proc_files_read_whole(void **state)
{
	pid_t pid = stopped_child(16);

	(void)state;
	read_both(pid, "status", 100);
	read_both(pid, "cmdline", 1);
	read_both(pid, "cgroup", 1);
	read_both(pid, "environ", 16);
	kill_child(pid);
}

/* Larger than the first read's buffer: the rest is read on to the end. */
static void test_one_piece_proc_files_beyond_one_buffer_read_whole(void **state)
{
	pid_t pid = stopped_child(20000);

	(void)state;
	read_both(pid, "environ", 20000);
	kill_child(pid);
}

/* Why read_proc_file_at is never used on a multi-record seq_file: a read there stops short
 * of the next record that does not fit, though more follows. */
static void test_multi_record_seq_files_stop_short_of_a_record(void **state)
{
	pid_t pid = stopped_child(16);
	char path[64], *whole = NULL, *once = NULL;
	size_t whole_len = 0, once_len = 0;
	struct cntr_err err;

	(void)state;
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	assert_int_equal(read_file_at(AT_FDCWD, path, &whole, &whole_len, &err), 0);
	assert_int_equal(read_proc_file_at(AT_FDCWD, path, &once, &once_len, &err), 0);
	kill_child(pid);
	assert_true(whole_len > 8192);
	assert_true(once_len < 4096);
	assert_memory_equal(once, whole, once_len);
	free(whole);
	free(once);
}

static void test_missing_file_fails_with_its_name(void **state)
{
	struct cntr_err err;
	char *text = NULL;

	(void)state;
	assert_true(read_proc_file_at(AT_FDCWD, "/proc/self/no-such-file", &text, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "/proc/self/no-such-file"));
	assert_null(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_piece_proc_files_read_whole),
		cmocka_unit_test(test_one_piece_proc_files_beyond_one_buffer_read_whole),
		cmocka_unit_test(test_multi_record_seq_files_stop_short_of_a_record),
		cmocka_unit_test(test_missing_file_fails_with_its_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
