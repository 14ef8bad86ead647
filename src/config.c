/*
 * config — wsgate.yaml loader.
 *
 * libyaml builds the document tree (yaml_parser_load); this file walks it
 * with key tables, one per mapping of the schema, so that allowed keys,
 * their parsers and the limits with their bounds each live in one place.
 * Errors are collected, never fatal on the first: each is printed as
 * "file:line:col: path: message" with 1-based positions (libyaml counts
 * from 0).  References between sections (routes to backends) are checked
 * after the whole document has been read, so the order of sections in the
 * file does not matter.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <yaml.h>

#include "config.h"
#include "http.h"
#include "proxyproto.h"
#include "tls_client.h"
#include "units.h"

/* A listener's setting goes to proxyproto_parse() as it is. */
static_assert((int)CONFIG_PROXY_V1 == (int)PROXYPROTO_V1, "v1");
static_assert((int)CONFIG_PROXY_V2 == (int)PROXYPROTO_V2, "v2");
static_assert((int)CONFIG_PROXY_AUTO == (int)PROXYPROTO_AUTO, "auto");

#define CONFIG_PATH_MAX	256

struct config_route_ref;

struct config_ctx {
	yaml_document_t	*doc;
	const char	*text;			/* the file, for fingerprints */
	size_t		 len;
	const char	*name;
	struct config	*cfg;
	FILE		*errs;
	char		*errbuf;
	size_t		 errlen;
	unsigned	 nerrors;
	struct config_route_ref *route_refs;	/* one per route */
	yaml_node_t	*listen_node;		/* the first listen, if any */
	yaml_node_t	*trusted_node;		/* trusted_proxies, if any */
	yaml_node_t	*group_node;		/* group, if any */
	yaml_node_t	*limits_node;		/* limits, if any */
};

typedef void (*config_key_fn)(struct config_ctx *, yaml_node_t *,
    const char *, void *);

/* Visits one key/value pair of a mapping: key, value, key text, path. */
typedef void (*config_pair_fn)(struct config_ctx *, yaml_node_t *,
    yaml_node_t *, const char *, const char *, void *);

enum config_unit {
	CONFIG_NOT_QUANTITY,
	CONFIG_DURATION,	/* uint64_t milliseconds */
	CONFIG_SIZE,		/* uint64_t bytes */
	CONFIG_COUNT		/* uint64_t, a whole number */
};

/* A duration or size: where it goes, its default and its bounds (0 is
 * always allowed when zero_ok: it means "off"). */
struct config_quantity {
	enum config_unit unit;
	size_t		 offset;	/* in the object being filled */
	uint64_t	 def;
	uint64_t	 min;
	uint64_t	 max;
	bool		 zero_ok;
	const char	*range;		/* the bounds, as errors say them */
};

/* A key of a mapping: a parser, or (parse NULL) a quantity. */
struct config_key {
	const char		*name;
	config_key_fn		 parse;
	bool			 required;
	struct config_quantity	 q;
};

#define KiB	(1024ULL)
#define MiB	(1024ULL * 1024)
#define GiB	(1024ULL * 1024 * 1024)
#define SEC	(1000ULL)

static void
config_error(struct config_ctx *ctx, const yaml_node_t *node,
    const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
config_error(struct config_ctx *ctx, const yaml_node_t *node,
    const char *path, const char *fmt, ...)
{
	va_list	ap;

	fprintf(ctx->errs, "%s:%zu:%zu: %s%s", ctx->name,
	    node->start_mark.line + 1, node->start_mark.column + 1, path,
	    *path == '\0' ? "" : ": ");
	va_start(ap, fmt);
	vfprintf(ctx->errs, fmt, ap);
	va_end(ap);
	fputc('\n', ctx->errs);
	ctx->nerrors++;
}

static const char *
config_type_name(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "empty";
	}
}

/*
 * A hash of the text a node spans in the file (FNV-1a, 64 bits), mixed
 * into h: what a reload compares to tell a changed route from one left
 * alone.
 */
static uint64_t
config_fingerprint(const struct config_ctx *ctx, const yaml_node_t *node,
    uint64_t h)
{
	size_t	i, end = node->end_mark.index;

	/* A block node ends where the next token starts: not its text. */
	if (end > ctx->len)
		end = ctx->len;
	while (end > node->start_mark.index &&
	    strchr(" \t\r\n", ctx->text[end - 1]) != NULL)
		end--;
	if (h == 0)
		h = 0xcbf29ce484222325ULL;
	for (i = node->start_mark.index; i < end; i++) {
		h ^= (unsigned char)ctx->text[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Returns the scalar's text, or NULL after reporting a type error. */
static const char *
config_scalar(struct config_ctx *ctx, yaml_node_t *node, const char *path)
{
	if (node->type != YAML_SCALAR_NODE) {
		config_error(ctx, node, path, "must be a string, not %s",
		    config_type_name(node));
		return NULL;
	}
	return (const char *)node->data.scalar.value;
}

static char *
config_strdup(const char *s)
{
	char	*p = strdup(s);

	if (p == NULL) {
		perror("strdup");
		exit(1);
	}
	return p;
}

static char *
config_strndup(const char *s, size_t n)
{
	char	*p = strndup(s, n);

	if (p == NULL) {
		perror("strndup");
		exit(1);
	}
	return p;
}

static void *
config_calloc(size_t n, size_t size)
{
	void	*p = calloc(n == 0 ? 1 : n, size);

	if (p == NULL) {
		perror("calloc");
		exit(1);
	}
	return p;
}

/* Parses a duration or size scalar and checks its bounds. */
static int
config_quantity(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    const struct config_quantity *q, uint64_t *out)
{
	const char	*s, *errstr;
	uint64_t	 v;
	int		 rc;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return -1;
	if (q->unit == CONFIG_DURATION)
		rc = units_parse_duration(s, &v, &errstr);
	else if (q->unit == CONFIG_COUNT)
		rc = units_parse_count(s, &v, &errstr);
	else
		rc = units_parse_size(s, &v, &errstr);
	if (rc == -1) {
		config_error(ctx, node, path, "\"%s\": %s", s, errstr);
		return -1;
	}
	if (!(v == 0 && q->zero_ok) && (v < q->min || v > q->max)) {
		config_error(ctx, node, path, "must be %s", q->range);
		return -1;
	}
	*out = v;
	return 0;
}

static uint64_t *
config_quantity_field(const struct config_quantity *q, void *obj)
{
	return (uint64_t *)(void *)((char *)obj + q->offset);
}

/*
 * Reports an unknown key with the allowed ones, read from a key table:
 * rows of stride bytes that start with their name, ended by a NULL name.
 */
static void
config_unknown_key(struct config_ctx *ctx, yaml_node_t *key,
    const char *path, const void *table, size_t stride)
{
	char		 expected[512] = "";
	const char	*row, *name;

	for (row = table; (name = *(const char *const *)(const void *)row)
	    != NULL; row += stride) {
		if (row != table)
			strncat(expected, ", ",
			    sizeof(expected) - strlen(expected) - 1);
		strncat(expected, name,
		    sizeof(expected) - strlen(expected) - 1);
	}
	config_error(ctx, key, path, "unknown key (expected one of: %s)",
	    expected);
}

/*
 * Walks a mapping: every key must be a scalar listed in keys; each value
 * goes to its parser with the path extended by the key.
 */
/* True when a pair before pair in the mapping has the key name. */
static bool
config_key_before(struct config_ctx *ctx, yaml_node_t *node,
    yaml_node_pair_t *pair, const char *name)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*key;

	for (p = node->data.mapping.pairs.start; p < pair; p++) {
		key = yaml_document_get_node(ctx->doc, p->key);
		if (key->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)key->data.scalar.value, name) == 0)
			return true;
	}
	return false;
}

/*
 * Calls fn for each pair of a mapping with the path extended by its key;
 * keys that are not strings and keys given twice are reported here.
 */
static void
config_each_pair(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    const char *what, config_pair_fn fn, void *arg)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*key, *value;
	char			 sub[CONFIG_PATH_MAX];
	const char		*name;

	if (node->type != YAML_MAPPING_NODE) {
		config_error(ctx, node, path, "must be %s, not %s", what,
		    config_type_name(node));
		return;
	}
	for (pair = node->data.mapping.pairs.start;
	    pair < node->data.mapping.pairs.top; pair++) {
		key = yaml_document_get_node(ctx->doc, pair->key);
		value = yaml_document_get_node(ctx->doc, pair->value);
		if ((name = config_scalar(ctx, key, path)) == NULL)
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", path,
		    *path == '\0' ? "" : ".", name);
		if (config_key_before(ctx, node, pair, name)) {
			config_error(ctx, key, sub, "duplicate key");
			continue;
		}
		fn(ctx, key, value, name, sub, arg);
	}
}

struct config_mapping_walk {
	const struct config_key	*keys;
	void			*obj;
};

static void
config_mapping_pair(struct config_ctx *ctx, yaml_node_t *key,
    yaml_node_t *value, const char *name, const char *path, void *arg)
{
	struct config_mapping_walk	*w = arg;
	const struct config_key		*k;

	for (k = w->keys; k->name != NULL; k++) {
		if (strcmp(k->name, name) != 0)
			continue;
		if (k->parse != NULL)
			k->parse(ctx, value, path, w->obj);
		else
			config_quantity(ctx, value, path, &k->q,
			    config_quantity_field(&k->q, w->obj));
		return;
	}
	config_unknown_key(ctx, key, path, w->keys, sizeof(*w->keys));
}

/*
 * Walks a mapping of the schema: every key must be listed in keys, and
 * each value goes to its parser; required keys must be there.
 */
