/* nmc-edge entry point: reads configuration, starts the database pool, the
 * HTTP server and the WebSocket feed, then waits for SIGTERM/SIGINT and shuts down in order
 * so in-flight requests finish and everything is released. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "db_pool.h"
#include "http_server.h"
#include "webhook_spool.h"
#include "ws_server.h"

int main(void)
{
	/* stdout is usually a log file; line buffering makes each access-log
	 * line visible as soon as it is written. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A client hanging up mid-response must not kill the process. */
	signal(SIGPIPE, SIG_IGN);

	/* Blocked before any thread exists so every MHD and libpq thread
	 * inherits the mask and only sigwait below ever sees the signals. */
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &stop_signals, NULL) != 0) {
		fprintf(stderr, "nmc-edge: cannot block signals\n");
		return EXIT_FAILURE;
	}

	struct edge_config cfg;
	if (config_load(&cfg) != 0)
		return 2;

	struct db_pool *pool = db_pool_create(cfg.db_conninfo, cfg.threads, cfg.prepared_statements);
	if (pool == NULL) {
		fprintf(stderr, "nmc-edge: out of memory creating the database pool\n");
		config_free(&cfg);
		return EXIT_FAILURE;
	}

	/* Before the HTTP server: a webhook is only ever answered from the
	 * spool once the spool is there. */
	if (cfg.spool_dir != NULL && !webhook_spool_start(cfg.spool_dir, cfg.spool_max, pool)) {
		db_pool_destroy(pool);
		config_free(&cfg);
		return EXIT_FAILURE;
	}
	if (cfg.spool_dir == NULL)
		fprintf(stderr, "nmc-edge: NMC_EDGE_SPOOL_DIR is not set: Twilio's webhooks are refused (503) while the database is down\n");

	struct http_server *srv = http_server_start(&cfg, pool);
	if (srv == NULL) {
		webhook_spool_stop();
		db_pool_destroy(pool);
		config_free(&cfg);
		return EXIT_FAILURE;
	}
	printf("nmc-edge listening on :%u (threads=%u, dashboard=%s)\n",
	       (unsigned int)cfg.http_port, cfg.threads, cfg.dashboard_dir);

	struct ws_server *feed = ws_server_start(&cfg);
	if (feed == NULL) {
		http_server_stop(srv);
		webhook_spool_stop();
		db_pool_destroy(pool);
		config_free(&cfg);
		return EXIT_FAILURE;
	}
	printf("nmc-edge websocket feed on :%u/ws\n", (unsigned int)cfg.ws_port);

	int sig = 0;
	while (sigwait(&stop_signals, &sig) != 0)
		;

	ws_server_stop(feed);
	http_server_stop(srv);
	webhook_spool_stop();
	db_pool_destroy(pool);
	config_free(&cfg);
	printf("nmc-edge stopped\n");
	return EXIT_SUCCESS;
}
