/*
 * tls_client — the client side of TLS: the OpenSSL context wsgate
 * connects to the servers of a backend with (backends.NAME.tls), and
 * the SSL object of each connection.
 *
 * What every context enforces:
 * - TLS 1.2 or 1.3 only (min_version may raise it to 1.3);
 * - with verify (the default): the server's chain must lead to a
 *   certificate of the "ca" bundle, or of OpenSSL's default store when
 *   there is none, and the server's certificate must name the server
 *   (RFC 6125 §6: a DNS subjectAltName, no partial wildcards; an IP
 *   address is matched against the IP address subjectAltNames).  A
 *   failure ends the handshake.  Without verify nothing is checked:
 *   anyone on the path can pose as the server (main warns of it);
 * - SNI (RFC 6066 §3) with the server's name, never with an IP address,
 *   which §3 does not allow in a HostName;
 * - ALPN (RFC 7301): "http/1.1" offered on the way to WebSocket servers
 *   (RFC 6455 §4.1 is HTTP/1.1: a server able to pick h2 must not),
 *   nothing to TCP services;
 * - an optional client certificate and key, for servers that require
 *   one (mutual TLS);
 * - no renegotiation, no compression;
 * - session resumption: the last session each server gave is kept, as
 *   DER bytes under a lock, and offered by the next connection to that
 *   server.  Worker threads connect at once to the same servers, and
 *   an SSL_SESSION may not be shared between handshakes running in
 *   several threads: each connection decodes a copy of its own.
 *
 * A context is built once per config generation, at startup (and by
 * "wsgate -t"), and shared read-only by every worker thread: SSL_new()
 * on a shared SSL_CTX is thread-safe.  A key protected by a passphrase
 * is refused.  Error messages name the file and OpenSSL's reason.
 */
#ifndef WSGATE_TLS_CLIENT_H
#define WSGATE_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

struct tls_client_options {
	bool		 verify;	/* check the chain and the name */
	const char	*ca;		/* PEM bundle, or NULL: OpenSSL's
					   default store */
	const char	*certificate;	/* client chain (PEM), or NULL */
	const char	*key;		/* its key, given with certificate */
	int		 min_version;	/* 0 or TLS1_2_VERSION (the default),
					   TLS1_3_VERSION */
	bool		 alpn_http11;	/* offer "http/1.1" */
	size_t		 nservers;	/* sessions kept: one per server */
};

struct tls_client;

/*
 * Builds a context as o says; nothing of o is kept.  Returns it, or
 * NULL with a message in err, such as "/etc/wsgate/ca.pem: cannot load
 * CA certificates: no such file".  The caller frees it with
 * tls_client_free().
 */
struct tls_client	*tls_client_new(const struct tls_client_options *o,
			    char *err, size_t errlen);

/*
 * A client SSL for a connection to server number server (below
 * nservers), whose name is name: sent as SNI unless it is an IP address,
 * and checked against the certificate when tc verifies.  name NULL: no
 * SNI and no name check.  With resume, the server's last session is
 * offered, and the session this connection gets is kept for the next.
 * Returns the SSL, which the caller frees or hands over to
 * conn_tls_connect(), or NULL when out of memory.
 */
SSL			*tls_client_ssl(struct tls_client *tc, size_t server,
			    const char *name, bool resume);

/*
 * Why a handshake or record failed, for a log line: the reason of
 * OpenSSL's error e (0: none in the queue), followed, when ssl (which
 * may be NULL) failed to verify its peer, by the verification error:
 * "certificate verify failed (self-signed certificate)".
 */
void			 tls_client_error(const SSL *ssl, unsigned long e,
			    char *buf, size_t len);

/*
 * Frees tc (NULL is fine), once the connections made from it are
 * freed: their session callback reads tc.
 */
void			 tls_client_free(struct tls_client *tc);

#endif
