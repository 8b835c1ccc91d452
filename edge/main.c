/* nmc-edge entry point: reads configuration (nmc-edge [--config FILE], or
 * NMC_CONFIG_FILE), registers the modules' figures with /metrics, starts the
 * database pool, the HTTP server and the WebSocket feed, then waits for
 * SIGTERM/SIGINT and shuts down in order so in-flight requests finish and
 * everything is released. */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db_pool.h"
#include "event_log.h"
#include "http_server.h"
#include "metrics.h"
#include "webhook_spool.h"
#include "ws_server.h"
#include "ws_feed.h"

/* What GET /metrics shows besides requests and latencies (metrics.c). */
static void register_figures(void)
{
	metrics_add_figure("nmc_feed_clients", "gauge", "Live-feed WebSocket clients connected.",
			   ws_feed_clients_connected);
	metrics_add_figure("nmc_feed_clients_dropped_total", "counter",
			   "Live-feed clients closed for falling too far behind.", ws_feed_clients_dropped_slow);
	metrics_add_figure("nmc_webhook_spool_waiting", "gauge",
			   "Twilio webhooks the edge kept on disk while the database was down, not yet replayed.",
			   webhook_spool_depth);
	metrics_add_figure("nmc_webhook_spooled_total", "counter",
			   "Webhooks kept in the spool (answered by the edge while the database was down).",
			   webhook_spool_spooled);
	metrics_add_figure("nmc_webhook_spool_replayed_total", "counter",
			   "Spooled webhooks the database has taken since.", webhook_spool_replayed);
	metrics_add_figure("nmc_webhook_spool_failed_total", "counter",
			   "Spooled webhooks the database failed on (moved to the spool's failed/ for a DBA).",
			   webhook_spool_failed);
}

/* The configuration file named on the command line, else by NMC_CONFIG_FILE,
 * else none. Sets *path and returns true, or false on a bad command line. */
static bool config_path(int argc, char **argv, const char **path)
{
	const char *env = getenv("NMC_CONFIG_FILE");
	*path = env != NULL && env[0] != '\0' ? env : NULL;
	if (argc == 1)
		return true;
	if (argc == 3 && strcmp(argv[1], "--config") == 0 && argv[2][0] != '\0') {
		*path = argv[2];
		return true;
	}
	return false;
}

int main(int argc, char **argv)
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
		log_error("cannot block signals");
		return EXIT_FAILURE;
	}

	const char *path;
	if (!config_path(argc, argv, &path)) {
		fprintf(stderr, "usage: nmc-edge [--config FILE]\n");
		return 2;
	}
	struct edge_config cfg;
	if (config_load(&cfg, path) != 0)
		return 2;

	register_figures();
	struct db_pool *pool = db_pool_create(cfg.db_conninfo, cfg.threads, cfg.prepared_statements);
	if (pool == NULL) {
		log_error("out of memory creating the database pool");
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
		log_error("NMC_EDGE_SPOOL_DIR is not set: Twilio's webhooks are refused (503) while the database is down");

	struct http_server *srv = http_server_start(&cfg, pool);
	if (srv == NULL) {
		webhook_spool_stop();
		db_pool_destroy(pool);
		config_free(&cfg);
		return EXIT_FAILURE;
	}
	const char *where = cfg.listen_address != NULL ? cfg.listen_address : "every address";
	log_info("nmc-edge listening on %s port %u (threads=%u, dashboard=%s%s%s)", where,
		 (unsigned int)cfg.http_port, cfg.threads, cfg.dashboard_dir,
		 path != NULL ? ", configuration file=" : "", path != NULL ? path : "");

	struct ws_server *feed = ws_server_start(&cfg);
	if (feed == NULL) {
		http_server_stop(srv);
		webhook_spool_stop();
		db_pool_destroy(pool);
		config_free(&cfg);
		return EXIT_FAILURE;
	}
	log_info("nmc-edge websocket feed on %s port %u, path /ws", where, (unsigned int)cfg.ws_port);

	int sig = 0;
	while (sigwait(&stop_signals, &sig) != 0)
		;

	ws_server_stop(feed);
	http_server_stop(srv);
	webhook_spool_stop();
	db_pool_destroy(pool);
	config_free(&cfg);
	log_info("nmc-edge stopped");
	return EXIT_SUCCESS;
}
