/* nmc-fake-providers entry point: read the environment, start the server,
 * announce readiness on stdout, and shut down cleanly on SIGTERM/SIGINT. */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>

#include "fake_config.h"
#include "fake_ids.h"
#include "fake_state.h"
#include "push_fake.h"
#include "push_state.h"
#include "router.h"
#include "twilio_numbers.h"

int main(void)
{
	struct MHD_Daemon *d;
	sigset_t stop;
	int sig;

	if (fake_config_load() != 0)
		return 2;
	/* Blocked before any thread exists, so every libmicrohttpd thread
	 * inherits the mask and only sigwait() below sees these signals. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	fake_ids_init();
	if (fake_state_init() != 0) {
		fprintf(stderr, "nmc-fake-providers: out of memory\n");
		return 1;
	}
	/* Set before listening so no request sees another origin; port 0 is
	 * only known once bound, and nobody can know it before the ready line. */
	push_fake_init(fake_cfg.port);
	d = router_start(fake_cfg.port);
	if (!d) {
		fprintf(stderr, "nmc-fake-providers: cannot listen on 127.0.0.1:%u\n",
			fake_cfg.port);
		fake_state_destroy();
		return 1;
	}
	if (fake_cfg.port == 0)
		push_fake_init(router_port(d));
	printf("nmc-fake-providers listening on 127.0.0.1:%u\n", router_port(d));
	fflush(stdout);

	while (sigwait(&stop, &sig) != 0)
		;
	/* Wake delayed answers first, or stopping would wait them out. */
	fake_state_shutdown();
	MHD_stop_daemon(d);
	fake_state_destroy();
	push_state_reset();
	twilio_numbers_reset();
	return 0;
}
