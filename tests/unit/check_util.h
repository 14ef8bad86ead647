/*
 * check_util.h — helpers several unit suites share.
 */
#ifndef WSGATE_CHECK_UTIL_H
#define WSGATE_CHECK_UTIL_H

#include <stddef.h>

#include <check.h>
#include <openssl/ssl.h>

/*
 * Files a suite needs made at run time (certificates, keys): script is
 * run by sh with a fresh temporary directory as $1 and in it.  For an
 * unchecked fixture: make them once, remove them at the end.
 */
void		 check_files_make(const char *script);
/* The path of a made file; the last 8 returned stay valid. */
const char	*check_files_path(const char *name);
void		 check_files_remove(void);
/* fmt with every "%" replaced by the directory of the made files. */
void		 check_files_expand(const char *fmt, char *out, size_t size);

/* One side of a TLS handshake driven step by step, on non-blocking fds. */
enum check_tls_state {
	CHECK_TLS_PENDING,
	CHECK_TLS_DONE,
	CHECK_TLS_FAILED
};

struct check_tls_side {
	SSL			*ssl;
	enum check_tls_state	 state;
	unsigned long		 err;	/* OpenSSL's error, when failed */
};

/* One SSL_do_handshake() of a side still pending. */
void		 check_tls_step(struct check_tls_side *side);

#endif
