/*
 * check_main.c — the main() of every unit test binary.  Debug a suite
 * with CK_FORK=no; select with CK_RUN_SUITE / CK_RUN_CASE.
 */
#include <stdlib.h>

#include "check_main.h"

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	sr = srunner_create(check_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