static void
config_mapping(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    const struct config_key *keys, void *obj)
{
	struct config_mapping_walk	 w = { keys, obj };
	const struct config_key		*k;
	yaml_node_pair_t		*end;

	config_each_pair(ctx, node, path, "a mapping", config_mapping_pair,
	    &w);
	if (node->type != YAML_MAPPING_NODE)
		return;
	end = node->data.mapping.pairs.top;
	for (k = keys; k->name != NULL; k++) {
		if (k->required &&
		    !config_key_before(ctx, node, end, k->name))
			config_error(ctx, node, path, "missing key \"%s\"",
			    k->name);
	}
}

/* The first pair of key name in a mapping, or NULL (not there, not a
 * mapping). */
static yaml_node_pair_t *
config_pair(struct config_ctx *ctx, yaml_node_t *node, const char *name)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*key;

	if (node->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = node->data.mapping.pairs.start;
	    pair < node->data.mapping.pairs.top; pair++) {
		key = yaml_document_get_node(ctx->doc, pair->key);
		if (key->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)key->data.scalar.value, name) == 0)
			return pair;
	}
	return NULL;
}

/* The value of key name in a mapping, or NULL (not there, not a mapping). */
static yaml_node_t *
config_value(struct config_ctx *ctx, yaml_node_t *node, const char *name)
{
	yaml_node_pair_t	*pair;

	if ((pair = config_pair(ctx, node, name)) == NULL)
		return NULL;
	return yaml_document_get_node(ctx->doc, pair->value);
}

/*
 * A scalar that must be one of the first n names; *out gets its index.
 * Returns 0, or -1 after reporting the allowed values.
 */
static int
config_enum_n(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    const char *const *names, int n, int *out)
{
	char		 allowed[256] = "";
	const char	*s;
	int		 i;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
		if (i > 0)
			strncat(allowed, n == 2 ? " or " : ", ",
			    sizeof(allowed) - strlen(allowed) - 1);
		strncat(allowed, names[i],
		    sizeof(allowed) - strlen(allowed) - 1);
	}
	config_error(ctx, node, path, "\"%s\" must be %s%s", s,
	    n > 2 ? "one of: " : "", allowed);
	return -1;
}

/* The same for every name of a NULL-ended table. */
static int
config_enum(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    const char *const *names, int *out)
{
	int	n;

	for (n = 0; names[n] != NULL; n++)
		continue;
	return config_enum_n(ctx, node, path, names, n, out);
}

/* YAML booleans as libyaml leaves them: untyped scalars. */
static const char *const config_bool_names[] = { "false", "true", NULL };

/* Checks that node is a non-empty list; returns its item count or 0. */
static size_t
config_sequence(struct config_ctx *ctx, yaml_node_t *node, const char *path)
{
	size_t	n;

	if (node->type != YAML_SEQUENCE_NODE) {
		config_error(ctx, node, path, "must be a list, not %s",
		    config_type_name(node));
		return 0;
	}
	n = (size_t)(node->data.sequence.items.top -
	    node->data.sequence.items.start);
	if (n == 0)
		config_error(ctx, node, path, "must not be empty");
	return n;
}

static yaml_node_t *
config_item(struct config_ctx *ctx, yaml_node_t *seq, size_t i)
{
	return yaml_document_get_node(ctx->doc,
	    seq->data.sequence.items.start[i]);
}

/* RFC 9110 §5.6.2 tchar: subprotocol names are tokens (RFC 6455 §4.1). */
static bool
config_is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s <= 0x20 || *s >= 0x7f ||
		    strchr("\"(),/:;<=>?@[\\]{}", *s) != NULL)
			return false;
	}
	return true;
}

/*
 * A list of strings, duplicated into *out; when valid is given, each
 * item must pass it, else the error says it is not a valid "what".
 */
static void
config_string_list(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, bool (*valid)(const char *), const char *what,
    char ***out, size_t *count)
{
	yaml_node_t	*item;
	char		 sub[CONFIG_PATH_MAX];
	const char	*s;
	size_t		 i, n;

	if ((n = config_sequence(ctx, node, path)) == 0)
		return;
	*out = config_calloc(n, sizeof(**out));
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		item = config_item(ctx, node, i);
		if ((s = config_scalar(ctx, item, sub)) == NULL)
			continue;
		if (valid != NULL && !valid(s)) {
			config_error(ctx, item, sub, "\"%s\" is not a valid %s",
			    s, what);
			continue;
		}
		(*out)[(*count)++] = config_strdup(s);
	}
}

/*
 * "host:port" or "[v6]:port", resolved now (as nginx does at start);
 * numeric_host for listen addresses, which must be IP addresses.
 */
static int
config_resolve(const char *address, bool numeric_host,
    struct sockaddr_storage *ss, socklen_t *sslen, const char **errstr)
{
	struct addrinfo	 hints, *res;
	char		 host[256], *end;
	const char	*colon, *port, *h = address;
	size_t		 hlen;
	long		 portnum;
	int		 rc;

