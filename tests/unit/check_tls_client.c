/*
 * check_tls_client — unit tests of the client-side TLS contexts
 * (tls_client.h): building them and the message of every failure, and
 * real handshakes in-process over a socketpair against a test server:
 * the chain and the name checked (DNS names and IP addresses), SNI sent
 * for names only, verify off, ALPN offered to WebSocket servers only, a
 * client certificate, the minimum version, and resumption per server.
 *
 * The certificates are made at test time with the openssl command into
 * a temporary directory: a CA; "srv", for localhost and 127.0.0.1;
 * "cli", a client certificate (CN=wsgate-client); "self", self-signed
 * for localhost; "foreign", for localhost from another CA; "other.key",
 * which matches no certificate; and "garbage.pem", which is no PEM.
 */
#include <sys/socket.h>

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls_client.h"
#include "check_main.h"
#include "check_util.h"

#define TC_NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* Bounds the handshake loop: a few round trips need a dozen steps. */
#define TC_STEPS	100

static const char tc_script[] =
	"set -e\n"
	"cd \"$1\"\n"
	"ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n"
	"openssl req -x509 $ec -keyout ca.key -out ca.pem"
	" -subj /CN=wsgate-test-ca -days 2\n"
	"openssl req -x509 $ec -keyout other-ca.key -out other-ca.pem"
	" -subj /CN=other-ca -days 2\n"
	"leaf() {\n"
	"	openssl req -new $ec -keyout \"$1.key\" -out \"$1.csr\""
	" -subj \"/CN=$2\" ${3:+-addext \"subjectAltName=$3\"}\n"
	"	openssl x509 -req -in \"$1.csr\" -CA \"$4.pem\""
	" -CAkey \"$4.key\" -set_serial \"$5\" -days 2"
	" -copy_extensions copy -out \"$1.pem\"\n"
	"}\n"
	"leaf srv srv.test DNS:localhost,IP:127.0.0.1 ca 1\n"
	"leaf cli wsgate-client '' ca 2\n"
	"leaf foreign localhost DNS:localhost other-ca 3\n"
	"openssl req -x509 $ec -keyout self.key -out self.pem -subj"
	" /CN=localhost -addext subjectAltName=DNS:localhost -days 2\n"
	"openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256"
	" -out other.key\n"
	"echo 'not a certificate' > garbage.pem\n";

static void
tc_setup(void)
{
	check_files_make(tc_script);
}

static void
tc_teardown(void)
{
	check_files_remove();
}

/* Options trusting the test CA, for websocket servers, two servers. */
static struct tls_client_options
tc_options(void)
{
	struct tls_client_options	o;

	memset(&o, 0, sizeof(o));
	o.verify = true;
	o.ca = check_files_path("ca.pem");
	o.alpn_http11 = true;
	o.nservers = 2;
	return o;
}

static struct tls_client *
tc_new(const struct tls_client_options *o)
{
	struct tls_client	*tc;
	char			 err[512];

	tc = tls_client_new(o, err, sizeof(err));
	ck_assert_msg(tc != NULL, "tls_client_new: %s", err);
	return tc;
}

/* Contexts */

START_TEST(test_tls_client_new_good)
{
	struct tls_client_options	o = tc_options();

	/* As configured; OpenSSL's store; verify off; mutual; TLS 1.3. */
	tls_client_free(tc_new(&o));
	o.ca = NULL;
	tls_client_free(tc_new(&o));
	o.verify = false;
	o.alpn_http11 = false;
	tls_client_free(tc_new(&o));
	o = tc_options();
	o.certificate = check_files_path("cli.pem");
	o.key = check_files_path("cli.key");
	o.min_version = TLS1_3_VERSION;
	tls_client_free(tc_new(&o));
	tls_client_free(NULL);
}
END_TEST

struct tc_error_vector {
	const char	*ca;		/* file names in the test directory */
	const char	*certificate;
	const char	*key;
	int		 min_version;
	const char	*want;		/* the start of the message; % is
					   the test directory */
};

