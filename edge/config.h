/* Runtime configuration of the edge, read once at start from the
 * environment and an optional configuration file (the environment wins).
 * Every setting has a default so the edge runs with no setup. */
#ifndef NMC_CONFIG_H
#define NMC_CONFIG_H

struct edge_config {
	unsigned short http_port;
	unsigned short ws_port;    /* live feed; a second port, see ws_server.h */
	unsigned int threads;      /* MHD thread pool size == DB pool size */
	unsigned int max_connections;            /* HTTP connections open at once, in total */
	unsigned int max_connections_per_client; /* … from one client address */
	unsigned int twilio_reserve;             /* of max_connections, kept for recent webhook senders */
	unsigned int head_deadline_seconds;      /* for a request head, however it drips */
	unsigned int body_deadline_seconds;      /* … then for its body */
	char *listen_address;      /* owned; NMC_LISTEN_ADDRESS (IPv4 or IPv6), NULL: every address */
	char *db_conninfo;         /* owned */
	char *dashboard_dir;       /* owned, absolute when it can be resolved */
	char *metrics_token;       /* owned; NULL: /metrics for direct loopback clients only */
	char *trusted_proxies;     /* owned; NMC_TRUSTED_PROXIES, NULL: trust no X-Forwarded-For */
	char *spool_dir;           /* owned; NMC_EDGE_SPOOL_DIR, NULL: no spool (503 while the database is down) */
	unsigned int spool_max;    /* webhooks the spool keeps at most */
	/* Behind a transaction pooler (docs/scaling.md): the feed's LISTEN needs a
	 * session of its own, and a statement prepared on one server connection
	 * may be executed on another. */
	char *listen_conninfo;     /* owned; NMC_EDGE_LISTEN_DB, default db_conninfo */
	int prepared_statements;   /* 0: NMC_EDGE_PREPARED_STATEMENTS=off */
};

/* path: the configuration file, or NULL for none. Returns 0 on success; on
 * an unreadable file or a bad value logs why and returns -1. */
int config_load(struct edge_config *cfg, const char *path);
void config_free(struct edge_config *cfg);

#endif