	if ((colon = strrchr(address, ':')) == NULL || colon[1] == '\0') {
		*errstr = "must be host:port";
		return -1;
	}
	port = colon + 1;
	errno = 0;
	portnum = strtol(port, &end, 10);
	/* Port 0 lets the kernel choose: fine to listen on, not to reach. */
	if (*end != '\0' || errno != 0 || portnum < (numeric_host ? 0 : 1) ||
	    portnum > 65535) {
		*errstr = numeric_host ? "port must be a number from 0 to "
		    "65535" : "port must be a number from 1 to 65535";
		return -1;
	}
	hlen = (size_t)(colon - address);
	if (*h == '[') {
		if (hlen < 2 || h[hlen - 1] != ']') {
			*errstr = "must be host:port ([addr]:port for IPv6)";
			return -1;
		}
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		*errstr = "must be host:port";
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (numeric_host ? AI_NUMERICHOST : 0);
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		*errstr = numeric_host ? "must be an IP address and port, "
		    "e.g. \"0.0.0.0:80\" or \"[::]:80\"" : gai_strerror(rc);
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* listen: ------------------------------------------------------------- */

/* An address to listen on: an IP address and port, kept as written. */
static void
config_bind_address(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, char **address, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	const char	*s, *errstr;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return;
	if (strncmp(s, "unix:", 5) == 0) {
		config_error(ctx, node, path,
		    "unix socket listeners are not supported yet");
		return;
	}
	if (config_resolve(s, true, ss, sslen, &errstr) == -1) {
		config_error(ctx, node, path, "\"%s\": %s", s, errstr);
		return;
	}
	*address = config_strdup(s);
}

static void
config_listen_address(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_listen	*ls = obj;

	config_bind_address(ctx, node, path, &ls->address, &ls->ss,
	    &ls->sslen);
}

/*
 * proxy_protocol: YAML false (or "false") for none, else the versions
 * accepted, by the value of enum config_proxy_protocol.
 */
static const char *const config_proxy_names[] = {
	[CONFIG_PROXY_OFF] = "false",
	[CONFIG_PROXY_V1] = "v1",
	[CONFIG_PROXY_V2] = "v2",
	[CONFIG_PROXY_AUTO] = "auto",
	NULL
};

static void
config_listen_proxy_protocol(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_listen	*ls = obj;
	int			 v;

	/* Whether trusted_proxies is set is checked once all is read. */
	if (config_enum(ctx, node, path, config_proxy_names, &v) == 0)
		ls->proxy_protocol = (enum config_proxy_protocol)v;
}

/* listen[].tls: ------------------------------------------------------ */

/*
 * A certificate or key file, duplicated into *out.  A relative name is
 * taken from the directory of the configuration file, so that a file
 * and its keys move together.  The file is not opened here: tls.c
 * loads it at startup, on reload and for "wsgate -t".
 */
static void
config_file_path(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, char **out)
{
	const char	*s, *slash, *name = ctx->cfg->path;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return;
	if (*s == '\0') {
		config_error(ctx, node, path, "must be a file name");
		return;
	}
	/* "wsgate.yaml": its directory is the current one. */
	if (*s == '/' || (slash = strrchr(name, '/')) == NULL) {
		*out = config_strdup(s);
		return;
	}
	if (asprintf(out, "%.*s/%s", (int)(slash - name), name, s) == -1) {
		perror("asprintf");
		exit(1);
	}
}

static void
config_tls_cert_certificate(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_tls_cert	*c = obj;

	config_file_path(ctx, node, path, &c->certificate);
}

static void
config_tls_cert_key(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_tls_cert	*c = obj;

	config_file_path(ctx, node, path, &c->key);
}

/* An entry of tls.certificates. */
static const struct config_key config_tls_cert_keys[] = {
	{ "certificate", config_tls_cert_certificate, true, { 0 } },
	{ "key", config_tls_cert_key, true, { 0 } },
	{ NULL, NULL, false, { 0 } }
};

/* tls as parsed: one pair directly under it goes to pair first. */
struct config_tls_parse {
	struct config_tls	*tls;
	struct config_tls_cert	 pair;
};

static void
config_tls_certificate(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_tls_parse	*tp = obj;

	config_tls_cert_certificate(ctx, node, path, &tp->pair);
}

static void
config_tls_key(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    void *obj)
{
	struct config_tls_parse	*tp = obj;

	config_tls_cert_key(ctx, node, path, &tp->pair);
}

static void
config_tls_certificates(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_tls_parse	*tp = obj;
	struct config_tls	*tls = tp->tls;
	struct config_tls_cert	*c;
	char			 sub[CONFIG_PATH_MAX];
	size_t			 i, n;

	if ((n = config_sequence(ctx, node, path)) == 0)
		return;
	tls->certs = config_calloc(n, sizeof(*tls->certs));
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		c = &tls->certs[tls->ncerts];
		config_mapping(ctx, config_item(ctx, node, i), sub,
		    config_tls_cert_keys, c);
		if (c->certificate == NULL || c->key == NULL) {
			free(c->certificate);
			free(c->key);
			memset(c, 0, sizeof(*c));
			continue;
		}
		tls->ncerts++;
	}
}

/*
 * TLS 1.0 and 1.1 are never offered (RFC 8996).  libyaml leaves
 * scalars untyped, so min_version: 1.2 and "1.2" read alike.
 */
static const char *const config_tls_version_names[] = { "1.2", "1.3" };

/* A min_version, of a listener or a backend, into *out. */
static void
config_tls_version(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, int *out)
{
	int	v;

	if (config_enum_n(ctx, node, path, config_tls_version_names, 2,
	    &v) == 0)
		*out = v == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
}

static void
config_tls_min_version(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_tls_parse	*tp = obj;

	config_tls_version(ctx, node, path, &tp->tls->min_version);
}

/* Cipher strings are checked by OpenSSL, when tls.c builds contexts. */
static void
config_tls_string(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, char **out)
{
	const char	*s;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return;
	if (*s == '\0') {
		config_error(ctx, node, path, "must not be empty");
		return;
	}
	*out = config_strdup(s);
}

static void
config_tls_ciphers(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_tls_parse	*tp = obj;

	config_tls_string(ctx, node, path, &tp->tls->ciphers);
}

static void
config_tls_ciphersuites(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_tls_parse	*tp = obj;

	config_tls_string(ctx, node, path, &tp->tls->ciphersuites);
}

static const struct config_key config_tls_keys[] = {
	{ "certificate", config_tls_certificate, false, { 0 } },
	{ "key", config_tls_key, false, { 0 } },
	{ "certificates", config_tls_certificates, false, { 0 } },
	{ "min_version", config_tls_min_version, false, { 0 } },
	{ "ciphers", config_tls_ciphers, false, { 0 } },
	{ "ciphersuites", config_tls_ciphersuites, false, { 0 } },
	{ NULL, NULL, false, { 0 } }
};

static void
config_tls_free(struct config_tls *tls)
{
	size_t	i;

	if (tls == NULL)
		return;
	for (i = 0; i < tls->ncerts; i++) {
		free(tls->certs[i].certificate);
		free(tls->certs[i].key);
	}
	free(tls->certs);
	free(tls->ciphers);
	free(tls->ciphersuites);
	free(tls);
}

/*
 * Exactly one of the two forms: certificate and key directly under
 * tls, or a list of such pairs in certificates.  When both are there,
 * the error is at the key that comes second.
 */
static void
config_tls_form(struct config_ctx *ctx, yaml_node_t *node,
    const char *path)
{
	yaml_node_pair_t	*cert, *key, *list, *pair, *later;
	const char		*name;
	char			 sub[CONFIG_PATH_MAX];

	cert = config_pair(ctx, node, "certificate");
	key = config_pair(ctx, node, "key");
	list = config_pair(ctx, node, "certificates");
	pair = cert == NULL || (key != NULL && key < cert) ? key : cert;
	if (pair != NULL && list != NULL) {
		later = pair > list ? pair : list;
		name = later == list ? "certificates" :
		    later == cert ? "certificate" : "key";
		snprintf(sub, sizeof(sub), "%s.%s", path, name);
		config_error(ctx, yaml_document_get_node(ctx->doc,
		    later->key), sub, "certificate and key, or "
		    "certificates, not both");
	} else if (pair == NULL && list == NULL)
		config_error(ctx, node, path, "missing key \"certificate\" "
		    "and \"key\" (one pair) or \"certificates\" (several)");
	else if (list == NULL && cert == NULL)
		config_error(ctx, node, path, "missing key \"certificate\"");
	else if (list == NULL && key == NULL)
		config_error(ctx, node, path, "missing key \"key\"");
}

static void
config_listen_tls(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_listen	*ls = obj;
	struct config_tls_parse	 tp;

	memset(&tp, 0, sizeof(tp));
	tp.tls = config_calloc(1, sizeof(*tp.tls));
	tp.tls->min_version = TLS1_2_VERSION;
	ls->tls = tp.tls;
	config_mapping(ctx, node, path, config_tls_keys, &tp);
	if (node->type != YAML_MAPPING_NODE)
		return;
	config_tls_form(ctx, node, path);
	if (tp.pair.certificate != NULL && tp.pair.key != NULL &&
	    tp.tls->certs == NULL) {
		tp.tls->certs = config_calloc(1, sizeof(*tp.tls->certs));
		tp.tls->certs[0] = tp.pair;
		tp.tls->ncerts = 1;
		return;
	}
	free(tp.pair.certificate);
	free(tp.pair.key);
}

/* listen[].allowed_hosts: ------------------------------------------- */

/*
 * Whether s is a DNS name as RFC 1123 §2.1 writes one: labels of 1 to 63
 * letters, digits and hyphens, not starting or ending with a hyphen,
 * joined by dots, 253 bytes at most (no trailing dot).  *nlabels is set
 * to their count; *numeric when the last label is all digits, which
 * makes it a (bad) IPv4 address rather than a name.
 */
static bool
config_is_dns_name(const char *s, size_t *nlabels, bool *numeric)
{
	size_t	n;

	*nlabels = 0;
	if (strlen(s) > 253)
		return false;
	for (;;) {
		*numeric = true;
		for (n = 0; isalnum((unsigned char)s[n]) || s[n] == '-'; n++)
			if (!isdigit((unsigned char)s[n]))
				*numeric = false;
		if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
			return false;
		(*nlabels)++;
		if (s[n] == '\0')
			return true;
		if (s[n] != '.')
			return false;
		s += n + 1;
	}
}

/*
 * An entry of allowed_hosts, as tls_name_matches() takes it (the matcher
 * of certificate names, reused by route_host_allowed()): a host name,
 * "*." and a name of two labels or more, an IPv4 address, or an IPv6
 * address with or without brackets, kept as "[addr]" in the canonical
 * form of inet_ntop(), which route_host_allowed() gives the Host too.
 * Returns the entry to keep (caller frees), or NULL with *errstr.
 */
static char *
config_allowed_host(const char *s, const char **errstr)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	char		 v6[INET6_ADDRSTRLEN], *out;
	const char	*name = s;
	size_t		 len = strlen(s), nlabels;
	bool		 numeric;

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']' &&
	    len - 2 < sizeof(v6)) {
		memcpy(v6, s + 1, len - 2);
		v6[len - 2] = '\0';
	} else
		snprintf(v6, sizeof(v6), "%s", s);
	if (inet_pton(AF_INET6, v6, &a6) == 1) {
		inet_ntop(AF_INET6, &a6, v6, sizeof(v6));
		if (asprintf(&out, "[%s]", v6) == -1) {
			perror("asprintf");
			exit(1);
		}
		return out;
	}
	if (inet_pton(AF_INET, s, &a4) == 1)
		return config_strdup(s);
	if (s[0] == '[') {
		*errstr = "not an IPv6 address";
		return NULL;
	}
	if (strchr(s, ':') != NULL) {
		*errstr = "must be a host without port (the port of Host is "
		    "ignored)";
		return NULL;
	}
	if (strncmp(s, "*.", 2) == 0)
		name = s + 2;
	if (strchr(name, '*') != NULL) {
		*errstr = "a wildcard is only allowed as a leading \"*.\", as "
		    "in \"*.example.com\"";
		return NULL;
	}
	if (!config_is_dns_name(name, &nlabels, &numeric)) {
		*errstr = "not a host name or IP address";
		return NULL;
	}
	if (numeric) {
		*errstr = name == s ? "not an IPv4 address" :
		    "a wildcard covers names, not IP addresses";
		return NULL;
	}
	/* tls_name_matches(): "*.test" would cover a top-level domain. */
	if (name != s && nlabels < 2) {
		*errstr = "\"*.\" must be followed by two labels or more, as "
		    "in \"*.example.com\"";
		return NULL;
	}
	return config_strdup(s);
}

/* A list, possibly empty (as if absent: any host). */
static void
config_listen_allowed_hosts(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_listen	*ls = obj;
	yaml_node_t		*item;
	char			 sub[CONFIG_PATH_MAX], *entry;
	const char		*s, *errstr = NULL;
	size_t			 i, n;

	if (node->type != YAML_SEQUENCE_NODE) {
		config_error(ctx, node, path, "must be a list of host names, "
		    "not %s", config_type_name(node));
		return;
	}
	n = (size_t)(node->data.sequence.items.top -
	    node->data.sequence.items.start);
	if (n == 0)
		return;
	ls->allowed_hosts = config_calloc(n, sizeof(*ls->allowed_hosts));
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		item = config_item(ctx, node, i);
		if ((s = config_scalar(ctx, item, sub)) == NULL)
			continue;
		if ((entry = config_allowed_host(s, &errstr)) == NULL) {
			config_error(ctx, item, sub, "\"%s\": %s", s, errstr);
			continue;
		}
		ls->allowed_hosts[ls->nallowed_hosts++] = entry;
	}
}

static const struct config_key config_listen_keys[] = {
	{ "address", config_listen_address, true, { 0 } },
	{ "tls", config_listen_tls, false, { 0 } },
	{ "proxy_protocol", config_listen_proxy_protocol, false, { 0 } },
	{ "allowed_hosts", config_listen_allowed_hosts, false, { 0 } },
	{ NULL, NULL, false, { 0 } }
};

static void
config_listen(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    void *obj)
{
	struct config	*cfg = obj;
	char		 sub[CONFIG_PATH_MAX];
	size_t		 i, n;

	ctx->listen_node = node;
	if ((n = config_sequence(ctx, node, path)) == 0)
		return;
	cfg->listens = config_calloc(n, sizeof(*cfg->listens));
	cfg->nlistens = n;
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		config_mapping(ctx, config_item(ctx, node, i), sub,
		    config_listen_keys, &cfg->listens[i]);
	}
}

/* log: ---------------------------------------------------------------- */

static void
config_log_level(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config	*cfg = obj;
	const char	*s;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return;
	if (log_level_from_name(s, &cfg->log_level) == -1)
		config_error(ctx, node, path, "\"%s\" must be one of: error, "
		    "warn, info, debug", s);
}