static const struct tc_error_vector tc_error_vectors[] = {
	{ "missing.pem", NULL, NULL, 0,
	  "%/missing.pem: cannot load CA certificates: " },
	{ "garbage.pem", NULL, NULL, 0,
	  "%/garbage.pem: cannot load CA certificates: " },
	{ "ca.pem", "missing.pem", "cli.key", 0,
	  "%/missing.pem: cannot load certificate: " },
	{ "ca.pem", "cli.pem", "missing.key", 0,
	  "%/missing.key: cannot load private key for %/cli.pem: " },
	{ "ca.pem", "cli.pem", "other.key", 0,
	  "%/other.key: cannot load private key for %/cli.pem: " },
	{ "ca.pem", "cli.pem", NULL, 0,
	  "a client certificate needs its key, and a key its certificate" },
	{ "ca.pem", NULL, "cli.key", 0,
	  "a client certificate needs its key, and a key its certificate" },
	{ "ca.pem", NULL, NULL, TLS1_1_VERSION,
	  "minimum TLS version must be 1.2 or 1.3" },
};

START_TEST(test_tls_client_new_errors)
{
	const struct tc_error_vector	*v = &tc_error_vectors[_i];
	struct tls_client_options	 o = tc_options();
	char				 err[512], want[512];
	char				 ca[PATH_MAX], cert[PATH_MAX];
	char				 key[PATH_MAX];

	snprintf(ca, sizeof(ca), "%s", check_files_path(v->ca));
	o.ca = ca;
	if (v->certificate != NULL) {
		snprintf(cert, sizeof(cert), "%s", check_files_path(v->certificate));
		o.certificate = cert;
	}
	if (v->key != NULL) {
		snprintf(key, sizeof(key), "%s", check_files_path(v->key));
		o.key = key;
	}
	o.min_version = v->min_version;
	ck_assert_ptr_null(tls_client_new(&o, err, sizeof(err)));
	check_files_expand(v->want, want, sizeof(want));
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "got \"%s\", want \"%s...\"", err, want);
	/* After the colon, OpenSSL's reason: something, and short. */
	if (want[strlen(want) - 1] == ' ')
		ck_assert_msg(strlen(err) > strlen(want) &&
		    strchr(err + strlen(want), '\n') == NULL, "%s", err);
	ck_assert_uint_eq(ERR_peek_error(), 0);
}
END_TEST

/* A missing CA file is named, with the system's reason. */
START_TEST(test_tls_client_missing_ca_reason)
{
	struct tls_client_options	o = tc_options();
	char				err[512];

	o.ca = "/nonexistent/backend-ca.pem";
	ck_assert_ptr_null(tls_client_new(&o, err, sizeof(err)));
	ck_assert_msg(strstr(err, "/nonexistent/backend-ca.pem: cannot load "
	    "CA certificates: ") == err, "%s", err);
	ck_assert_msg(strcasestr(err, "no such file") != NULL, "%s", err);
}
END_TEST

/* Handshakes */

struct tc_conn {
	int		 fd[2];
	struct check_tls_side	 client;
	struct check_tls_side	 server;
};

/* What the test server saw of the client's ALPN offer. */
static char	tc_alpn_offer[64];
static bool	tc_alpn_offered;

static int
tc_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	tc_alpn_offered = true;
	snprintf(tc_alpn_offer, sizeof(tc_alpn_offer), "%.*s", (int)inlen,
	    (const char *)in);
	if (inlen < 9 || memcmp(in, "\x08http/1.1", 9) != 0)
		return SSL_TLSEXT_ERR_NOACK;
	*out = in + 1;
	*outlen = 8;
	return SSL_TLSEXT_ERR_OK;
}

/*
 * A server with the pair name.pem/name.key; with mutual, it requires a
 * client certificate from the test CA.
 */
