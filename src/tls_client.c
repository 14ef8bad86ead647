/*
 * tls_client — client-side OpenSSL contexts for TLS backends, the SSL
 * of each connection (SNI, RFC 6066 §3; name checks, RFC 6125 §6;
 * ALPN, RFC 7301) and session resumption per server.  See tls_client.h
 * for the policy.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls_client.h"

/* ALPN: the one protocol, in wire format (RFC 7301 §3.1). */
static const unsigned char tls_client_alpn[] = "\x08http/1.1";

/* The last session of one server, and where the callback finds tc. */
struct tls_client_session {
	struct tls_client	*tc;
	unsigned char		*der;		/* i2d_SSL_SESSION, or NULL */
	size_t			 len;
};

struct tls_client {
	SSL_CTX				*ctx;
	pthread_mutex_t			 lock;	/* every sessions[i].der */
	struct tls_client_session	*sessions;
	size_t				 nsessions;
};

/* The SSL ex_data slot holding a connection's tls_client_session. */
static int		tls_client_index = -1;
static pthread_once_t	tls_client_once = PTHREAD_ONCE_INIT;

static void
tls_client_index_init(void)
{
	tls_client_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

void
tls_client_error(const SSL *ssl, unsigned long e, char *buf, size_t len)
{
	const char	*reason = e != 0 ? ERR_reason_error_string(e) : NULL;
	long		 v;

	/* A file that cannot be opened is errno's, which has no string
	 * in OpenSSL's tables. */
	if (e != 0 && ERR_GET_LIB(e) == ERR_LIB_SYS)
		snprintf(buf, len, "%s", strerror(ERR_GET_REASON(e)));
	else if (reason != NULL)
		snprintf(buf, len, "%s", reason);
	else if (e != 0)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "TLS failure");
	/* With verify off the result is recorded too: only a failed
	 * verification is explained by it. */
	if (ssl == NULL || ERR_GET_LIB(e) != ERR_LIB_SSL ||
	    ERR_GET_REASON(e) != SSL_R_CERTIFICATE_VERIFY_FAILED ||
	    (v = SSL_get_verify_result(ssl)) == X509_V_OK)
		return;
	snprintf(buf + strlen(buf), len - strlen(buf), " (%s)",
	    X509_verify_cert_error_string(v));
}

static void	tls_client_fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * The message, then ": " and the reason of the oldest error in
 * OpenSSL's queue (the cause), which is then emptied.
 */
static void
tls_client_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list		 ap;
	unsigned long	 e = ERR_peek_error();
	size_t		 n;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (e != 0 && (n = strlen(err)) + 2 < errlen) {
		snprintf(err + n, errlen - n, ": ");
		tls_client_error(NULL, e, err + n + 2, errlen - n - 2);
	}
	ERR_clear_error();
}

/* Refuses encrypted keys rather than prompting on the terminal. */
static int
tls_client_passwd_cb(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return 0;
}

/* The client certificate: the chain file, then its key. */
static int
tls_client_load_identity(SSL_CTX *ctx, const struct tls_client_options *o,
    char *err, size_t errlen)
{
	if (o->certificate == NULL && o->key == NULL)
		return 0;
	if (o->certificate == NULL || o->key == NULL) {
		snprintf(err, errlen, "a client certificate needs its key, "
		    "and a key its certificate");
		return -1;
	}
	SSL_CTX_set_default_passwd_cb(ctx, tls_client_passwd_cb);
	if (SSL_CTX_use_certificate_chain_file(ctx, o->certificate) != 1) {
		tls_client_fail(err, errlen, "%s: cannot load certificate",
		    o->certificate);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1) {
		tls_client_fail(err, errlen, "%s: cannot load private key "
		    "for %s", o->key, o->certificate);
		return -1;
	}
	return 0;
}

/* Where the server's chain must lead, and how strictly. */
static int
tls_client_load_trust(SSL_CTX *ctx, const struct tls_client_options *o,
    char *err, size_t errlen)
{
	SSL_CTX_set_verify(ctx, o->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
	    NULL);
	if (!o->verify)
		return 0;
	if (o->ca == NULL) {
		if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			tls_client_fail(err, errlen, "cannot load the default "
			    "CA certificates");
			return -1;
		}
		return 0;
	}
	if (SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
		tls_client_fail(err, errlen, "%s: cannot load CA certificates",
		    o->ca);
		return -1;
	}
	return 0;
}

/*
 * A new session from server slot s: kept as DER for the next
 * connection, replacing the one before (TLS 1.3 servers send several
 * tickets; the last is as good as any).  Returns 0: OpenSSL keeps its
 * reference.
 */
static int
tls_client_new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_client_session	*s;
	unsigned char			*der, *p;
	int				 len;

	s = SSL_get_ex_data(ssl, tls_client_index);
	if (s == NULL || !SSL_SESSION_is_resumable(sess) ||
	    (len = i2d_SSL_SESSION(sess, NULL)) <= 0 ||
	    (der = malloc((size_t)len)) == NULL)
		return 0;
	p = der;
	if (i2d_SSL_SESSION(sess, &p) != len) {
		free(der);
		return 0;
	}
	pthread_mutex_lock(&s->tc->lock);
	free(s->der);
	s->der = der;
	s->len = (size_t)len;
	pthread_mutex_unlock(&s->tc->lock);
	return 0;
}