static void
config_log_format(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	static const char *const names[] = { "text", "json", NULL };
	struct config	*cfg = obj;
	int		 v;

	if (config_enum(ctx, node, path, names, &v) == 0)
		cfg->log_format = v == 1 ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT;
}

static void
config_log_access(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config	*cfg = obj;
	int		 v;

	if (config_enum(ctx, node, path, config_bool_names, &v) == 0)
		cfg->log_access = v;
}

static void
config_log_query(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config	*cfg = obj;
	int		 v;

	if (config_enum(ctx, node, path, config_bool_names, &v) == 0)
		cfg->log_query = v;
}

static const struct config_key config_log_keys[] = {
	{ "level", config_log_level, false, { 0 } },
	{ "format", config_log_format, false, { 0 } },
	{ "access", config_log_access, false, { 0 } },
	{ "query", config_log_query, false, { 0 } },
	{ NULL, NULL, false, { 0 } }
};

static void
config_log(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    void *obj)
{
	config_mapping(ctx, node, path, config_log_keys, obj);
}

/* quantities and limits: ---------------------------------------------- */

/* Sets the quantities of a key table to their defaults. */
static void
config_defaults(const struct config_key *keys, void *obj)
{
	for (; keys->name != NULL; keys++)
		if (keys->parse == NULL)
			*config_quantity_field(&keys->q, obj) = keys->q.def;
}

#define LIMIT(f)	offsetof(struct config_limits, f)

/* The limits a route may set for itself (routes[].limits). */
#define LIMIT_MAX_MESSAGE { "max_message", NULL, false, { CONFIG_SIZE, \
	    LIMIT(max_message), 16 * MiB, 1, 1 * GiB, false, \
	    "between 1 and 1GiB" } }
#define LIMIT_MESSAGE_RATE { "message_rate", NULL, false, { CONFIG_COUNT, \
	    LIMIT(message_rate), 0, 1, 1000000, true, \
	    "0 or between 1 and 1000000" } }
#define LIMIT_MESSAGE_BURST { "message_burst", NULL, false, { CONFIG_COUNT, \
	    LIMIT(message_burst), 0, 1, 1000000, true, \
	    "0 or between 1 and 1000000" } }
#define LIMIT_MAX_LIFETIME { "max_lifetime", NULL, false, { CONFIG_DURATION, \
	    LIMIT(max_lifetime), 0, 1 * SEC, 365 * 24 * 3600 * SEC, true, \
	    "0 or between 1s and 8760h" } }
#define LIMIT_IDLE_TIMEOUT { "idle_timeout", NULL, false, { CONFIG_DURATION, \
	    LIMIT(idle_timeout), 0, 1 * SEC, 7 * 24 * 3600 * SEC, true, \
	    "0 or between 1s and 168h" } }

static const struct config_key config_limit_keys[] = {
	{ "handshake_timeout", NULL, false, { CONFIG_DURATION,
	    LIMIT(handshake_timeout), 10 * SEC, 100, 600 * SEC, false,
	    "between 100ms and 10m" } },
	{ "tls_handshake_timeout", NULL, false, { CONFIG_DURATION,
	    LIMIT(tls_handshake_timeout), 5 * SEC, 100, 600 * SEC, false,
	    "between 100ms and 10m" } },
	{ "max_request_head", NULL, false, { CONFIG_SIZE,
	    LIMIT(max_request_head), 8 * KiB, 1 * KiB, 1 * MiB, false,
	    "between 1KiB and 1MiB" } },
	{ "max_headers", NULL, false, { CONFIG_COUNT, LIMIT(max_headers),
	    64, 8, HTTP_MAX_HEADERS, false, "between 8 and 128" } },
	LIMIT_MAX_MESSAGE,
	{ "buffer_high_watermark", NULL, false, { CONFIG_SIZE,
	    LIMIT(buffer_high_watermark), 1 * MiB, 4 * KiB, 1 * GiB, false,
	    "between 4KiB and 1GiB" } },
	{ "max_connection_memory", NULL, false, { CONFIG_SIZE,
	    LIMIT(max_connection_memory), 4 * MiB, 256 * KiB, 4 * GiB, false,
	    "between 256KiB and 4GiB" } },
	{ "max_connections", NULL, false, { CONFIG_COUNT,
	    LIMIT(max_connections), 100000, 1, 10000000, false,
	    "between 1 and 10000000" } },
	{ "max_connections_per_ip", NULL, false, { CONFIG_COUNT,
	    LIMIT(max_connections_per_ip), 256, 1, 10000000, true,
	    "0 or between 1 and 10000000" } },
	{ "handshake_rate", NULL, false, { CONFIG_COUNT,
	    LIMIT(handshake_rate), 0, 1, 1000000, true,
	    "0 or between 1 and 1000000" } },
	{ "handshake_burst", NULL, false, { CONFIG_COUNT,
	    LIMIT(handshake_burst), 0, 1, 1000000, true,
	    "0 or between 1 and 1000000" } },
	LIMIT_MESSAGE_RATE,
	LIMIT_MESSAGE_BURST,
	LIMIT_MAX_LIFETIME,
	{ "ping_interval", NULL, false, { CONFIG_DURATION,
	    LIMIT(ping_interval), 30 * SEC, 1 * SEC, 3600 * SEC, true,
	    "0 or between 1s and 1h" } },
	{ "pong_timeout", NULL, false, { CONFIG_DURATION,
	    LIMIT(pong_timeout), 15 * SEC, 100, 3600 * SEC, false,
	    "between 100ms and 1h" } },
	LIMIT_IDLE_TIMEOUT,
	{ "close_timeout", NULL, false, { CONFIG_DURATION,
	    LIMIT(close_timeout), 5 * SEC, 100, 60 * SEC, false,
	    "between 100ms and 1m" } },
	{ "shutdown_timeout", NULL, false, { CONFIG_DURATION,
	    LIMIT(shutdown_timeout), 10 * SEC, 100, 3600 * SEC, false,
	    "between 100ms and 1h" } },
	{ NULL, NULL, false, { 0 } }
};

static_assert(HTTP_MAX_HEADERS == 128, "max_headers range text");

static const struct config_key config_route_limit_keys[] = {
	LIMIT_MAX_MESSAGE,
	LIMIT_MESSAGE_RATE,
	LIMIT_MESSAGE_BURST,
	LIMIT_MAX_LIFETIME,
	LIMIT_IDLE_TIMEOUT,
	{ NULL, NULL, false, { 0 } }
};

static void
config_limits_key(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config	*cfg = obj;

	ctx->limits_node = node;
	config_mapping(ctx, node, path, config_limit_keys, &cfg->limits);
}

/*
 * The memory a session may buffer (max_connection_memory) must hold what
 * backpressure lets in: each direction's output up to the watermark
 * plus what the reads of one loop turn add before reading pauses (at
 * most two reads of 64KiB towards the client: its backend's, and its
 * own pings answered; CONFIG_READ_SLACK), and the request head.  A
 * budget below that is refused here rather than found at run time.
 */
#define CONFIG_READ_SLACK	(128 * KiB)

static void
config_check_memory(struct config_ctx *ctx)
{
	const struct config_limits	*l = &ctx->cfg->limits;
	uint64_t			 need;
	yaml_node_t			*node = ctx->limits_node;
	const char			*key = "max_connection_memory";
	yaml_node_pair_t		*pair;
	char				 path[64];

	need = 2 * (l->buffer_high_watermark + CONFIG_READ_SLACK) +
	    l->max_request_head;
	if (l->max_connection_memory >= need || node == NULL)
		return;
	if ((pair = config_pair(ctx, node, key)) == NULL)
		pair = config_pair(ctx, node, key = "buffer_high_watermark");
	if (pair == NULL)
		pair = config_pair(ctx, node, key = "max_request_head");
	if (pair != NULL)
		node = yaml_document_get_node(ctx->doc, pair->value);
	snprintf(path, sizeof(path), "limits.%s", key);
	config_error(ctx, node, path, "max_connection_memory must be at "
	    "least 2 x (buffer_high_watermark + 128KiB) + max_request_head "
	    "= %llu bytes here", (unsigned long long)need);
}

/* A burst left at 0 is one second's worth of the rate. */
static void
config_default_burst(struct config_limits *l)
{
	if (l->handshake_burst == 0)
		l->handshake_burst = l->handshake_rate;
	if (l->message_burst == 0)
		l->message_burst = l->message_rate;
}

/* Not set by the route: routes[].limits starts with all of them so. */
#define CONFIG_LIMIT_UNSET	UINT64_MAX

static_assert(sizeof(struct config_limits) % sizeof(uint64_t) == 0,
    "config_limits is made of uint64_t fields only");

/*
 * A route's limits: its own, the global ones for the others.  Called
 * before the global bursts are resolved, so that a route that sets its
 * own rate alone gets one second of that rate as its burst.
 */
static void
config_route_inherit(struct route *rt, const struct config_limits *global)
{
	uint64_t	*mine = (uint64_t *)(void *)&rt->limits;
	const uint64_t	*theirs = (const uint64_t *)(const void *)global;
	size_t		 i;

	if (rt->limits.message_rate != CONFIG_LIMIT_UNSET &&
	    rt->limits.message_burst == CONFIG_LIMIT_UNSET)
		rt->limits.message_burst = 0;
	for (i = 0; i < sizeof(*global) / sizeof(uint64_t); i++)
		if (mine[i] == CONFIG_LIMIT_UNSET)
			mine[i] = theirs[i];
	config_default_burst(&rt->limits);
}

/* Every route's limits, then the global bursts. */
static void
config_resolve_limits(struct config_ctx *ctx)
{
	struct config	*cfg = ctx->cfg;
	size_t		 i;

	for (i = 0; i < cfg->nroutes; i++)
		config_route_inherit(&cfg->routes[i], &cfg->limits);
	config_default_burst(&cfg->limits);
	config_check_memory(ctx);
}