static SSL_CTX *
tc_server_ctx(const char *name, bool mutual)
{
	SSL_CTX	*ctx = SSL_CTX_new(TLS_server_method());
	char	 file[32];

	ck_assert_ptr_nonnull(ctx);
	snprintf(file, sizeof(file), "%s.pem", name);
	ck_assert_int_eq(SSL_CTX_use_certificate_chain_file(ctx,
	    check_files_path(file)), 1);
	snprintf(file, sizeof(file), "%s.key", name);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(ctx, check_files_path(file),
	    SSL_FILETYPE_PEM), 1);
	SSL_CTX_set_alpn_select_cb(ctx, tc_alpn_cb, NULL);
	ck_assert_int_eq(SSL_CTX_set_session_id_context(ctx,
	    (const unsigned char *)"t", 1), 1);
	if (mutual) {
		ck_assert_int_eq(SSL_CTX_load_verify_locations(ctx,
		    check_files_path("ca.pem"), NULL), 1);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return ctx;
}

/*
 * Runs a handshake between client (from tls_client_ssl) and a server
 * of sctx, then lets the client read what came after it (TLS 1.3
 * session tickets).
 */
static void
tc_connect(struct tc_conn *c, SSL *client, SSL_CTX *sctx)
{
	char	byte;
	int	i;

	memset(c, 0, sizeof(*c));
	tc_alpn_offered = false;
	tc_alpn_offer[0] = '\0';
	ck_assert_ptr_nonnull(client);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, c->fd), 0);
	ck_assert_int_eq(fcntl(c->fd[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(c->fd[1], F_SETFL, O_NONBLOCK), 0);
	c->client.ssl = client;
	ck_assert_int_eq(SSL_set_fd(client, c->fd[0]), 1);
	c->server.ssl = SSL_new(sctx);
	ck_assert_ptr_nonnull(c->server.ssl);
	ck_assert_int_eq(SSL_set_fd(c->server.ssl, c->fd[1]), 1);
	SSL_set_accept_state(c->server.ssl);
	for (i = 0; i < TC_STEPS && (c->client.state == CHECK_TLS_PENDING ||
	    c->server.state == CHECK_TLS_PENDING); i++) {
		check_tls_step(&c->client);
		check_tls_step(&c->server);
	}
	if (c->client.state == CHECK_TLS_DONE)
		(void)SSL_read(c->client.ssl, &byte, 1);
	ERR_clear_error();
}

static void
tc_close(struct tc_conn *c)
{
	SSL_free(c->client.ssl);
	SSL_free(c->server.ssl);
	close(c->fd[0]);
	close(c->fd[1]);
}

static void
tc_assert_done(const struct tc_conn *c, const char *what)
{
	char	cl[256] = "", sv[256] = "";

	if (c->client.err != 0)
		tls_client_error(c->client.ssl, c->client.err, cl, sizeof(cl));
	if (c->server.err != 0)
		ERR_error_string_n(c->server.err, sv, sizeof(sv));
	ck_assert_msg(c->client.state == CHECK_TLS_DONE &&
	    c->server.state == CHECK_TLS_DONE, "%s: client %d %s, server %d %s",
	    what, c->client.state, cl, c->server.state, sv);
}

struct tc_name_vector {
	const char	*server;	/* its pair */
	const char	*name;		/* what wsgate connects to */
	bool		 verify;
	const char	*sni;		/* what the server sees; NULL: none */
	const char	*error;		/* NULL: success */
};

static const struct tc_name_vector tc_name_vectors[] = {
	{ "srv", "localhost", true, "localhost", NULL },
	{ "srv", "LOCALHOST", true, "LOCALHOST", NULL },
	{ "srv", "127.0.0.1", true, NULL, NULL },
	{ "srv", NULL, true, NULL, NULL },
	{ "srv", "other.test", true, "other.test",
	  "certificate verify failed (hostname mismatch)" },
	{ "srv", "srv.test", true, "srv.test",	/* a CN beside a SAN */
	  "certificate verify failed (hostname mismatch)" },
	{ "srv", "127.0.0.2", true, NULL,
	  "certificate verify failed (IP address mismatch)" },
	{ "srv", "::1", true, NULL,
	  "certificate verify failed (IP address mismatch)" },
	{ "self", "localhost", true, "localhost",
	  "certificate verify failed (self-signed certificate)" },
	{ "foreign", "localhost", true, "localhost",
	  "certificate verify failed (unable to get local issuer "
	  "certificate)" },
	/* verify: false takes any certificate, for any name. */
	{ "self", "localhost", false, "localhost", NULL },
	{ "foreign", "other.test", false, "other.test", NULL },
};

START_TEST(test_tls_client_names)
{
	const struct tc_name_vector	*v = &tc_name_vectors[_i];
	struct tls_client_options	 o = tc_options();
	struct tls_client		*tc;
	struct tc_conn			 c;
	SSL_CTX				*sctx;
	const char			*sni;
	char				 why[256];

	o.verify = v->verify;
	tc = tc_new(&o);
	sctx = tc_server_ctx(v->server, false);
	tc_connect(&c, tls_client_ssl(tc, 0, v->name, true), sctx);
	if (v->error == NULL) {
		tc_assert_done(&c, v->name != NULL ? v->name : "(none)");
	} else {
		ck_assert_int_eq(c.client.state, CHECK_TLS_FAILED);
		tls_client_error(c.client.ssl, c.client.err, why, sizeof(why));
		ck_assert_str_eq(why, v->error);
	}
	if (c.server.state == CHECK_TLS_DONE) {
		sni = SSL_get_servername(c.server.ssl,
		    TLSEXT_NAMETYPE_host_name);
		if (v->sni == NULL)
			ck_assert_ptr_null(sni);
		else
			ck_assert_str_eq(sni, v->sni);
	}
	tc_close(&c);
	SSL_CTX_free(sctx);
	tls_client_free(tc);
}
END_TEST

/* ALPN: http/1.1 alone to WebSocket servers, nothing to TCP services. */
START_TEST(test_tls_client_alpn)
{
	struct tls_client_options	 o = tc_options();
	struct tls_client		*tc;
	struct tc_conn			 c;
	SSL_CTX				*sctx = tc_server_ctx("srv", false);
	const unsigned char		*p;
	unsigned int			 n;

	o.alpn_http11 = _i == 0;
	tc = tc_new(&o);
	tc_connect(&c, tls_client_ssl(tc, 0, "localhost", false), sctx);
	tc_assert_done(&c, "alpn");
	SSL_get0_alpn_selected(c.client.ssl, &p, &n);
	if (_i == 0) {
		ck_assert(tc_alpn_offered);
		ck_assert_str_eq(tc_alpn_offer, "\x08http/1.1");
		ck_assert_uint_eq(n, 8);
		ck_assert(memcmp(p, "http/1.1", 8) == 0);
	} else {
		ck_assert(!tc_alpn_offered);
		ck_assert_uint_eq(n, 0);
	}
	tc_close(&c);
	SSL_CTX_free(sctx);
	tls_client_free(tc);
}
END_TEST

/* A server that requires a client certificate sees the configured one. */
START_TEST(test_tls_client_certificate)
{
	struct tls_client_options	 o = tc_options();
	struct tls_client		*tc;
	struct tc_conn			 c;
	SSL_CTX				*sctx = tc_server_ctx("srv", true);
	X509				*x;
	char				 cn[64];

	/* Without one: refused. */
	tc = tc_new(&o);
	tc_connect(&c, tls_client_ssl(tc, 0, "localhost", false), sctx);
	ck_assert_int_eq(c.server.state, CHECK_TLS_FAILED);
	tc_close(&c);
	tls_client_free(tc);

	o.certificate = check_files_path("cli.pem");
	o.key = check_files_path("cli.key");
	tc = tc_new(&o);
	tc_connect(&c, tls_client_ssl(tc, 0, "localhost", false), sctx);
	tc_assert_done(&c, "mutual");
	x = SSL_get0_peer_certificate(c.server.ssl);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, sizeof(cn)), 0);
	ck_assert_str_eq(cn, "wsgate-client");
	ck_assert_int_eq(SSL_get_verify_result(c.server.ssl), X509_V_OK);
	tc_close(&c);
	SSL_CTX_free(sctx);
	tls_client_free(tc);
}
END_TEST

