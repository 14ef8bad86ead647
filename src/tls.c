/*
 * tls — the server-side OpenSSL contexts of a TLS listener (one per
 * certificate, chosen by SNI, RFC 6066 §3), ALPN (RFC 7301), and the
 * certificate checks of "wsgate -t".  See tls.h for the policy.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"

/*
 * TLS 1.2: forward secrecy and authenticated encryption only, as in
 * Mozilla's "intermediate" profile; the server's order decides.
 */
#define TLS_DEFAULT_CIPHERS	"ECDHE+AESGCM:ECDHE+CHACHA20"

/*
 * Sessions are only resumed by a context with the same id: the same for
 * every context of every listener, as they all serve the same routes.
 */
#define TLS_SESSION_ID_CONTEXT	"wsgate"

/* ALPN: the one protocol, in wire format (RFC 7301 §3.1). */
static const unsigned char tls_alpn_http11[] = "\x08http/1.1";
#define TLS_ALPN_HTTP11_LEN	(sizeof(tls_alpn_http11) - 1)

/* One certificate pair, with the names SNI is matched against. */
struct tls_identity {
	SSL_CTX		 *ctx;
	char		**names;	/* DNS names, or the CN */
	size_t		  nnames;
};

struct tls_server {
	struct tls_identity	*ids;	/* ids[0] is the default */
	size_t			 nids;
	atomic_uint		 refs;	/* listeners, handshaking sessions */
};

static void	tls_error(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * Writes the message, then ": " and the reason of the oldest error in
 * OpenSSL's queue (the cause; later ones only say who called), and
 * empties the queue so that no stale error is reported later.
 */
static void
tls_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list		 ap;
	unsigned long	 e;
	char		 reason[256];
	size_t		 n;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);

	e = ERR_get_error();
	ERR_clear_error();
	if (e == 0)
		return;
	ERR_error_string_n(e, reason, sizeof(reason));
	n = strlen(err);
	if (n < errlen)
		snprintf(err + n, errlen - n, ": %s", reason);
}

/* Refuses encrypted keys rather than prompting on the terminal. */
static int
tls_passwd_cb(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return 0;
}

/* Whether OpenSSL's last error says a key is not the certificate's. */
static bool
tls_key_mismatch(void)
{
	unsigned long	 e = ERR_peek_last_error();

	return ERR_GET_LIB(e) == ERR_LIB_X509 &&
	    ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH;
}

/* Loads a certificate chain and its key into ctx; 0 or -1 with err. */
static int
tls_load_pair(SSL_CTX *ctx, const struct tls_cert *c, char *err,
    size_t errlen)
{
	ERR_clear_error();
	SSL_CTX_set_default_passwd_cb(ctx, tls_passwd_cb);
	if (SSL_CTX_use_certificate_chain_file(ctx, c->certificate) != 1) {
		tls_error(err, errlen, "%s: cannot load certificate",
		    c->certificate);
		return -1;
	}
	/* Loading the key already compares it with the certificate. */
	if (SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) != 1 &&
	    !tls_key_mismatch()) {
		tls_error(err, errlen, "%s: cannot load private key", c->key);
		return -1;
	}
	if (ERR_peek_error() != 0 || SSL_CTX_check_private_key(ctx) != 1) {
		tls_error(err, errlen,
		    "%s: key does not match certificate %s", c->key,
		    c->certificate);
		return -1;
	}
	return 0;
}

bool
tls_name_matches(const char *pattern, const char *name)
{
	const char	*dot;

	if (*name == '\0')
		return false;
	if (strncmp(pattern, "*.", 2) != 0)
		return strchr(pattern, '*') == NULL &&
		    strcasecmp(pattern, name) == 0;

	/* "*.test" would match a whole top-level domain. */
	pattern += 2;
	if (strchr(pattern, '*') != NULL || strchr(pattern, '.') == NULL)
		return false;
	dot = strchr(name, '.');
	if (dot == NULL || dot == name)
		return false;
	return strcasecmp(pattern, dot + 1) == 0;
}

/* Adds a copy of the n bytes at s to id's names; 0, or -1 if no memory. */
static int
tls_identity_add_name(struct tls_identity *id, const unsigned char *s,
    int n)
{
	char	**names;

	/* A name with a NUL inside is forged to fool C string compares. */
	if (n <= 0 || memchr(s, '\0', n) != NULL)
		return 0;
	names = reallocarray(id->names, id->nnames + 1, sizeof(*names));
	if (names == NULL)
		return -1;
	id->names = names;
	if ((names[id->nnames] = strndup((const char *)s, n)) == NULL)
		return -1;
	id->nnames++;
	return 0;
}