static void
config_route_limits(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj);

/* backends: ----------------------------------------------------------- */

/*
 * s is a whole number between min and max: digits only, so that "-1",
 * " 2" and "2x" are refused rather than read by strtoul as something.
 */
static int
config_parse_number(const char *s, unsigned min, unsigned max,
    unsigned *out)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < min ||
	    v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* A whole number between min and max. */
static int
config_number(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    unsigned min, unsigned max, unsigned *out)
{
	const char	*s;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return -1;
	if (config_parse_number(s, min, max, out) == -1) {
		config_error(ctx, node, path, "\"%s\" must be a number from "
		    "%u to %u", s, min, max);
		return -1;
	}
	return 0;
}

/* Backend types by name; the built-in echo has no name here. */
static const char *const config_backend_types[] = {
	[BACKEND_ECHO] = "",
	[BACKEND_TCP] = "tcp",
	[BACKEND_WEBSOCKET] = "websocket",
	NULL
};

static void
config_backend_type(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct backend	*be = obj;
	int		 type;

	/* Skip the echo slot: "" is not a name anyone may write. */
	if (config_enum(ctx, node, path, config_backend_types + 1,
	    &type) == 0)
		be->type = (enum backend_type)(type + 1);
}

/*
 * "host:port", "[v6]:port" or "unix:/path".  Names are resolved now (as
 * nginx does at start) and kept for re-resolution at run time.
 */
static int
config_server_address(const char *s, struct backend_server *srv,
    const char **errstr)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)&srv->ss;
	struct sockaddr_storage	 probe;
	socklen_t		 len;
	const char		*colon;

	if (strncmp(s, "unix:", 5) == 0) {
		if (s[5] != '/' || strlen(s + 5) >= sizeof(sun->sun_path)) {
			*errstr = "must be unix:/absolute/path (at most 107 "
			    "bytes)";
			return -1;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, s + 5);
		srv->sslen = sizeof(*sun);
		return 0;
	}
	if (config_resolve(s, false, &srv->ss, &srv->sslen, errstr) == -1)
		return -1;
	/* A name, not a literal address: remember it for evdns. */
	if (config_resolve(s, true, &probe, &len, errstr) == -1) {
		colon = strrchr(s, ':');
		srv->host = config_strndup(s, (size_t)(colon - s));
		srv->port = config_strdup(colon + 1);
	}
	return 0;
}

static void
config_server_weight(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct backend_server	*srv = obj;

	config_number(ctx, node, path, 1, 100, &srv->weight);
}

static void
config_server_address_key(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct backend_server	*srv = obj;
	const char		*s, *errstr;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return;
	if (config_server_address(s, srv, &errstr) == -1) {
		config_error(ctx, node, path, "\"%s\": %s", s, errstr);
		return;
	}
	srv->address = config_strdup(s);
}

static const struct config_key config_server_keys[] = {
	{ "address", config_server_address_key, true, { 0 } },
	{ "weight", config_server_weight, false, { 0 } },
	{ NULL, NULL, false, { 0 } }
};

static void
config_backend_servers(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct backend	*be = obj;
	char		 sub[CONFIG_PATH_MAX];
	size_t		 i, n;

	if ((n = config_sequence(ctx, node, path)) == 0)
		return;
	if (n > BACKEND_MAX_SERVERS) {
		config_error(ctx, node, path, "at most %d servers",
		    BACKEND_MAX_SERVERS);
		return;
	}
	be->servers = config_calloc(n, sizeof(*be->servers));
	for (i = 0; i < n; i++) {
		struct backend_server	*srv = &be->servers[be->nservers];
		yaml_node_t		*item = config_item(ctx, node, i);

		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		srv->weight = 1;
		/* "host:port" or { address: "host:port", weight: N } */
		if (item->type == YAML_MAPPING_NODE)
			config_mapping(ctx, item, sub, config_server_keys,
			    srv);
		else
			config_server_address_key(ctx, item, sub, srv);
		if (srv->address == NULL) {
			free(srv->host);
			free(srv->port);
			memset(srv, 0, sizeof(*srv));
			continue;
		}
		be->nservers++;
	}
}

static const char *const config_balance_names[] = {
	[BALANCE_ROUND_ROBIN] = "round_robin",
	[BALANCE_LEAST_CONN] = "least_conn",
	[BALANCE_IP_HASH] = "ip_hash",
	NULL
};

static void
config_backend_balance(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct backend	*be = obj;
	int		 v;

	if (config_enum(ctx, node, path, config_balance_names, &v) == 0)
		be->balance = (enum backend_balance)v;
}






static void
config_backend_retries(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct backend	*be = obj;

	config_number(ctx, node, path, 0, BACKEND_MAX_SERVERS - 1,
	    &be->retries);
}

static void
config_backend_fail_threshold(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct backend	*be = obj;

	config_number(ctx, node, path, 0, 100, &be->fail_threshold);
}



/* A request path: starts with /, visible ASCII only (RFC 9112 §3.2). */
static bool
config_is_path(const char *s)
{
	if (*s != '/')
		return false;
	for (; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return false;
	return true;
}

/* A path-valued key: checked, then duplicated into *out. */
static void
config_path(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    char **out)
{
	const char	*s;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return;
	if (!config_is_path(s)) {
		config_error(ctx, node, path, "\"%s\" must be a path starting "
		    "with /, without spaces", s);
		return;
	}
	*out = config_strdup(s);
}

static void
config_check_path(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct backend_health_check	*hc = obj;

	config_path(ctx, node, path, &hc->path);
}

#define CHECK(f)	offsetof(struct backend_health_check, f)

static const struct config_key config_check_keys[] = {
	{ "interval", NULL, false, { CONFIG_DURATION, CHECK(interval),
	    5 * SEC, 100, 3600 * SEC, false, "between 100ms and 1h" } },
	{ "timeout", NULL, false, { CONFIG_DURATION, CHECK(timeout),
	    2 * SEC, 100, 60 * SEC, false, "between 100ms and 1m" } },
	{ "path", config_check_path, false, { 0 } },
	{ NULL, NULL, false, { 0 } }
};

static void
config_backend_health_check(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct backend	*be = obj;

	config_defaults(config_check_keys, &be->health_check);
	config_mapping(ctx, node, path, config_check_keys, &be->health_check);
}

static void
config_backend_host(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct backend	*be = obj;
	const char	*s;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return;
	if (*s == '\0' || strpbrk(s, " \t\r\n/@") != NULL) {
		config_error(ctx, node, path, "\"%s\" must be a host name, "
		    "with an optional :port", s);
		return;
	}
	be->host = config_strdup(s);
}

static void
config_backend_path(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct backend	*be = obj;

	config_path(ctx, node, path, &be->path);
}

/*
 * A sender writes one version: "auto" would leave the receiver to guess
 * which one it expects.
 */
static void
config_backend_proxy_protocol(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct backend	*be = obj;
	int		 v;

	if (node->type == YAML_SCALAR_NODE &&
	    strcmp((const char *)node->data.scalar.value,
	    config_proxy_names[CONFIG_PROXY_AUTO]) == 0) {
		config_error(ctx, node, path, "\"auto\" must be v1 or v2: a "
		    "sender picks one version");
		return;
	}
	/* The names before "auto": false, v1, v2. */
	if (config_enum_n(ctx, node, path, config_proxy_names,
	    CONFIG_PROXY_AUTO, &v) == 0)
		be->proxy_protocol = (enum config_proxy_protocol)v;
}

/* backends.NAME.tls: --------------------------------------------------- */

static void
config_backend_tls_verify(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_backend_tls	*t = obj;
	int				 v;

	if (config_enum(ctx, node, path, config_bool_names, &v) == 0)
		t->verify = v;
}

static void
config_backend_tls_ca(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_backend_tls	*t = obj;

	config_file_path(ctx, node, path, &t->ca);
}

/*
 * What SNI and the certificate check use: a DNS name, or an IP address
 * (IPv6 without brackets), without port.
 */
static bool
config_is_server_name(const char *s)
{
	struct in6_addr	a;

	if (*s == '\0')
		return false;
	if (inet_pton(AF_INET6, s, &a) == 1)
		return true;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("-._", *s) == NULL)
			return false;
	return true;
}

static void
config_backend_tls_server_name(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_backend_tls	*t = obj;
	const char			*s;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return;
	if (!config_is_server_name(s)) {
		config_error(ctx, node, path, "\"%s\" must be a host name or "
		    "an IP address, without port", s);
		return;
	}
	t->server_name = config_strdup(s);
}

static void
config_backend_tls_certificate(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_backend_tls	*t = obj;

	config_file_path(ctx, node, path, &t->certificate);
}

static void
config_backend_tls_key(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_backend_tls	*t = obj;

	config_file_path(ctx, node, path, &t->key);
}

static void
config_backend_tls_min_version(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_backend_tls	*t = obj;

	config_tls_version(ctx, node, path, &t->min_version);
}

static const struct config_key config_backend_tls_keys[] = {
	{ "verify", config_backend_tls_verify, false, { 0 } },
	{ "ca", config_backend_tls_ca, false, { 0 } },
	{ "server_name", config_backend_tls_server_name, false, { 0 } },
	{ "certificate", config_backend_tls_certificate, false, { 0 } },
	{ "key", config_backend_tls_key, false, { 0 } },
	{ "min_version", config_backend_tls_min_version, false, { 0 } },
	{ NULL, NULL, false, { 0 } }
};

static void
config_backend_tls_free(struct config_backend_tls *t)
{
	if (t == NULL)
		return;
	free(t->ca);
	free(t->server_name);
	free(t->certificate);
	free(t->key);
	free(t);
}

/*
 * A mapping, or true for every default (false: no TLS, as without the
 * key).  A client certificate and its key go together.
 */