/* min_version 1.3 refuses a server that stops at TLS 1.2. */
START_TEST(test_tls_client_min_version)
{
	struct tls_client_options	 o = tc_options();
	struct tls_client		*tc;
	struct tc_conn			 c;
	SSL_CTX				*sctx = tc_server_ctx("srv", false);

	ck_assert_int_eq(SSL_CTX_set_max_proto_version(sctx, TLS1_2_VERSION),
	    1);
	tc = tc_new(&o);
	tc_connect(&c, tls_client_ssl(tc, 0, "localhost", false), sctx);
	tc_assert_done(&c, "TLS 1.2");
	ck_assert_int_eq(SSL_version(c.client.ssl), TLS1_2_VERSION);
	tc_close(&c);
	tls_client_free(tc);

	o.min_version = TLS1_3_VERSION;
	tc = tc_new(&o);
	tc_connect(&c, tls_client_ssl(tc, 0, "localhost", false), sctx);
	ck_assert_int_eq(c.client.state, CHECK_TLS_FAILED);
	tc_close(&c);
	tls_client_free(tc);
	SSL_CTX_free(sctx);
}
END_TEST

/*
 * Resumption, TLS 1.3 then 1.2: the second connection to a server
 * resumes its session; a connection to the other server, or one that
 * does not ask for it, does not.
 */
