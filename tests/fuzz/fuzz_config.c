/*
 * fuzz_config — libFuzzer target for the wsgate.yaml loader:
 * config_parse() on the input, then config_unref() or the error text
 * freed, so ASan and LeakSanitizer check every path of the loader and of
 * libyaml's tree as config.c walks it.  A config comes back with errors
 * NULL, a failure with errors set and non-empty.
 *
 * Backend servers are resolved with getaddrinfo(), which for a host name
 * would ask DNS.  The build links this target with
 * -Wl,--wrap=getaddrinfo so that config.c's calls go through the wrapper
 * below, which adds AI_NUMERICHOST: numeric addresses resolve as in
 * wsgate, names fail at once (as an unknown name would) and the fuzzer
 * never touches the network.  getpwnam() and getgrnam() (user:, group:)
 * still go through NSS, which reads local files here.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netdb.h>

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	__real_getaddrinfo(const char *, const char *,
	    const struct addrinfo *, struct addrinfo **);
int	__wrap_getaddrinfo(const char *, const char *,
	    const struct addrinfo *, struct addrinfo **);

int
__wrap_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	struct addrinfo	 h = { 0 };

	if (hints != NULL)
		h = *hints;
	h.ai_flags |= AI_NUMERICHOST;
	return __real_getaddrinfo(node, service, &h, res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*cfg;
	char		*errors = NULL;

	cfg = config_parse("fuzz.yaml", (const char *)data, size, &errors);
	if (cfg != NULL) {
		assert(errors == NULL);
		config_unref(cfg);
	} else
		assert(errors != NULL && errors[0] != '\0');
	free(errors);
	return 0;
}
