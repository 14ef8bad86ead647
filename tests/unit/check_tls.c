/*
 * check_tls — unit tests of the TLS contexts (tls.h): certificate name
 * matching, loading pairs and the messages of every failure, the checks
 * of "wsgate -t", and real handshakes in-process over a socketpair: the
 * certificate SNI selects, ALPN, the protocol versions refused, and
 * session resumption.
 *
 * The certificates are made at test time with the openssl command into
 * a temporary directory: a CA; "ab" for a.test and b.test; "w" for
 * *.w.test (its CN, wcn.test, must be ignored); "xw" for x.w.test; "cn"
 * with no subjectAltName, only CN=cn.test; "exp", expired in 2020 (made
 * with "openssl ca", as OpenSSL 3.0 cannot date a certificate back
 * otherwise); and "other.key", which matches no certificate.
 */
#include <sys/socket.h>

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"
#include "check_main.h"
#include "check_util.h"

#define TLS_TEST_NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* Bounds the handshake loop: a few round trips need a dozen steps. */
#define TLS_TEST_STEPS		100

static const char tls_test_script[] =
	"set -e\n"
	"cd \"$1\"\n"
	"ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n"
	"openssl req -x509 $ec -keyout ca.key -out ca.pem"
	" -subj /CN=wsgate-test-ca -days 2\n"
	"leaf() {\n"
	"	openssl req -new $ec -keyout \"$1.key\" -out \"$1.csr\""
	" -subj \"/CN=$2\" ${3:+-addext \"subjectAltName=$3\"}\n"
	"	openssl x509 -req -in \"$1.csr\" -CA ca.pem -CAkey ca.key"
	" -set_serial \"$4\" -days 30 -copy_extensions copy -out \"$1.pem\"\n"
	"}\n"
	"leaf ab ab.test DNS:a.test,DNS:b.test 1\n"
	"leaf w wcn.test 'DNS:*.w.test' 2\n"
	"leaf xw xw.test DNS:x.w.test 3\n"
	"leaf cn cn.test '' 4\n"
	"openssl req -new $ec -keyout exp.key -out exp.csr -subj /CN=exp.test\n"
	"printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=index.txt\\n"
	"new_certs_dir=.\\nserial=serial\\ndefault_md=sha256\\npolicy=p\\n"
	"[p]\\ncommonName=supplied\\n' > ca.cnf\n"
	": > index.txt\n"
	"echo 05 > serial\n"
	"openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key"
	" -in exp.csr -out exp.pem -notext"
	" -startdate 200101000000Z -enddate 200201000000Z\n"
	"openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256"
	" -out other.key\n";

static void
tls_test_setup(void)
{
	check_files_make(tls_test_script);
}

static void
tls_test_teardown(void)
{
	check_files_remove();
}

/* The certificates of the handshake tests, the default first. */
static struct tls_server *
tls_test_server(int min_version)
{
	static struct tls_cert	 certs[4];
	static const char	*names[] = { "ab", "w", "xw", "cn" };
	struct tls_options	 o = { 0 };
	struct tls_server	*ts;
	char			 file[16], err[512];
	int			 i;

	for (i = 0; i < TLS_TEST_NELEM(names); i++) {
		snprintf(file, sizeof(file), "%s.pem", names[i]);
		certs[i].certificate = strdup(check_files_path(file));
		snprintf(file, sizeof(file), "%s.key", names[i]);
		certs[i].key = strdup(check_files_path(file));
	}
	o.certs = certs;
	o.ncerts = TLS_TEST_NELEM(certs);
	o.min_version = min_version;
	ts = tls_server_new(&o, err, sizeof(err));
	ck_assert_msg(ts != NULL, "tls_server_new: %s", err);
	for (i = 0; i < TLS_TEST_NELEM(names); i++) {
		free((char *)(uintptr_t)certs[i].certificate);
		free((char *)(uintptr_t)certs[i].key);
	}
	return ts;
}

/* Names */

struct tls_test_name {
	const char	*pattern;
	const char	*name;
	bool		 match;
};