static int
tls_client_configure(struct tls_client *tc, const struct tls_client_options *o,
    char *err, size_t errlen)
{
	SSL_CTX	*ctx = tc->ctx;
	int	 min = o->min_version == 0 ? TLS1_2_VERSION : o->min_version;

	if (min != TLS1_2_VERSION && min != TLS1_3_VERSION) {
		snprintf(err, errlen, "minimum TLS version must be 1.2 or 1.3");
		return -1;
	}
	if (SSL_CTX_set_min_proto_version(ctx, min) != 1) {
		tls_client_fail(err, errlen, "cannot set the minimum TLS "
		    "version");
		return -1;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* 0 is success here (RFC 7301 wire format, one protocol). */
	if (o->alpn_http11 && SSL_CTX_set_alpn_protos(ctx, tls_client_alpn,
	    sizeof(tls_client_alpn) - 1) != 0) {
		tls_client_fail(err, errlen, "cannot offer ALPN");
		return -1;
	}
	/* Sessions go to tls_client_new_session_cb only, not to a cache
	 * of OpenSSL's that the worker threads would contend for. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, tls_client_new_session_cb);
	if (tls_client_load_trust(ctx, o, err, errlen) == -1 ||
	    tls_client_load_identity(ctx, o, err, errlen) == -1)
		return -1;
	return 0;
}

struct tls_client *
tls_client_new(const struct tls_client_options *o, char *err, size_t errlen)
{
	struct tls_client	*tc;
	size_t			 i;

	pthread_once(&tls_client_once, tls_client_index_init);
	if (tls_client_index == -1) {
		tls_client_fail(err, errlen, "cannot get an SSL ex_data index");
		return NULL;
	}
	if ((tc = calloc(1, sizeof(*tc))) == NULL ||
	    (tc->sessions = calloc(o->nservers > 0 ? o->nservers : 1,
	    sizeof(*tc->sessions))) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(tc);
		return NULL;
	}
	pthread_mutex_init(&tc->lock, NULL);
	tc->nsessions = o->nservers;
	for (i = 0; i < tc->nsessions; i++)
		tc->sessions[i].tc = tc;
	ERR_clear_error();
	if ((tc->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_client_fail(err, errlen, "cannot create a TLS context");
		tls_client_free(tc);
		return NULL;
	}
	if (tls_client_configure(tc, o, err, errlen) == -1) {
		tls_client_free(tc);
		return NULL;
	}
	return tc;
}

/* Whether name is an IPv4 or IPv6 address ("::1", no brackets). */
static bool
tls_client_is_ip(const char *name)
{
	struct in6_addr	a;

	return inet_pton(AF_INET, name, &a) == 1 ||
	    inet_pton(AF_INET6, name, &a) == 1;
}

/* SNI and the name the certificate must have; 0 or -1. */
static int
tls_client_set_name(SSL *ssl, const char *name)
{
	if (name == NULL)
		return 0;
	if (tls_client_is_ip(name))
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    name) == 1 ? 0 : -1;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set_tlsext_host_name(ssl, name) != 1 ||
	    SSL_set1_host(ssl, name) != 1)
		return -1;
	return 0;
}

/* Offers the server's last session, decoded for this connection alone. */
static int
tls_client_resume(struct tls_client *tc, SSL *ssl,
    struct tls_client_session *s)
{
	const unsigned char	*p;
	SSL_SESSION		*sess = NULL;
	int			 rc = 0;

	if (SSL_set_ex_data(ssl, tls_client_index, s) != 1)
		return -1;
	pthread_mutex_lock(&tc->lock);
	if (s->der != NULL) {
		p = s->der;
		sess = d2i_SSL_SESSION(NULL, &p, (long)s->len);
	}
	pthread_mutex_unlock(&tc->lock);
	if (sess != NULL && SSL_set_session(ssl, sess) != 1)
		rc = -1;
	SSL_SESSION_free(sess);
	return rc;
}

SSL *
tls_client_ssl(struct tls_client *tc, size_t server, const char *name,
    bool resume)
{
	SSL	*ssl;

	if ((ssl = SSL_new(tc->ctx)) == NULL)
		goto fail;
	SSL_set_connect_state(ssl);
	if (tls_client_set_name(ssl, name) == -1)
		goto fail;
	if (resume && server < tc->nsessions &&
	    tls_client_resume(tc, ssl, &tc->sessions[server]) == -1)
		goto fail;
	return ssl;
fail:
	SSL_free(ssl);
	ERR_clear_error();
	return NULL;
}

void
tls_client_free(struct tls_client *tc)
{
	size_t	i;

	if (tc == NULL)
		return;
	SSL_CTX_free(tc->ctx);
	for (i = 0; i < tc->nsessions; i++)
		free(tc->sessions[i].der);
	free(tc->sessions);
	pthread_mutex_destroy(&tc->lock);
	free(tc);
}