/* The subjectAltName DNS entries of x; 0 or -1 if no memory. */
static int
tls_identity_add_san(struct tls_identity *id, X509 *x)
{
	GENERAL_NAMES		*gens;
	const GENERAL_NAME	*gen;
	int			 i, rc = 0;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL)
		return 0;
	for (i = 0; i < sk_GENERAL_NAME_num(gens) && rc == 0; i++) {
		gen = sk_GENERAL_NAME_value(gens, i);
		if (gen->type != GEN_DNS)
			continue;
		rc = tls_identity_add_name(id,
		    ASN1_STRING_get0_data(gen->d.dNSName),
		    ASN1_STRING_length(gen->d.dNSName));
	}
	GENERAL_NAMES_free(gens);
	return rc;
}

/*
 * The names of the certificate loaded in id->ctx: its DNS
 * subjectAltNames, or its most specific common name when it has none
 * (RFC 6125 §6.4.4).  0, or -1 with err.
 */
static int
tls_identity_names(struct tls_identity *id, const char *file, char *err,
    size_t errlen)
{
	X509			*x;
	const X509_NAME		*subject;
	const ASN1_STRING	*cn;
	int			 i;

	x = SSL_CTX_get0_certificate(id->ctx);
	if (tls_identity_add_san(id, x) == -1)
		goto nomem;
	if (id->nnames > 0)
		return 0;
	subject = X509_get_subject_name(x);
	i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
	if (i == -1)
		return 0;
	while (X509_NAME_get_index_by_NID(subject, NID_commonName, i) != -1)
		i = X509_NAME_get_index_by_NID(subject, NID_commonName, i);
	cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
	if (tls_identity_add_name(id, ASN1_STRING_get0_data(cn),
	    ASN1_STRING_length(cn)) == -1)
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "%s: out of memory", file);
	return -1;
}

/*
 * The identity whose names match the SNI host name: an exact name
 * before a wildcard, the earlier certificate first; NULL if none does.
 */
static const struct tls_identity *
tls_server_select(const struct tls_server *ts, const char *host)
{
	const struct tls_identity	*id;
	size_t				 i, j;
	int				 wild;

	for (wild = 0; wild <= 1; wild++) {
		for (i = 0; i < ts->nids; i++) {
			id = &ts->ids[i];
			for (j = 0; j < id->nnames; j++) {
				if ((id->names[j][0] == '*') != wild)
					continue;
				if (tls_name_matches(id->names[j], host))
					return id;
			}
		}
	}
	return NULL;
}

/*
 * SNI: moves the connection to the matching certificate's context.  A
 * client that sends no name, or one we have no certificate for, gets
 * the default certificate rather than an alert, as nginx and HAProxy do:
 * the Host header still decides the route.
 */
static int
tls_servername_cb(SSL *ssl, int *alert, void *arg)
{
	const struct tls_server		*ts = arg;
	const struct tls_identity	*id;
	const char			*host;

	(void)alert;
	host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (host == NULL)
		return SSL_TLSEXT_ERR_OK;
	id = tls_server_select(ts, host);
	if (id != NULL && id->ctx != SSL_get_SSL_CTX(ssl))
		SSL_set_SSL_CTX(ssl, id->ctx);
	return SSL_TLSEXT_ERR_OK;
}

/*
 * ALPN: "http/1.1" if the client's list (RFC 7301 §3.1: length-prefixed
 * names) has it, otherwise the fatal no_application_protocol alert of
 * RFC 7301 §3.2.
 */
static int
tls_alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int	 i;

	(void)ssl;
	(void)arg;
	for (i = 0; i < inlen; i += 1 + in[i]) {
		if (inlen - i >= TLS_ALPN_HTTP11_LEN &&
		    memcmp(in + i, tls_alpn_http11, TLS_ALPN_HTTP11_LEN) == 0) {
			*out = in + i + 1;
			*outlen = TLS_ALPN_HTTP11_LEN - 1;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* Applies the protocol policy of tls.h to ctx; 0 or -1 with err. */
static int
tls_ctx_configure(SSL_CTX *ctx, struct tls_server *ts,
    const struct tls_options *o, char *err, size_t errlen)
{
	int	 min;

	min = o->min_version == 0 ? TLS1_2_VERSION : o->min_version;
	if (SSL_CTX_set_min_proto_version(ctx, min) != 1) {
		tls_error(err, errlen, "cannot set the minimum TLS version");
		return -1;
	}
	if (SSL_CTX_set_cipher_list(ctx, o->ciphers != NULL ? o->ciphers :
	    TLS_DEFAULT_CIPHERS) != 1) {
		tls_error(err, errlen, "ciphers \"%s\": no usable cipher",
		    o->ciphers != NULL ? o->ciphers : TLS_DEFAULT_CIPHERS);
		return -1;
	}
	if (o->ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, o->ciphersuites) != 1) {
		tls_error(err, errlen, "ciphersuites \"%s\": no usable cipher",
		    o->ciphersuites);
		return -1;
	}
	if (SSL_CTX_set_session_id_context(ctx,
	    (const unsigned char *)TLS_SESSION_ID_CONTEXT,
	    sizeof(TLS_SESSION_ID_CONTEXT) - 1) != 1) {
		tls_error(err, errlen, "cannot set the session id context");
		return -1;
	}
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select_cb, NULL);
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_servername_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, ts);
	return 0;
}