static const struct tls_test_name tls_test_names[] = {
	{ "a.test", "a.test", true },
	{ "a.test", "A.Test", true },
	{ "A.TEST", "a.test", true },
	{ "a.test", "b.test", false },
	{ "a.test", "a.test.", false },
	{ "a.test", "x.a.test", false },
	{ "a.test", "", false },
	{ "*.w.test", "c.w.test", true },
	{ "*.w.test", "C.W.TEST", true },
	{ "*.W.TEST", "c.w.test", true },
	{ "*.w.test", "w.test", false },
	{ "*.w.test", ".w.test", false },
	{ "*.w.test", "a.b.w.test", false },
	{ "*.w.test", "c.x.test", false },
	{ "*.w.test", "*.w.test", true },
	{ "*.test", "a.test", false },
	{ "*", "a", false },
	{ "a*.test", "ab.test", false },
	{ "a*.test", "a*.test", false },
	{ "*a.test", "ba.test", false },
	{ "a.*.test", "a.b.test", false },
	{ "*.*.test", "a.b.test", false },
};

START_TEST(test_tls_name_matches)
{
	const struct tls_test_name	*v = &tls_test_names[_i];

	ck_assert_msg(tls_name_matches(v->pattern, v->name) == v->match,
	    "\"%s\" vs \"%s\": want %s", v->pattern, v->name,
	    v->match ? "a match" : "no match");
}
END_TEST

/* Loading */

START_TEST(test_tls_server_new_good)
{
	struct tls_server	*ts;
	SSL			*ssl;

	ts = tls_test_server(0);
	ssl = SSL_new(tls_server_ctx(ts));
	ck_assert_ptr_nonnull(ssl);
	ck_assert_int_eq(SSL_get_min_proto_version(ssl), TLS1_2_VERSION);
	ck_assert(SSL_get_options(ssl) & SSL_OP_NO_RENEGOTIATION);
	ck_assert(SSL_get_options(ssl) & SSL_OP_CIPHER_SERVER_PREFERENCE);
	ck_assert(SSL_get_mode(ssl) & SSL_MODE_RELEASE_BUFFERS);
	SSL_free(ssl);
	tls_server_unref(ts);
	tls_server_unref(NULL);
}
END_TEST

/* A reload drops the listener's reference; a connection's keeps it. */
START_TEST(test_tls_server_refs)
{
	struct tls_server	*ts, *conn_ref;
	SSL			*ssl;

	ts = tls_test_server(0);
	conn_ref = tls_server_ref(ts);
	ck_assert_ptr_eq(conn_ref, ts);
	tls_server_unref(ts);			/* the listener's */
	ssl = SSL_new(tls_server_ctx(conn_ref));
	ck_assert_ptr_nonnull(ssl);
	SSL_free(ssl);
	tls_server_unref(conn_ref);		/* the last: freed */
}
END_TEST

struct tls_test_bad {
	const char	*cert;		/* file names in the test directory */
	const char	*key;
	const char	*cert2;		/* a second pair, or NULL */
	const char	*key2;
	int		 min_version;
	const char	*ciphers;
	const char	*ciphersuites;
	const char	*want[3];	/* in the message, "%" is the dir */
};

static const struct tls_test_bad tls_test_bads[] = {
	{ "ab.pem", "other.key", NULL, NULL, 0, NULL, NULL,
	    { "%/other.key: key does not match certificate %/ab.pem",
	    "key values mismatch", NULL } },
	{ "missing.pem", "ab.key", NULL, NULL, 0, NULL, NULL,
	    { "%/missing.pem: cannot load certificate",
	    "No such file", NULL } },
	{ "ab.pem", "missing.key", NULL, NULL, 0, NULL, NULL,
	    { "%/missing.key: cannot load private key", NULL } },
	{ "ab.key", "ab.key", NULL, NULL, 0, NULL, NULL,
	    { "%/ab.key: cannot load certificate", NULL } },
	{ "ab.pem", "ab.pem", NULL, NULL, 0, NULL, NULL,
	    { "%/ab.pem: cannot load private key", NULL } },
	/* The second pair fails: the first is freed (valgrind). */
	{ "ab.pem", "ab.key", "w.pem", "ab.key", 0, NULL, NULL,
	    { "%/ab.key: key does not match certificate %/w.pem", NULL } },
	{ "ab.pem", "ab.key", NULL, NULL, TLS1_1_VERSION, NULL, NULL,
	    { "minimum TLS version must be 1.2 or 1.3", NULL } },
	{ "ab.pem", "ab.key", NULL, NULL, 0, "NOPE", NULL,
	    { "ciphers \"NOPE\": no usable cipher", NULL } },
	{ "ab.pem", "ab.key", NULL, NULL, 0, NULL, "NOPE",
	    { "ciphersuites \"NOPE\": no usable cipher", NULL } },
};

