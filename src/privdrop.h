/*
 * privdrop — giving up root once the privileged work is done.
 *
 * Started as root, wsgate binds its sockets (ports below 1024) and reads
 * its keys, then becomes the configuration's user: and group: for good,
 * before any connection is accepted.  It will not serve the internet as
 * root by accident: without user: it refuses to go on, and "user: root"
 * is the explicit way to say that root is intended.
 */
#ifndef WSGATE_PRIVDROP_H
#define WSGATE_PRIVDROP_H

#include "config.h"

/*
 * Switches to cfg's user and group when running as root (supplementary
 * groups set to the group alone), and checks that root cannot be
 * regained.  Not root: nothing to do (the user: of the file is
 * ignored, with a note in the log).  0, or -1 after logging why.
 * Call from the main thread before any other thread starts.
 */
int	privdrop(const struct config *cfg);

#endif
