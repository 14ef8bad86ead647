/*
 * config — wsgate.yaml, loaded with libyaml into an immutable,
 * reference-counted struct config.
 *
 * The whole file is checked and every error is reported as
 * "file:line:col: yaml.path: message", so an operator fixes a file in one
 * round.  A config generation is never modified after loading, except for
 * the balancing cursor of each backend (see struct backend).
 */
#ifndef WSGATE_CONFIG_H
#define WSGATE_CONFIG_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define CONFIG_ECHO_BACKEND	"echo"

enum backend_type {
	BACKEND_ECHO,		/* built in: echoes every message */
	BACKEND_TCP		/* payload bytes to and from a TCP stream */
};

/* How bytes from a tcp backend are framed towards the client. */
enum route_frames {
	ROUTE_FRAMES_BINARY,
	ROUTE_FRAMES_TEXT	/* text messages, validated as UTF-8 */
};

struct config_listen {
	char			*address;	/* as written */
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
};

struct backend_server {
	char			*address;	/* "host:port" as written */
	struct sockaddr_storage	 ss;		/* resolved at load time */
	socklen_t		 sslen;
};

struct backend {
	char			*name;
	enum backend_type	 type;
	struct backend_server	*servers;
	size_t			 nservers;
	uint64_t		 connect_timeout;	/* ms */
	/*
	 * Round-robin cursor: the one mutable field of a generation, only
	 * touched from the event loop thread.
	 */
	size_t			 rr_next;
};

struct route {
	char			*host;		/* NULL: any host */
	char			*path;		/* NULL: any path */
	bool			 path_exact;
	char			*subprotocol;	/* NULL: no condition */
	char		       **origins;	/* NULL: any origin */
	size_t			 norigins;
	char		       **subprotocols;	/* selectable, in order */
	size_t			 nsubprotocols;
	struct backend		*be;
	enum route_frames	 frames;
};

/* All durations in milliseconds, all sizes in bytes; 0 means "off". */
struct config_limits {
	uint64_t	handshake_timeout;
	uint64_t	max_request_head;
	uint64_t	max_message;
	uint64_t	buffer_high_watermark;
	uint64_t	ping_interval;
	uint64_t	pong_timeout;
	uint64_t	idle_timeout;
	uint64_t	close_timeout;
};

struct config {
	unsigned		 refcnt;
	char			*path;
	struct config_listen	*listens;
	size_t			 nlistens;
	enum log_level		 log_level;
	struct config_limits	 limits;
	struct backend		*backends;	/* backends[0] is echo */
	size_t			 nbackends;
	struct route		*routes;
	size_t			 nroutes;
};

/*
 * Parses and validates a configuration held in memory; name is used in
 * error messages.  Returns a config with one reference, or NULL with
 * every error, one per line, in *errors (caller frees).
 */
struct config	*config_parse(const char *name, const char *text, size_t len,
		    char **errors);

/* Same, for a file. */
struct config	*config_load(const char *path, char **errors);

struct config	*config_ref(struct config *cfg);
void		 config_unref(struct config *cfg);

/* Looks up a backend by name; NULL when there is none. */
struct backend	*config_find_backend(const struct config *cfg,
		    const char *name);

#endif
