/*
 * privdrop — setgroups, setgid, setuid, in that order (the group calls
 * need root), each checked, and then a proof: getresuid/getresgid show
 * no trace of root and setuid(0) fails.
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"

/* Root is gone for real: every id is the new one, and it cannot return. */
static int
privdrop_verify(uid_t uid, gid_t gid)
{
	uid_t	ruid, euid, suid;
	gid_t	rgid, egid, sgid;

	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1) {
		log_warn("getresuid");
		return -1;
	}
	if (ruid != uid || euid != uid || suid != uid || rgid != gid ||
	    egid != gid || sgid != gid) {
		log_warnx("privileges: ids are uid %d/%d/%d gid %d/%d/%d after "
		    "dropping to uid %d gid %d", (int)ruid, (int)euid,
		    (int)suid, (int)rgid, (int)egid, (int)sgid, (int)uid,
		    (int)gid);
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1) {
		log_warnx("privileges: root could be regained after dropping "
		    "them");
		return -1;
	}
	return 0;
}

int
privdrop(const struct config *cfg)
{
	if (geteuid() != 0) {
		if (cfg->user != NULL && cfg->uid != geteuid())
			log_info("not started as root: user %s ignored, running "
			    "as uid %d", cfg->user, (int)geteuid());
		return 0;
	}
	if (cfg->user == NULL) {
		log_warnx("running as root: set \"user:\" in the configuration "
		    "to the account wsgate should become once its sockets are "
		    "bound (or \"user: root\" to stay root on purpose)");
		return -1;
	}
	if (cfg->uid == 0) {
		log_info("running as root, as \"user: %s\" asks", cfg->user);
		return 0;
	}
	if (setgroups(1, &cfg->gid) == -1 || setresgid(cfg->gid, cfg->gid,
	    cfg->gid) == -1 || setresuid(cfg->uid, cfg->uid, cfg->uid) ==
	    -1) {
		log_warn("privileges: cannot switch to user %s (uid %d gid %d)",
		    cfg->user, (int)cfg->uid, (int)cfg->gid);
		return -1;
	}
	if (privdrop_verify(cfg->uid, cfg->gid) == -1)
		return -1;
	log_info("running as user %s (uid %d, gid %d)", cfg->user,
	    (int)cfg->uid, (int)cfg->gid);
	return 0;
}
