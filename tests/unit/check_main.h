/*
 * check_main.h — every unit suite file defines check_suite(); the one
 * main() in check_main.c runs it and exits non-zero on any failure.
 */
#ifndef WSGATE_CHECK_MAIN_H
#define WSGATE_CHECK_MAIN_H

#include <check.h>

/* The suite of the file linked with check_main.c. */
Suite	*check_suite(void);

#endif