START_TEST(test_tls_client_resume)
{
	struct tls_client_options	 o = tc_options();
	struct tls_client		*tc = tc_new(&o);
	struct tc_conn			 c;
	SSL_CTX				*sctx = tc_server_ctx("srv", false);

	if (_i == 1)
		ck_assert_int_eq(SSL_CTX_set_max_proto_version(sctx,
		    TLS1_2_VERSION), 1);
	tc_connect(&c, tls_client_ssl(tc, 0, "localhost", true), sctx);
	tc_assert_done(&c, "first");
	ck_assert(!SSL_session_reused(c.client.ssl));
	tc_close(&c);

	tc_connect(&c, tls_client_ssl(tc, 0, "localhost", true), sctx);
	tc_assert_done(&c, "second");
	ck_assert(SSL_session_reused(c.client.ssl));
	tc_close(&c);

	tc_connect(&c, tls_client_ssl(tc, 1, "localhost", true), sctx);
	tc_assert_done(&c, "other server");
	ck_assert(!SSL_session_reused(c.client.ssl));
	tc_close(&c);

	tc_connect(&c, tls_client_ssl(tc, 0, "localhost", false), sctx);
	tc_assert_done(&c, "health check");
	ck_assert(!SSL_session_reused(c.client.ssl));
	tc_close(&c);
	SSL_CTX_free(sctx);
	tls_client_free(tc);
}
END_TEST

/* The reason without an SSL, or without an error. */
START_TEST(test_tls_client_error_text)
{
	char	buf[128];

	/* Loaded by the first context otherwise. */
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, NULL);
	tls_client_error(NULL, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "TLS failure");
	tls_client_error(NULL, ERR_PACK(ERR_LIB_SSL, 0,
	    SSL_R_CERTIFICATE_VERIFY_FAILED), buf, sizeof(buf));
	ck_assert_str_eq(buf, "certificate verify failed");
	tls_client_error(NULL, ERR_PACK(ERR_LIB_SSL, 0,
	    SSL_R_NO_SHARED_CIPHER), buf, 8);
	ck_assert_str_eq(buf, "no shar");
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("tls_client");

	tc = tcase_create("contexts");
	tcase_add_unchecked_fixture(tc, tc_setup, tc_teardown);
	tcase_add_test(tc, test_tls_client_new_good);
	tcase_add_loop_test(tc, test_tls_client_new_errors, 0,
	    TC_NELEM(tc_error_vectors));
	tcase_add_test(tc, test_tls_client_missing_ca_reason);
	tcase_add_test(tc, test_tls_client_error_text);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("handshakes");
	tcase_add_unchecked_fixture(tc, tc_setup, tc_teardown);
	tcase_add_loop_test(tc, test_tls_client_names, 0,
	    TC_NELEM(tc_name_vectors));
	tcase_add_loop_test(tc, test_tls_client_alpn, 0, 2);
	tcase_add_test(tc, test_tls_client_certificate);
	tcase_add_test(tc, test_tls_client_min_version);
	tcase_add_loop_test(tc, test_tls_client_resume, 0, 2);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	return s;
}