START_TEST(test_tls_server_new_errors)
{
	const struct tls_test_bad	*v = &tls_test_bads[_i];
	struct tls_cert			 certs[2];
	struct tls_options		 o = { 0 };
	char				 err[1024], want[PATH_MAX * 4];
	int				 i;

	certs[0].certificate = check_files_path(v->cert);
	certs[0].key = check_files_path(v->key);
	o.ncerts = 1;
	if (v->cert2 != NULL) {
		certs[1].certificate = check_files_path(v->cert2);
		certs[1].key = check_files_path(v->key2);
		o.ncerts = 2;
	}
	o.certs = certs;
	o.min_version = v->min_version;
	o.ciphers = v->ciphers;
	o.ciphersuites = v->ciphersuites;
	ck_assert_ptr_null(tls_server_new(&o, err, sizeof(err)));
	for (i = 0; i < TLS_TEST_NELEM(v->want) && v->want[i] != NULL; i++) {
		check_files_expand(v->want[i], want, sizeof(want));
		ck_assert_msg(strstr(err, want) != NULL,
		    "message \"%s\" lacks \"%s\"", err, want);
	}
	ck_assert_msg(strstr(err, "BEGIN") == NULL, "PEM in \"%s\"", err);
	ck_assert_int_eq(ERR_peek_error(), 0);
}
END_TEST

START_TEST(test_tls_server_new_none)
{
	struct tls_options	 o = { 0 };
	char			 err[256];

	ck_assert_ptr_null(tls_server_new(&o, err, sizeof(err)));
	ck_assert_str_eq(err, "no certificate");
}
END_TEST

/* wsgate -t */

START_TEST(test_tls_check_pair_valid)
{
	struct tls_cert	 c;
	long		 days = 12345;
	char		 err[512];

	c.certificate = check_files_path("ab.pem");
	c.key = check_files_path("ab.key");
	ck_assert_msg(tls_check_pair(&c, &days, err, sizeof(err)) == 0,
	    "%s", err);
	/* -days 30, made a moment ago (or this very second). */
	ck_assert_msg(days == 29 || days == 30, "days_left %ld", days);
}
END_TEST

START_TEST(test_tls_check_pair_expired)
{
	struct tls_cert	 c;
	long		 days = 12345;
	char		 err[512], want[PATH_MAX * 2];

	c.certificate = check_files_path("exp.pem");
	c.key = check_files_path("exp.key");
	ck_assert_int_eq(tls_check_pair(&c, &days, err, sizeof(err)), -1);
	/* Expired on 1 February 2020. */
	ck_assert_msg(days < -365 * 5, "days_left %ld", days);
	check_files_expand("%/exp.pem: certificate has expired", want,
	    sizeof(want));
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_tls_check_pair_mismatch)
{
	struct tls_cert	 c;
	long		 days;
	char		 err[512], want[PATH_MAX * 2];

	c.certificate = check_files_path("ab.pem");
	c.key = check_files_path("other.key");
	ck_assert_int_eq(tls_check_pair(&c, &days, err, sizeof(err)), -1);
	check_files_expand("%/other.key: key does not match certificate %/ab.pem",
	    want, sizeof(want));
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
}
END_TEST

/* Handshakes */

struct tls_test_conn {
	int			 fd[2];
	struct check_tls_side	 client;
	struct check_tls_side	 server;
};