static void
config_backend_tls(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct backend			*be = obj;
	struct config_backend_tls	*t;
	const char			*s;
	bool				 cert, key;

	if (node->type == YAML_SCALAR_NODE) {
		s = (const char *)node->data.scalar.value;
		if (strcmp(s, "false") == 0)
			return;
		if (strcmp(s, "true") != 0) {
			config_error(ctx, node, path, "\"%s\" must be true, "
			    "false or a mapping", s);
			return;
		}
	}
	be->tls = t = config_calloc(1, sizeof(*t));
	t->verify = true;
	t->min_version = TLS1_2_VERSION;
	if (node->type == YAML_SCALAR_NODE)
		return;
	config_mapping(ctx, node, path, config_backend_tls_keys, t);
	cert = config_pair(ctx, node, "certificate") != NULL;
	key = config_pair(ctx, node, "key") != NULL;
	if (cert && !key)
		config_error(ctx, node, path, "missing key \"key\": a client "
		    "certificate needs its key");
	else if (key && !cert)
		config_error(ctx, node, path, "missing key \"certificate\": a "
		    "key needs its client certificate");
}

/* The host of "host:port" or "[v6]:port"; NULL for "unix:/path". */
static char *
config_server_host(const char *address)
{
	const char	*colon = strrchr(address, ':');

	if (strncmp(address, "unix:", 5) == 0)
		return NULL;
	if (*address == '[')
		return config_strndup(address + 1,
		    (size_t)(colon - address) - 2);
	return config_strndup(address, (size_t)(colon - address));
}

/*
 * The name each server's certificate is checked for: server_name, else
 * the host of its address.  A unix: server has none: verifying it
 * needs server_name.
 */
static void
config_backend_tls_names(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, struct backend *be)
{
	struct backend_server	*srv;
	char			 sub[CONFIG_PATH_MAX];
	size_t			 i;

	for (i = 0; be->tls != NULL && i < be->nservers; i++) {
		srv = &be->servers[i];
		srv->tls_name = be->tls->server_name != NULL ?
		    config_strdup(be->tls->server_name) :
		    config_server_host(srv->address);
		if (srv->tls_name != NULL || !be->tls->verify)
			continue;
		snprintf(sub, sizeof(sub), "%s.tls", path);
		config_error(ctx, config_value(ctx, node, "tls"), sub,
		    "server_name is needed to verify %s", srv->address);
		break;
	}
}

#define BACKEND(f)	offsetof(struct backend, f)

static const struct config_key config_backend_keys[] = {
	{ "type", config_backend_type, true, { 0 } },
	{ "servers", config_backend_servers, true, { 0 } },
	{ "balance", config_backend_balance, false, { 0 } },
	{ "connect_timeout", NULL, false, { CONFIG_DURATION,
	    BACKEND(connect_timeout), 5 * SEC, 100, 300 * SEC, false,
	    "between 100ms and 5m" } },
	/* 0 here: the same as connect_timeout (config_backend_finish). */
	{ "handshake_timeout", NULL, false, { CONFIG_DURATION,
	    BACKEND(handshake_timeout), 0, 100, 300 * SEC, false,
	    "between 100ms and 5m" } },
	{ "retries", config_backend_retries, false, { 0 } },
	{ "fail_threshold", config_backend_fail_threshold, false, { 0 } },
	/* nginx's max_fails=1 fail_timeout=10s */
	{ "fail_timeout", NULL, false, { CONFIG_DURATION,
	    BACKEND(fail_timeout), 10 * SEC, 1 * SEC, 3600 * SEC, false,
	    "between 1s and 1h" } },
	{ "resolve_interval", NULL, false, { CONFIG_DURATION,
	    BACKEND(resolve_interval), 60 * SEC, 1 * SEC, 24 * 3600 * SEC,
	    true, "0 or between 1s and 24h" } },
	{ "health_check", config_backend_health_check, false, { 0 } },
	{ "host", config_backend_host, false, { 0 } },
	{ "path", config_backend_path, false, { 0 } },
	{ "proxy_protocol", config_backend_proxy_protocol, false, { 0 } },
	{ "tls", config_backend_tls, false, { 0 } },
	{ NULL, NULL, false, { 0 } }
};

/* Defaults that depend on other keys, and keys only one type takes. */
static void
config_backend_finish(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, struct backend *be)
{
	yaml_node_t	*pp;
	char		 sub[CONFIG_PATH_MAX];

	if (be->handshake_timeout == 0)
		be->handshake_timeout = be->connect_timeout;
	if (be->retries == UINT_MAX)
		be->retries = be->nservers > 0 ?
		    (unsigned)be->nservers - 1 : 0;
	if (be->health_check.interval != 0 && be->health_check.path == NULL)
		be->health_check.path = config_strdup("/");
	/* A websocket backend learns the client from X-Forwarded-For. */
	if (be->type != BACKEND_TCP && be->proxy_protocol != CONFIG_PROXY_OFF &&
	    (pp = config_value(ctx, node, "proxy_protocol")) != NULL) {
		snprintf(sub, sizeof(sub), "%s.proxy_protocol", path);
		config_error(ctx, pp, sub, "proxy_protocol is for tcp backends");
	}
	config_backend_tls_names(ctx, node, path, be);
	if (be->type == BACKEND_WEBSOCKET)
		return;
	if (be->host != NULL || be->path != NULL)
		config_error(ctx, node, path, "host and path apply to "
		    "websocket backends only");
}

static void
config_backend_pair(struct config_ctx *ctx, yaml_node_t *key,
    yaml_node_t *value, const char *name, const char *path, void *arg)
{
	struct config	*cfg = arg;
	struct backend	*be;

	if (strcmp(name, CONFIG_ECHO_BACKEND) == 0) {
		config_error(ctx, key, path, "\"echo\" is the built-in echo "
		    "backend and cannot be redefined");
		return;
	}
	be = &cfg->backends[cfg->nbackends++];
	memset(be, 0, sizeof(*be));
	be->name = config_strdup(name);
	be->type = BACKEND_TCP;
	be->retries = UINT_MAX;		/* default: every server once */
	be->fail_threshold = 1;
	config_defaults(config_backend_keys, be);
	config_mapping(ctx, value, path, config_backend_keys, be);
	config_backend_finish(ctx, value, path, be);
	be->fingerprint = config_fingerprint(ctx, value,
	    config_fingerprint(ctx, key, 0));
}

static void
config_backends(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    void *obj)
{
	struct config	*cfg = obj;
	size_t		 n = 0;

	if (node->type == YAML_MAPPING_NODE)
		n = (size_t)(node->data.mapping.pairs.top -
		    node->data.mapping.pairs.start);
	/* Slot 0 stays the built-in echo backend. */
	cfg->backends = realloc(cfg->backends,
	    (1 + n) * sizeof(*cfg->backends));
	if (cfg->backends == NULL) {
		perror("realloc");
		exit(1);
	}
	config_each_pair(ctx, node, path, "a mapping of names to backends",
	    config_backend_pair, cfg);
}

/* routes: ------------------------------------------------------------- */

/* A route as parsed, before its backend name is resolved. */
struct config_route_ref {
	uint64_t	 fingerprint;	/* of the route's own text */
	yaml_node_t	*backend_node;
	char		 path[CONFIG_PATH_MAX];
	yaml_node_t	*frames_node;	/* NULL: not set */
	yaml_node_t	*strip_node;	/* NULL: not set */
	char		 frames_path[CONFIG_PATH_MAX];
};

struct config_route_parse {
	struct route		*rt;
	struct config_route_ref	*ref;
};

static void
config_match_host(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_route_parse	*rp = obj;
	const char			*s;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return;
	if (*s == '\0' || strpbrk(s, " /:@") != NULL) {
		config_error(ctx, node, path, "\"%s\" must be a host name "
		    "without port", s);
		return;
	}
	rp->rt->host = config_strdup(s);
}

static void
config_match_path_common(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, struct config_route_parse *rp, bool exact)
{
	const char	*s;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return;
	if (*s != '/') {
		config_error(ctx, node, path, "\"%s\" must start with /", s);
		return;
	}
	if (rp->rt->path != NULL) {
		config_error(ctx, node, path,
		    "path and path_exact are mutually exclusive");
		return;
	}
	rp->rt->path = config_strdup(s);
	rp->rt->path_exact = exact;
}

static void
config_match_path(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	config_match_path_common(ctx, node, path, obj, false);
}

static void
config_match_path_exact(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	config_match_path_common(ctx, node, path, obj, true);
}

static void
config_match_subprotocol(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_route_parse	*rp = obj;
	const char			*s;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return;
	if (!config_is_token(s)) {
		config_error(ctx, node, path, "\"%s\" is not a valid "
		    "subprotocol token", s);
		return;
	}
	rp->rt->subprotocol = config_strdup(s);
}

static const struct config_key config_match_keys[] = {
	{ "host", config_match_host, false, { 0 } },
	{ "path", config_match_path, false, { 0 } },
	{ "path_exact", config_match_path_exact, false, { 0 } },
	{ "subprotocol", config_match_subprotocol, false, { 0 } },
	{ NULL, NULL, false, { 0 } }
};

static void
config_route_match(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	config_mapping(ctx, node, path, config_match_keys, obj);
}

static void
config_route_origins(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_route_parse	*rp = obj;

	/* "same": the Origin's host must be the request's Host. */
	if (node->type == YAML_SCALAR_NODE) {
		if (strcmp((const char *)node->data.scalar.value, "same") == 0)
			rp->rt->origin_same = true;
		else
			config_error(ctx, node, path, "must be \"same\" or a "
			    "list of origins such as [\"https://a.example\"]");
		return;
	}
	config_string_list(ctx, node, path, NULL, NULL, &rp->rt->origins,
	    &rp->rt->norigins);
}

