/* Runtime configuration of the edge, read once from the environment at
 * start. Every setting has a default so the edge runs with no setup. */
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
	char *db_conninfo;         /* owned */
	char *dashboard_dir;       /* owned, absolute when it can be resolved */
	char *metrics_token;       /* owned; NULL: /metrics for direct loopback clients only */
	char *trusted_proxies;     /* owned; NMC_TRUSTED_PROXIES, NULL: trust no X-Forwarded-For */
	char *spool_dir;           /* owned; NMC_EDGE_SPOOL_DIR, NULL: no spool (503 while the database is down) */
	unsigned int spool_max;    /* webhooks the spool keeps at most */
	int group_commit;          /* 0: every request commits alone (NMC_EDGE_GROUP_COMMIT=off) */
	/* Behind a transaction pooler (docs/scaling.md): the feed's LISTEN needs a
	 * session of its own, and a statement prepared on one server connection
	 * may be executed on another. */
	char *listen_conninfo;     /* owned; NMC_EDGE_LISTEN_DB, default db_conninfo */
	int prepared_statements;   /* 0: NMC_EDGE_PREPARED_STATEMENTS=off */
};

/* Returns 0 on success; on a bad value prints why to stderr and returns -1. */
int config_load(struct edge_config *cfg);
void config_free(struct edge_config *cfg);

#endif