/* A client trusting the test CA, speaking versions min to max (0: any). */
static SSL_CTX *
tls_test_client_ctx(int min, int max)
{
	SSL_CTX	*ctx;

	ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(SSL_CTX_load_verify_locations(ctx,
	    check_files_path("ca.pem"), NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (min != 0 && min < TLS1_2_VERSION) {
		/* Let the client offer what the server must refuse. */
		SSL_CTX_set_security_level(ctx, 0);
		ck_assert_int_eq(SSL_CTX_set_cipher_list(ctx,
		    "DEFAULT:@SECLEVEL=0"), 1);
	}
	ck_assert_int_eq(SSL_CTX_set_min_proto_version(ctx, min), 1);
	ck_assert_int_eq(SSL_CTX_set_max_proto_version(ctx, max), 1);
	return ctx;
}

static SSL *
tls_test_ssl(SSL_CTX *ctx, int fd)
{
	SSL	*ssl;

	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	ssl = SSL_new(ctx);
	ck_assert_ptr_nonnull(ssl);
	ck_assert_int_eq(SSL_set_fd(ssl, fd), 1);
	return ssl;
}

/*
 * Connects a client of cctx (SNI host, ALPN list alpn in wire format,
 * resuming sess; each may be NULL) to a server connection of ts and
 * drives both until each has finished or failed, or the steps run out.
 */
static void
tls_test_connect(struct tls_test_conn *tc, struct tls_server *ts,
    SSL_CTX *cctx, const char *host, const char *alpn, SSL_SESSION *sess)
{
	int	 i;

	memset(tc, 0, sizeof(*tc));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, tc->fd), 0);
	tc->client.ssl = tls_test_ssl(cctx, tc->fd[0]);
	tc->server.ssl = tls_test_ssl(tls_server_ctx(ts), tc->fd[1]);
	SSL_set_connect_state(tc->client.ssl);
	SSL_set_accept_state(tc->server.ssl);
	if (host != NULL)
		ck_assert_int_eq(SSL_set_tlsext_host_name(tc->client.ssl,
		    host), 1);
	/* SSL_set_alpn_protos() returns 0 on success. */
	if (alpn != NULL)
		ck_assert_int_eq(SSL_set_alpn_protos(tc->client.ssl,
		    (const unsigned char *)alpn, strlen(alpn)), 0);
	if (sess != NULL)
		ck_assert_int_eq(SSL_set_session(tc->client.ssl, sess), 1);
	for (i = 0; i < TLS_TEST_STEPS; i++) {
		if (tc->client.state != CHECK_TLS_PENDING &&
		    tc->server.state != CHECK_TLS_PENDING)
			break;
		check_tls_step(&tc->client);
		check_tls_step(&tc->server);
	}
}

static void
tls_test_close(struct tls_test_conn *tc)
{
	SSL_free(tc->client.ssl);
	SSL_free(tc->server.ssl);
	close(tc->fd[0]);
	close(tc->fd[1]);
}

/* Asserts that both sides completed the handshake. */
static void
tls_test_assert_done(const struct tls_test_conn *tc, const char *what)
{
	char	 c[256] = "", s[256] = "";

	if (tc->client.err != 0)
		ERR_error_string_n(tc->client.err, c, sizeof(c));
	if (tc->server.err != 0)
		ERR_error_string_n(tc->server.err, s, sizeof(s));
	ck_assert_msg(tc->client.state == CHECK_TLS_DONE &&
	    tc->server.state == CHECK_TLS_DONE,
	    "%s: client %d %s, server %d %s", what, tc->client.state, c,
	    tc->server.state, s);
}

struct tls_test_sni {
	const char	*host;		/* NULL: no SNI */
	const char	*cn;		/* of the certificate served */
};

static const struct tls_test_sni tls_test_snis[] = {
	{ "a.test", "ab.test" },
	{ "b.test", "ab.test" },
	{ "B.Test", "ab.test" },
	{ "c.w.test", "wcn.test" },
	{ "x.w.test", "xw.test" },	/* exact before an earlier wildcard */
	{ "cn.test", "cn.test" },	/* CN: no subjectAltName */
	{ "wcn.test", "ab.test" },	/* CN ignored beside a SAN */
	{ "w.test", "ab.test" },
	{ "a.b.w.test", "ab.test" },
	{ "unknown.test", "ab.test" },
	{ NULL, "ab.test" },
};

START_TEST(test_tls_handshake_sni)
{
	const struct tls_test_sni	*v = &tls_test_snis[_i];
	struct tls_server		*ts;
	struct tls_test_conn		 tc;
	SSL_CTX				*cctx;
	X509				*x;
	char				 cn[256];

	ts = tls_test_server(0);
	cctx = tls_test_client_ctx(0, 0);
	tls_test_connect(&tc, ts, cctx, v->host, NULL, NULL);
	tls_test_assert_done(&tc, v->host != NULL ? v->host : "(no SNI)");
	ck_assert_int_eq(SSL_get_verify_result(tc.client.ssl), X509_V_OK);
	x = SSL_get0_peer_certificate(tc.client.ssl);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, sizeof(cn)), 0);
	ck_assert_msg(strcmp(cn, v->cn) == 0, "%s: got %s, want %s",
	    v->host != NULL ? v->host : "(no SNI)", cn, v->cn);
	tls_test_close(&tc);
	SSL_CTX_free(cctx);
	tls_server_unref(ts);
}
END_TEST

struct tls_test_alpn {
	const char	*offer;		/* wire format; NULL: no ALPN */
	bool		 ok;
	const char	*selected;	/* "": none */
};