static void
config_route_on_reload(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	static const char *const names[] = { "keep", "drain", NULL };
	struct config_route_parse	*rp = obj;
	int				 v;

	if (config_enum(ctx, node, path, names, &v) == 0)
		rp->rt->on_reload = v == 1 ? ROUTE_RELOAD_DRAIN :
		    ROUTE_RELOAD_KEEP;
}

static void
config_route_drain_timeout(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	static const struct config_quantity q = { CONFIG_DURATION, 0,
	    CONFIG_DRAIN_TIMEOUT, 0, 24 * 3600 * SEC, true,
	    "between 0 and 24h" };
	struct config_route_parse	*rp = obj;

	(void)config_quantity(ctx, node, path, &q, &rp->rt->drain_timeout);
}

static void
config_route_strip_prefix(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_route_parse	*rp = obj;
	int				 v;

	if (config_enum(ctx, node, path, config_bool_names, &v) == 0)
		rp->rt->strip_prefix = v;
	rp->ref->strip_node = node;
}

static void
config_route_subprotocols(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_route_parse	*rp = obj;

	config_string_list(ctx, node, path, config_is_token, "subprotocol "
	    "token", &rp->rt->subprotocols, &rp->rt->nsubprotocols);
}

static void
config_route_backend(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_route_parse	*rp = obj;

	if (config_scalar(ctx, node, path) == NULL)
		return;
	rp->ref->backend_node = node;
	snprintf(rp->ref->path, sizeof(rp->ref->path), "%s", path);
}

static void
config_route_frames(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_route_parse	*rp = obj;
	const char			*s;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return;
	if (strcmp(s, "binary") == 0)
		rp->rt->frames = ROUTE_FRAMES_BINARY;
	else if (strcmp(s, "text") == 0)
		rp->rt->frames = ROUTE_FRAMES_TEXT;
	else
		config_error(ctx, node, path, "\"%s\" must be binary or text",
		    s);
	rp->ref->frames_node = node;
	snprintf(rp->ref->frames_path, sizeof(rp->ref->frames_path), "%s",
	    path);
}

static void
config_route_limits(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_route_parse	*rp = obj;

	config_mapping(ctx, node, path, config_route_limit_keys,
	    &rp->rt->limits);
}

static const struct config_key config_route_keys[] = {
	{ "match", config_route_match, true, { 0 } },
	{ "origins", config_route_origins, false, { 0 } },
	{ "backend", config_route_backend, true, { 0 } },
	{ "subprotocols", config_route_subprotocols, false, { 0 } },
	{ "frames", config_route_frames, false, { 0 } },
	{ "strip_prefix", config_route_strip_prefix, false, { 0 } },
	{ "on_reload", config_route_on_reload, false, { 0 } },
	{ "drain_timeout", config_route_drain_timeout, false, { 0 } },
	{ "limits", config_route_limits, false, { 0 } },
	{ NULL, NULL, false, { 0 } }
};

/* Resolves each route's backend by name, now that all are known. */
static void
config_link_routes(struct config_ctx *ctx, struct config_route_ref *refs)
{
	struct config	*cfg = ctx->cfg;
	size_t		 i;

	for (i = 0; i < cfg->nroutes; i++) {
		struct route		*rt = &cfg->routes[i];
		struct config_route_ref	*ref = &refs[i];
		const char		*name;

		if (ref->backend_node == NULL)
			continue;
		name = (const char *)ref->backend_node->data.scalar.value;
		if ((rt->be = config_find_backend(cfg, name)) == NULL) {
			config_error(ctx, ref->backend_node, ref->path,
			    "unknown backend \"%s\"", name);
			continue;
		}
		/* The route's text and its backend's: either may change. */
		rt->fingerprint = ref->fingerprint ^ rt->be->fingerprint;
		if (ref->frames_node != NULL && rt->be->type != BACKEND_TCP)
			config_error(ctx, ref->frames_node, ref->frames_path,
			    "frames applies to tcp backends only");
	}
}

static void
config_routes(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    void *obj)
{
	struct config			*cfg = obj;
	struct config_route_ref		*refs;
	struct config_route_parse	 rp;
	char				 sub[CONFIG_PATH_MAX];
	size_t				 i, n;

	if ((n = config_sequence(ctx, node, path)) == 0)
		return;
	cfg->routes = config_calloc(n, sizeof(*cfg->routes));
	cfg->nroutes = n;
	refs = config_calloc(n, sizeof(*refs));
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		rp.rt = &cfg->routes[i];
		rp.ref = &refs[i];
		rp.rt->drain_timeout = CONFIG_DRAIN_TIMEOUT;
		/* CONFIG_LIMIT_UNSET in every field. */
		memset(&rp.rt->limits, 0xff, sizeof(rp.rt->limits));
		config_mapping(ctx, config_item(ctx, node, i), sub,
		    config_route_keys, &rp);
		refs[i].fingerprint = config_fingerprint(ctx,
		    config_item(ctx, node, i), 0);
		/* Keys come in any order: checked once the route is read. */
		if (rp.rt->strip_prefix && rp.rt->path == NULL) {
			strncat(sub, ".strip_prefix",
			    sizeof(sub) - strlen(sub) - 1);
			config_error(ctx, refs[i].strip_node, sub,
			    "strip_prefix needs match.path or "
			    "match.path_exact");
		}
	}
	/* Backends may come after routes in the file: linked at the end. */
	ctx->route_refs = refs;
}

/* workers: ------------------------------------------------------------ */

/*
 * "auto" (one per online CPU, resolved by main) or 1 to
 * CONFIG_MAX_WORKERS.  The bound is a sanity check, not a design limit:
 * a larger number is far more likely a typo than a machine whose event
 * loops would all stay busy.
 */
static void
config_workers(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    void *obj)
{
	struct config	*cfg = obj;
	const char	*s;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return;
	if (strcmp(s, "auto") == 0) {
		cfg->workers = CONFIG_WORKERS_AUTO;
		return;
	}
	if (config_parse_number(s, 1, CONFIG_MAX_WORKERS,
	    &cfg->workers) == -1)
		config_error(ctx, node, path, "\"%s\" must be auto or a "
		    "number from 1 to %d", s, CONFIG_MAX_WORKERS);
}

/* user:, group: ------------------------------------------------------- */

/*
 * The account to run as once the sockets are bound (when started as
 * root), looked up now so that "wsgate -t" reports a missing one with
 * its line.  "root" is allowed, and is how an operator says that
 * running as root is intended.
 */