/* Builds ts->ids[i] from o->certs[i]; 0 or -1 with err. */
static int
tls_identity_init(struct tls_server *ts, size_t i,
    const struct tls_options *o, char *err, size_t errlen)
{
	struct tls_identity	*id = &ts->ids[i];

	if ((id->ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_error(err, errlen, "cannot create a TLS context");
		return -1;
	}
	if (tls_ctx_configure(id->ctx, ts, o, err, errlen) == -1 ||
	    tls_load_pair(id->ctx, &o->certs[i], err, errlen) == -1 ||
	    tls_identity_names(id, o->certs[i].certificate, err,
	    errlen) == -1)
		return -1;
	return 0;
}

struct tls_server *
tls_server_new(const struct tls_options *o, char *err, size_t errlen)
{
	struct tls_server	*ts;
	size_t			 i;

	if (o->ncerts == 0) {
		snprintf(err, errlen, "no certificate");
		return NULL;
	}
	if (o->min_version != 0 && o->min_version != TLS1_2_VERSION &&
	    o->min_version != TLS1_3_VERSION) {
		snprintf(err, errlen, "minimum TLS version must be 1.2 or 1.3");
		return NULL;
	}
	if ((ts = calloc(1, sizeof(*ts))) == NULL ||
	    (ts->ids = calloc(o->ncerts, sizeof(*ts->ids))) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(ts);
		return NULL;
	}
	ts->nids = o->ncerts;
	atomic_init(&ts->refs, 1);
	for (i = 0; i < ts->nids; i++) {
		if (tls_identity_init(ts, i, o, err, errlen) == -1) {
			tls_server_unref(ts);
			return NULL;
		}
	}
	return ts;
}

SSL_CTX *
tls_server_ctx(const struct tls_server *ts)
{
	return ts->ids[0].ctx;
}

struct tls_server *
tls_server_ref(struct tls_server *ts)
{
	atomic_fetch_add_explicit(&ts->refs, 1, memory_order_relaxed);
	return ts;
}

void
tls_server_unref(struct tls_server *ts)
{
	struct tls_identity	*id;
	size_t			 i, j;

	if (ts == NULL || atomic_fetch_sub_explicit(&ts->refs, 1,
	    memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < ts->nids; i++) {
		id = &ts->ids[i];
		SSL_CTX_free(id->ctx);
		for (j = 0; j < id->nnames; j++)
			free(id->names[j]);
		free(id->names);
	}
	free(ts->ids);
	free(ts);
}

/*
 * Whole days from now to t, rounded down: an hour past expiry is -1,
 * an hour before it 0.  0, or -1 if t cannot be read.
 */
static int
tls_days_until(const ASN1_TIME *t, long *days)
{
	int	 d, s;

	if (ASN1_TIME_diff(&d, &s, NULL, t) != 1)
		return -1;
	/* d and s have the same sign. */
	*days = d - (s < 0 ? 1 : 0);
	return 0;
}

int
tls_check_pair(const struct tls_cert *c, long *days_left, char *err,
    size_t errlen)
{
	SSL_CTX		*ctx;
	X509		*x;
	int		 rc = -1;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_error(err, errlen, "cannot create a TLS context");
		return -1;
	}
	if (tls_load_pair(ctx, c, err, errlen) == -1)
		goto done;
	x = SSL_CTX_get0_certificate(ctx);
	if (tls_days_until(X509_get0_notAfter(x), days_left) == -1) {
		tls_error(err, errlen, "%s: invalid notAfter date",
		    c->certificate);
		goto done;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0) {
		snprintf(err, errlen, "%s: certificate is not valid yet",
		    c->certificate);
		goto done;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		snprintf(err, errlen, "%s: certificate has expired",
		    c->certificate);
		goto done;
	}
	rc = 0;
done:
	SSL_CTX_free(ctx);
	return rc;
}