static const struct tls_test_alpn tls_test_alpns[] = {
	{ "\x08http/1.1", true, "http/1.1" },
	{ "\x02h2\x08http/1.1", true, "http/1.1" },
	{ "\x08http/1.0\x08http/1.1\x02h2", true, "http/1.1" },
	{ NULL, true, "" },
	{ "\x02h2", false, NULL },
	{ "\x08http/1.0", false, NULL },
};

START_TEST(test_tls_handshake_alpn)
{
	const struct tls_test_alpn	*v = &tls_test_alpns[_i];
	struct tls_server		*ts;
	struct tls_test_conn		 tc;
	SSL_CTX				*cctx;
	const unsigned char		*p;
	unsigned int			 n;

	ts = tls_test_server(0);
	cctx = tls_test_client_ctx(0, 0);
	tls_test_connect(&tc, ts, cctx, "a.test", v->offer, NULL);
	if (v->ok) {
		tls_test_assert_done(&tc, "alpn");
		SSL_get0_alpn_selected(tc.client.ssl, &p, &n);
		ck_assert_int_eq(n, strlen(v->selected));
		ck_assert(n == 0 || memcmp(p, v->selected, n) == 0);
	} else {
		ck_assert_int_eq(tc.server.state, CHECK_TLS_FAILED);
		ck_assert_int_eq(tc.client.state, CHECK_TLS_FAILED);
		ck_assert_int_eq(ERR_GET_REASON(tc.client.err),
		    SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL);
	}
	tls_test_close(&tc);
	SSL_CTX_free(cctx);
	tls_server_unref(ts);
}
END_TEST

struct tls_test_version {
	int		 server_min;	/* 0: the default */
	int		 client_min;	/* 0: any */
	int		 client_max;
	int		 version;	/* negotiated; 0: refused */
};

static const struct tls_test_version tls_test_versions[] = {
	{ 0, 0, 0, TLS1_3_VERSION },
	{ 0, 0, TLS1_2_VERSION, TLS1_2_VERSION },
	{ 0, TLS1_VERSION, TLS1_1_VERSION, 0 },
	{ 0, TLS1_VERSION, TLS1_VERSION, 0 },
	{ TLS1_2_VERSION, TLS1_VERSION, TLS1_1_VERSION, 0 },
	{ TLS1_3_VERSION, 0, 0, TLS1_3_VERSION },
	{ TLS1_3_VERSION, 0, TLS1_2_VERSION, 0 },
};

START_TEST(test_tls_handshake_version)
{
	const struct tls_test_version	*v = &tls_test_versions[_i];
	struct tls_server		*ts;
	struct tls_test_conn		 tc;
	SSL_CTX				*cctx;
	const SSL_CIPHER		*cipher;

	ts = tls_test_server(v->server_min);
	cctx = tls_test_client_ctx(v->client_min, v->client_max);
	tls_test_connect(&tc, ts, cctx, "a.test", "\x08http/1.1", NULL);
	if (v->version != 0) {
		tls_test_assert_done(&tc, "version");
		ck_assert_int_eq(SSL_version(tc.server.ssl), v->version);
		cipher = SSL_get_current_cipher(tc.server.ssl);
		ck_assert(SSL_CIPHER_is_aead(cipher));
		if (v->version == TLS1_2_VERSION)
			ck_assert_int_eq(SSL_CIPHER_get_kx_nid(cipher),
			    NID_kx_ecdhe);
	} else {
		ck_assert_int_eq(tc.server.state, CHECK_TLS_FAILED);
		ck_assert_int_ne(tc.client.state, CHECK_TLS_DONE);
		ck_assert_int_eq(ERR_GET_REASON(tc.server.err),
		    SSL_R_UNSUPPORTED_PROTOCOL);
	}
	tls_test_close(&tc);
	SSL_CTX_free(cctx);
	tls_server_unref(ts);
}
END_TEST

/* Resumption, with TLS 1.3 then 1.2, on the default and an SNI context. */
struct tls_test_resume {
	int		 client_max;
	const char	*host;
};

static const struct tls_test_resume tls_test_resumes[] = {
	{ 0, "a.test" },
	{ 0, "c.w.test" },
	{ TLS1_2_VERSION, "a.test" },
	{ TLS1_2_VERSION, "c.w.test" },
};

