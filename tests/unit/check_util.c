/*
 * check_util.c — helpers several unit suites share: files made at run
 * time, and driving both sides of a TLS handshake in one thread.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "check_util.h"

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

void
check_tls_step(struct check_tls_side *side)
{
	int	rc;

	if (side->state != CHECK_TLS_PENDING)
		return;
	if ((rc = SSL_do_handshake(side->ssl)) == 1) {
		side->state = CHECK_TLS_DONE;
		return;
	}
	switch (SSL_get_error(side->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return;
	default:
		side->state = CHECK_TLS_FAILED;
		side->err = ERR_peek_last_error();
		ERR_clear_error();
	}
}
