/*
 * check_main.c — the main() of every unit test binary.  Debug a suite
 * with CK_FORK=no; select with CK_RUN_SUITE / CK_RUN_CASE.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

static char	check_files_dir[] = "/tmp/wsgate-check.XXXXXX";

const char *
check_files_path(const char *name)
{
	static char	paths[8][PATH_MAX];
	static int	next;
	char		*p;

	p = paths[next++ % 8];
	snprintf(p, PATH_MAX, "%s/%s", check_files_dir, name);
	return p;
}

void
check_files_make(const char *script)
{
	char	 cmd[PATH_MAX * 2];
	FILE	*f;

	ck_assert_ptr_nonnull(mkdtemp(check_files_dir));
	f = fopen(check_files_path("make.sh"), "w");
	ck_assert_ptr_nonnull(f);
	fputs(script, f);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "sh '%s/make.sh' '%s' >/dev/null 2>&1",
	    check_files_dir, check_files_dir);
	ck_assert_msg(system(cmd) == 0, "making the test files failed");
}

void
check_files_expand(const char *fmt, char *out, size_t size)
{
	size_t	n = 0;

	for (; *fmt != '\0' && n + 1 < size; fmt++) {
		if (*fmt == '%')
			n += (size_t)snprintf(out + n, size - n, "%s",
			    check_files_dir);
		else
			out[n++] = *fmt;
	}
	out[n < size ? n : size - 1] = '\0';
}

void
check_files_remove(void)
{
	char	 cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", check_files_dir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(check_files_dir + strlen(check_files_dir) - 6, "XXXXXX");
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	sr = srunner_create(check_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