/* A full handshake; returns the client's session, for the caller. */
static SSL_SESSION *
tls_test_first(struct tls_server *ts, SSL_CTX *cctx, const char *host)
{
	struct tls_test_conn	 tc;
	SSL_SESSION		*sess;
	char			 c;

	tls_test_connect(&tc, ts, cctx, host, "\x08http/1.1", NULL);
	tls_test_assert_done(&tc, "first handshake");
	ck_assert(!SSL_session_reused(tc.client.ssl));
	/* TLS 1.3 tickets come after the handshake: read them. */
	ck_assert_int_eq(SSL_read(tc.client.ssl, &c, 1), -1);
	ck_assert_int_eq(SSL_get_error(tc.client.ssl, -1),
	    SSL_ERROR_WANT_READ);
	sess = SSL_get1_session(tc.client.ssl);
	ck_assert_ptr_nonnull(sess);
	ck_assert(SSL_SESSION_is_resumable(sess));
	SSL_shutdown(tc.client.ssl);
	SSL_shutdown(tc.server.ssl);
	tls_test_close(&tc);
	return sess;
}

START_TEST(test_tls_handshake_resume)
{
	const struct tls_test_resume	*v = &tls_test_resumes[_i];
	struct tls_server		*ts;
	struct tls_test_conn		 tc;
	SSL_CTX				*cctx;
	SSL_SESSION			*sess;

	ts = tls_test_server(0);
	cctx = tls_test_client_ctx(0, v->client_max);
	sess = tls_test_first(ts, cctx, v->host);
	tls_test_connect(&tc, ts, cctx, v->host, "\x08http/1.1", sess);
	tls_test_assert_done(&tc, "resumption");
	ck_assert(SSL_session_reused(tc.client.ssl));
	ck_assert(SSL_session_reused(tc.server.ssl));
	tls_test_close(&tc);
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);
	tls_server_unref(ts);
}
END_TEST

/* A reload builds a new tls_server: its ticket keys are new. */
START_TEST(test_tls_handshake_resume_reload)
{
	struct tls_server	*ts, *ts2;
	struct tls_test_conn	 tc;
	SSL_CTX			*cctx;
	SSL_SESSION		*sess;

	ts = tls_test_server(0);
	cctx = tls_test_client_ctx(0, 0);
	sess = tls_test_first(ts, cctx, "a.test");
	tls_server_unref(ts);
	ts2 = tls_test_server(0);
	tls_test_connect(&tc, ts2, cctx, "a.test", "\x08http/1.1", sess);
	tls_test_assert_done(&tc, "after reload");
	ck_assert(!SSL_session_reused(tc.client.ssl));
	tls_test_close(&tc);
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);
	tls_server_unref(ts2);
}
END_TEST

static TCase *
tls_test_tcase(const char *name)
{
	TCase	*tc;

	tc = tcase_create(name);
	tcase_add_unchecked_fixture(tc, tls_test_setup, tls_test_teardown);
	return tc;
}

Suite *
check_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("tls");

	tc = tcase_create("names");
	tcase_add_loop_test(tc, test_tls_name_matches, 0,
	    TLS_TEST_NELEM(tls_test_names));
	suite_add_tcase(s, tc);

	tc = tls_test_tcase("loading");
	tcase_add_test(tc, test_tls_server_new_good);
	tcase_add_test(tc, test_tls_server_refs);
	tcase_add_loop_test(tc, test_tls_server_new_errors, 0,
	    TLS_TEST_NELEM(tls_test_bads));
	tcase_add_test(tc, test_tls_server_new_none);
	tcase_add_test(tc, test_tls_check_pair_valid);
	tcase_add_test(tc, test_tls_check_pair_expired);
	tcase_add_test(tc, test_tls_check_pair_mismatch);
	suite_add_tcase(s, tc);

	tc = tls_test_tcase("handshakes");
	tcase_add_loop_test(tc, test_tls_handshake_sni, 0,
	    TLS_TEST_NELEM(tls_test_snis));
	tcase_add_loop_test(tc, test_tls_handshake_alpn, 0,
	    TLS_TEST_NELEM(tls_test_alpns));
	tcase_add_loop_test(tc, test_tls_handshake_version, 0,
	    TLS_TEST_NELEM(tls_test_versions));
	tcase_add_loop_test(tc, test_tls_handshake_resume, 0,
	    TLS_TEST_NELEM(tls_test_resumes));
	tcase_add_test(tc, test_tls_handshake_resume_reload);
	suite_add_tcase(s, tc);

	return s;
}