static void
config_user(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    void *obj)
{
	struct config	*cfg = obj;
	struct passwd	*pw;
	const char	*s;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return;
	errno = 0;
	if ((pw = getpwnam(s)) == NULL) {
		config_error(ctx, node, path, "no such user \"%s\"%s%s", s,
		    errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
		return;
	}
	free(cfg->user);
	cfg->user = config_strdup(s);
	cfg->uid = pw->pw_uid;
	if (cfg->group == NULL)
		cfg->gid = pw->pw_gid;
}

static void
config_group(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    void *obj)
{
	struct config	*cfg = obj;
	struct group	*gr;
	const char	*s;

	if ((s = config_scalar(ctx, node, path)) == NULL)
		return;
	errno = 0;
	if ((gr = getgrnam(s)) == NULL) {
		config_error(ctx, node, path, "no such group \"%s\"%s%s", s,
		    errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
		return;
	}
	free(cfg->group);
	cfg->group = config_strdup(s);
	cfg->gid = gr->gr_gid;
	ctx->group_node = node;
}

/* group: only changes the group of user:. */
static void
config_check_group(struct config_ctx *ctx)
{
	if (ctx->group_node != NULL && ctx->cfg->user == NULL)
		config_error(ctx, ctx->group_node, "group", "needs user: the "
		    "group is switched to together with the user");
}

/* trusted_proxies: ---------------------------------------------------- */

/*
 * The peers allowed to send PROXY headers and whose X-Forwarded-For is
 * kept: addresses and CIDR blocks.  An empty list is fine unless a
 * listener reads PROXY headers (config_check_proxy_listeners).
 */
static void
config_trusted_proxies(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config	*cfg = obj;
	yaml_node_t	*item;
	char		 sub[CONFIG_PATH_MAX];
	const char	*s, *errstr;
	size_t		 i, n;

	ctx->trusted_node = node;
	if (node->type != YAML_SEQUENCE_NODE) {
		config_error(ctx, node, path, "must be a list, not %s",
		    config_type_name(node));
		return;
	}
	n = (size_t)(node->data.sequence.items.top -
	    node->data.sequence.items.start);
	if (n == 0)
		return;
	cfg->trusted_proxies = config_calloc(n, sizeof(*cfg->trusted_proxies));
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		item = config_item(ctx, node, i);
		if ((s = config_scalar(ctx, item, sub)) == NULL)
			continue;
		if (cidr_parse(s, &cfg->trusted_proxies[cfg->ntrusted_proxies],
		    &errstr) == -1) {
			config_error(ctx, item, sub, "\"%s\": %s", s, errstr);
			continue;
		}
		cfg->ntrusted_proxies++;
	}
}

/*
 * A PROXY header names the client: accepted from anyone, it would let
 * every client choose the address wsgate logs, limits and forwards.
 * The listener's error is at its proxy_protocol; none when
 * trusted_proxies has entries, even wrong ones (reported already).
 */
static void
config_check_proxy_listeners(struct config_ctx *ctx)
{
	struct config	*cfg = ctx->cfg;
	yaml_node_t	*tn = ctx->trusted_node, *item, *value;
	char		 sub[CONFIG_PATH_MAX];
	size_t		 i;

	if (tn != NULL && (tn->type != YAML_SEQUENCE_NODE ||
	    tn->data.sequence.items.top > tn->data.sequence.items.start))
		return;
	for (i = 0; i < cfg->nlistens; i++) {
		if (cfg->listens[i].proxy_protocol == CONFIG_PROXY_OFF)
			continue;
		item = config_item(ctx, ctx->listen_node, i);
		if ((value = config_value(ctx, item, "proxy_protocol")) == NULL)
			continue;
		snprintf(sub, sizeof(sub), "listen[%zu].proxy_protocol", i);
		config_error(ctx, value, sub, "proxy_protocol needs "
		    "trusted_proxies: the addresses of the load balancers "
		    "allowed to send it");
	}
}

/* admin: -------------------------------------------------------------- */

static void
config_admin_address(struct config_ctx *ctx, yaml_node_t *node,
    const char *path, void *obj)
{
	struct config_admin	*ad = obj;

	config_bind_address(ctx, node, path, &ad->address, &ad->ss,
	    &ad->sslen);
}

static const struct config_key config_admin_keys[] = {
	{ "address", config_admin_address, true, { 0 } },
	{ NULL, NULL, false, { 0 } }
};

static void
config_admin(struct config_ctx *ctx, yaml_node_t *node, const char *path,
    void *obj)
{
	struct config	*cfg = obj;

	cfg->admin = config_calloc(1, sizeof(*cfg->admin));
	config_mapping(ctx, node, path, config_admin_keys, cfg->admin);
}

/* top level: ---------------------------------------------------------- */

static const struct config_key config_top_keys[] = {
	{ "listen", config_listen, true, { 0 } },
	{ "trusted_proxies", config_trusted_proxies, false, { 0 } },
	{ "workers", config_workers, false, { 0 } },
	{ "user", config_user, false, { 0 } },
	{ "group", config_group, false, { 0 } },
	{ "log", config_log, false, { 0 } },
	{ "admin", config_admin, false, { 0 } },
	{ "limits", config_limits_key, false, { 0 } },
	{ "backends", config_backends, false, { 0 } },
	{ "routes", config_routes, true, { 0 } },
	{ NULL, NULL, false, { 0 } }
};

static struct config *
config_new(void)
{
	struct config			*cfg;
	struct backend			*echo;

	cfg = config_calloc(1, sizeof(*cfg));
	atomic_init(&cfg->refcnt, 1);
	cfg->workers = CONFIG_WORKERS_AUTO;
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->log_format = LOG_FORMAT_TEXT;
	cfg->log_access = true;
	config_defaults(config_limit_keys, &cfg->limits);
	cfg->backends = config_calloc(1, sizeof(*cfg->backends));
	echo = &cfg->backends[0];
	echo->name = config_strdup(CONFIG_ECHO_BACKEND);
	echo->type = BACKEND_ECHO;
	cfg->nbackends = 1;
	return cfg;
}

/*
 * The lock of every backend (backend.c).  Called once the backends
 * array is in its final place: config_backends() reallocs it, and a
 * mutex must not move once initialised.  Every backend gets one, even
 * in a config that is refused, so that config_free() destroys them all.
 */
static void
config_init_locks(struct config *cfg)
{
	size_t	i;
	int	rc;

	for (i = 0; i < cfg->nbackends; i++) {
		if ((rc = pthread_mutex_init(&cfg->backends[i].lock,
		    NULL)) != 0) {
			fprintf(stderr, "pthread_mutex_init: %s\n",
			    strerror(rc));
			exit(1);
		}
	}
}

static void
config_free(struct config *cfg)
{
	size_t	i, j;

	for (i = 0; i < cfg->nlistens; i++) {
		free(cfg->listens[i].address);
		config_tls_free(cfg->listens[i].tls);
		for (j = 0; j < cfg->listens[i].nallowed_hosts; j++)
			free(cfg->listens[i].allowed_hosts[j]);
		free(cfg->listens[i].allowed_hosts);
	}
	free(cfg->listens);
	free(cfg->trusted_proxies);
	if (cfg->admin != NULL)
		free(cfg->admin->address);
	free(cfg->admin);
	free(cfg->user);
	free(cfg->group);
	for (i = 0; i < cfg->nbackends; i++) {
		struct backend	*be = &cfg->backends[i];

		for (j = 0; j < be->nservers; j++) {
			free(be->servers[j].address);
			free(be->servers[j].host);
			free(be->servers[j].port);
			free(be->servers[j].tls_name);
		}
		free(be->servers);
		config_backend_tls_free(be->tls);
		tls_client_free(be->tls_client);
		free(be->name);
		free(be->host);
		free(be->path);
		free(be->health_check.path);
		pthread_mutex_destroy(&be->lock);
	}
	free(cfg->backends);
	for (i = 0; i < cfg->nroutes; i++) {
		struct route	*rt = &cfg->routes[i];

		free(rt->host);
		free(rt->path);
		free(rt->subprotocol);
		for (j = 0; j < rt->norigins; j++)
			free(rt->origins[j]);
		free(rt->origins);
		for (j = 0; j < rt->nsubprotocols; j++)
			free(rt->subprotocols[j]);
		free(rt->subprotocols);
	}
	free(cfg->routes);
	free(cfg->path);
	free(cfg);
}

bool
config_has_route(const struct config *cfg, uint64_t fingerprint)
{
	size_t	i;

	for (i = 0; i < cfg->nroutes; i++)
		if (cfg->routes[i].fingerprint == fingerprint)
			return true;
	return false;
}

/* Checks that need the whole file: references between sections. */
static void
config_check(struct config_ctx *ctx)
{
	if (ctx->route_refs != NULL)
		config_link_routes(ctx, ctx->route_refs);
	config_check_proxy_listeners(ctx);
	config_check_group(ctx);
	config_resolve_limits(ctx);
}

static void
config_syntax_error(struct config_ctx *ctx, const yaml_parser_t *parser)
{
	fprintf(ctx->errs, "%s:%zu:%zu: syntax error: %s%s%s\n", ctx->name,
	    parser->problem_mark.line + 1, parser->problem_mark.column + 1,
	    parser->problem ? parser->problem : "invalid YAML",
	    parser->context ? " " : "",
	    parser->context ? parser->context : "");
	ctx->nerrors++;
}

/* A second "---" document would be silently ignored: refuse it. */
static void
config_single_document(struct config_ctx *ctx, yaml_parser_t *parser)
{
	yaml_document_t	 doc;
	yaml_node_t	*root;

	if (!yaml_parser_load(parser, &doc)) {
		config_syntax_error(ctx, parser);
		return;
	}
	if ((root = yaml_document_get_root_node(&doc)) != NULL) {
		fprintf(ctx->errs, "%s:%zu:%zu: only one YAML document is "
		    "allowed\n", ctx->name, root->start_mark.line + 1,
		    root->start_mark.column + 1);
		ctx->nerrors++;
	}
	yaml_document_delete(&doc);
}

struct config *
config_parse(const char *name, const char *text, size_t len, char **errors)
{
	struct config_ctx	 ctx;
	yaml_parser_t		 parser;
	yaml_document_t		 doc;
	yaml_node_t		*root;

	memset(&ctx, 0, sizeof(ctx));
	ctx.name = name;
	ctx.doc = &doc;
	ctx.text = text;
	ctx.len = len;
	if ((ctx.errs = open_memstream(&ctx.errbuf, &ctx.errlen)) == NULL) {
		perror("open_memstream");
		exit(1);
	}
	ctx.cfg = config_new();
	ctx.cfg->path = config_strdup(name);

	if (!yaml_parser_initialize(&parser)) {
		fprintf(stderr, "yaml_parser_initialize failed\n");
		exit(1);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    len);
	if (!yaml_parser_load(&parser, &doc)) {
		config_syntax_error(&ctx, &parser);
	} else {
		if ((root = yaml_document_get_root_node(&doc)) == NULL) {
			fprintf(ctx.errs, "%s:1:1: the file is empty\n", name);
			ctx.nerrors++;
		} else {
			config_mapping(&ctx, root, "", config_top_keys,
			    ctx.cfg);
			config_check(&ctx);
		}
		yaml_document_delete(&doc);
		config_single_document(&ctx, &parser);
	}
	yaml_parser_delete(&parser);
	free(ctx.route_refs);
	fclose(ctx.errs);
	config_init_locks(ctx.cfg);

	if (ctx.nerrors > 0) {
		config_free(ctx.cfg);
		*errors = ctx.errbuf;
		return NULL;
	}
	free(ctx.errbuf);
	*errors = NULL;
	return ctx.cfg;
}

struct config *
config_load(const char *path, char **errors)
{
	FILE	*fp;
	char	*text = NULL, *msg;
	size_t	 len = 0, cap = 0, n;
	struct config *cfg;

	if ((fp = fopen(path, "r")) == NULL) {
		if (asprintf(&msg, "%s: %s\n", path, strerror(errno)) == -1)
			msg = NULL;
		*errors = msg;
		return NULL;
	}
	do {
		if (len == cap) {
			cap = cap == 0 ? 8192 : cap * 2;
			if ((text = realloc(text, cap)) == NULL) {
				perror("realloc");
				exit(1);
			}
		}
		n = fread(text + len, 1, cap - len, fp);
		len += n;
	} while (n > 0);
	fclose(fp);
	cfg = config_parse(path, text, len, errors);
	free(text);
	return cfg;
}

/*
 * Relaxed is enough to take a reference: the caller already holds one,
 * so cfg cannot be freed meanwhile, and nothing is published by it.
 */
struct config *
config_ref(struct config *cfg)
{
	atomic_fetch_add_explicit(&cfg->refcnt, 1, memory_order_relaxed);
	return cfg;
}

/*
 * acq_rel: every thread's last use of cfg (release) happens before the
 * free by whichever thread drops the last reference (acquire).
 */
void
config_unref(struct config *cfg)
{
	if (cfg != NULL && atomic_fetch_sub_explicit(&cfg->refcnt, 1,
	    memory_order_acq_rel) == 1)
		config_free(cfg);
}

struct backend *
config_find_backend(const struct config *cfg, const char *name)
{
	size_t	i;

	for (i = 0; i < cfg->nbackends; i++)
		if (strcmp(cfg->backends[i].name, name) == 0)
			return &cfg->backends[i];
	return NULL;
}
