/*
 * tls — the server-side OpenSSL contexts of a TLS listener, and the
 * certificate checks of "wsgate -t".
 *
 * A struct tls_server holds one SSL_CTX per certificate pair of
 * listen[].tls, all configured alike; connections are created from the
 * first (the default), and the SNI extension (RFC 6066 §3) switches them
 * to the context whose certificate names the requested host.
 *
 * What every context enforces:
 * - TLS 1.2 or 1.3 only: SSLv3, TLS 1.0 and 1.1 are never negotiated;
 * - TLS 1.2 ciphers: ECDHE key exchange with an AEAD cipher by default,
 *   in the server's order of preference;
 * - ALPN (RFC 7301): "http/1.1" is selected when the client offers it.
 *   A client that offers ALPN without http/1.1 (only "h2", say) gets a
 *   fatal no_application_protocol alert: a WebSocket edge speaks only
 *   HTTP/1.1 (RFC 6455 §4.1), and RFC 8441 WebSockets over HTTP/2 are
 *   not supported.  A client that offers no ALPN is served.
 * - no renegotiation;
 * - session resumption, through a server session cache and session
 *   tickets.  The ticket keys are OpenSSL's own, random, per SSL_CTX and
 *   never written anywhere: a reload, which builds a new tls_server,
 *   rotates them, and tickets issued before it fall back to a full
 *   handshake.
 * - SSL_MODE_RELEASE_BUFFERS: an idle connection gives its 2 x 16 KiB
 *   read and write buffers back (wsgate aims at a few KiB per idle
 *   connection).
 *
 * A key protected by a passphrase is refused (there is nobody to type
 * it).  Error messages name the file and OpenSSL's reason, never key
 * material.
 */
#ifndef WSGATE_TLS_H
#define WSGATE_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

/* One certificate pair: PEM file paths, borrowed. */
struct tls_cert {
	const char	*certificate;	/* the leaf first, then its chain */
	const char	*key;		/* unencrypted private key */
};

struct tls_options {
	const struct tls_cert	*certs;		/* certs[0] is the default */
	size_t			 ncerts;	/* at least 1 */
	int			 min_version;	/* 0 or TLS1_2_VERSION (the
						   default), TLS1_3_VERSION */
	const char		*ciphers;	/* TLS 1.2 cipher list, NULL:
						   ECDHE with AEAD only */
	const char		*ciphersuites;	/* TLS 1.3, NULL: OpenSSL's
						   default */
};

struct tls_server;

/*
 * Loads every pair of o and builds their contexts; nothing of o is kept.
 * Returns the server, or NULL with a message in err (such as
 * "/etc/wsgate/a.key: key does not match certificate
 * /etc/wsgate/a.pem: ...").  The caller drops it with tls_server_unref().
 */
struct tls_server	*tls_server_new(const struct tls_options *o, char *err,
			    size_t errlen);

/*
 * The default context, to SSL_new() each accepted connection from;
 * borrowed from ts.  SNI may move a connection to another context of ts.
 */
SSL_CTX		*tls_server_ctx(const struct tls_server *ts);

/*
 * A server is reference counted: its listener holds one reference and
 * every connection made from it another, since its SNI callback reads ts
 * until the handshake is done.  A certificate reload replaces the
 * listener's server; the old one goes with its last connection.  Both
 * are safe from any thread; tls_server_new() returns the first
 * reference, and unref of NULL does nothing.
 */
struct tls_server	*tls_server_ref(struct tls_server *ts);
void		 tls_server_unref(struct tls_server *ts);

/*
 * Whether a host name matches a certificate name (RFC 6125 §6.4):
 * equal, ignoring ASCII case, or pattern is "*." followed by at least
 * two labels and name is one more non-empty label followed by the same
 * labels.  "*.w.test" matches "a.w.test", neither "w.test" nor
 * "a.b.w.test"; partial wildcards ("a*.test", "a.*.test") never match.
 */
bool		 tls_name_matches(const char *pattern, const char *name);

/*
 * For "wsgate -t": the pair loads, the key matches the certificate and
 * the certificate is valid now.  *days_left is set to the whole days
 * until it expires (negative once expired) whenever the certificate
 * loads.  Returns 0, or -1 with a message in err.
 */
int		 tls_check_pair(const struct tls_cert *c, long *days_left,
		    char *err, size_t errlen);

#endif
