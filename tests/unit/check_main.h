/*
 * check_main.h — every unit suite file defines check_suite(); the one
 * main() in check_main.c runs it and exits non-zero on any failure.
 */
#ifndef WSGATE_CHECK_MAIN_H
#define WSGATE_CHECK_MAIN_H

#include <stddef.h>

#include <check.h>

/* The suite of the file linked with check_main.c. */
Suite	*check_suite(void);

/*
 * Files a suite needs made at run time (certificates, keys): script is
 * run by sh with a fresh temporary directory as $1 and in it.  For an
 * unchecked fixture: make them once, remove them at the end.
 */
void		 check_files_make(const char *script);
/* The path of a made file; the last 8 returned stay valid. */
const char	*check_files_path(const char *name);
void		 check_files_remove(void);
/* fmt with every "%" replaced by the directory of the made files. */
void		 check_files_expand(const char *fmt, char *out, size_t size);

#endif
