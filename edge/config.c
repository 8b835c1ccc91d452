/* Reads the NMC_* settings into struct edge_config: each from the
 * environment when set there (not empty), else from the configuration file
 * (config_file.c) when one is given, else its default. Bad values stop the
 * start rather than being silently replaced by defaults, so a typo in
 * deployment is noticed immediately. */
#include "config.h"
#include "config_file.h"
#include "event_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_PORT 8080
#define DEFAULT_THREADS 16
/* A flood of connections from one address holds at most its share, and the
 * total stays far below the file descriptors the edge gets (stack.sh: 65,536). */
#define DEFAULT_MAX_CONNECTIONS 4096
#define DEFAULT_MAX_CONNECTIONS_PER_CLIENT 128
/* Twilio's webhooks and browsers send a whole head at once. */
#define DEFAULT_HEAD_DEADLINE_SECONDS 10
#define DEFAULT_BODY_DEADLINE_SECONDS 30
#define DEFAULT_SPOOL_MAX 100000   /* 1 MiB at 35 KB/s */
#define MAX_THREADS 256
#define DEFAULT_CONNINFO "dbname=nevermisscall user=nmc_edge"
#define DEFAULT_DASHBOARD "dashboard/out"

/* The file being read; only config_load touches it, once, before any thread. */
static const struct config_file *file_settings;

/* The environment overrides the file. */
static const char *setting(const char *name)
{
	const char *v = getenv(name);
	if (v != NULL && v[0] != '\0')
		return v;
	return file_settings != NULL ? config_file_get(file_settings, name) : NULL;
}

static const char *setting_or(const char *name, const char *fallback)
{
	const char *v = setting(name);
	return (v != NULL && v[0] != '\0') ? v : fallback;
}

static int parse_range(const char *name, const char *text, long min, long max,
		       long *out)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
		log_error("%s must be an integer in %ld..%ld (got \"%s\")",
			name, min, max, text);
		return -1;
	}
	*out = v;
	return 0;
}

/* The start line and error messages should show where files really come
 * from, independent of the working directory the edge was launched in. */
static char *absolute_dir(const char *dir)
{
	char *resolved = realpath(dir, NULL);
	if (resolved != NULL)
		return resolved;
	if (dir[0] == '/')
		return strdup(dir);
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof cwd) == NULL)
		return strdup(dir);
	size_t len = strlen(cwd) + 1 + strlen(dir) + 1;
	char *joined = malloc(len);
	if (joined != NULL)
		snprintf(joined, len, "%s/%s", cwd, dir);
	return joined;
}

/* Every comma-separated entry an IPv4 or IPv6 address (spaces around allowed). */
static bool addresses_valid(const char *list)
{
	for (const char *p = list; *p != '\0';) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char entry[64];
		unsigned char bin[16];
		while (len > 0 && *p == ' ') { p++; len--; }
		while (len > 0 && p[len - 1] == ' ') len--;
		if (len == 0 || len >= sizeof entry)
			return false;
		memcpy(entry, p, len);
		entry[len] = '\0';
		if (inet_pton(AF_INET, entry, bin) != 1 && inet_pton(AF_INET6, entry, bin) != 1)
			return false;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return true;
}

static int load_settings(struct edge_config *cfg)
{
	long v;
	memset(cfg, 0, sizeof *cfg);

	const char *port = setting("NMC_HTTP_PORT");
	if (port != NULL && port[0] != '\0') {
		if (parse_range("NMC_HTTP_PORT", port, 1, 65535, &v) != 0)
			return -1;
		cfg->http_port = (unsigned short)v;
	} else {
		cfg->http_port = DEFAULT_PORT;
	}

	/* Default next to the HTTP port so two stacks on one machine need only
	 * one port setting each. */
	const char *ws_port = setting("NMC_WS_PORT");
	if (ws_port != NULL && ws_port[0] != '\0') {
		if (parse_range("NMC_WS_PORT", ws_port, 1, 65535, &v) != 0)
			return -1;
		cfg->ws_port = (unsigned short)v;
	} else if (cfg->http_port < 65535) {
		cfg->ws_port = (unsigned short)(cfg->http_port + 1);
	} else {
		log_error("NMC_WS_PORT must be set when NMC_HTTP_PORT is 65535");
		return -1;
	}
	if (cfg->ws_port == cfg->http_port) {
		log_error("NMC_WS_PORT must differ from NMC_HTTP_PORT (%u)",
			(unsigned int)cfg->http_port);
		return -1;
	}

	const char *threads = setting("NMC_EDGE_THREADS");
	if (threads != NULL && threads[0] != '\0') {
		if (parse_range("NMC_EDGE_THREADS", threads, 1, MAX_THREADS, &v) != 0)
			return -1;
		cfg->threads = (unsigned int)v;
	} else {
		cfg->threads = DEFAULT_THREADS;
	}

	cfg->max_connections = DEFAULT_MAX_CONNECTIONS;
	const char *max_conn = setting("NMC_EDGE_MAX_CONNECTIONS");
	if (max_conn != NULL && max_conn[0] != '\0') {
		if (parse_range("NMC_EDGE_MAX_CONNECTIONS", max_conn, cfg->threads, 60000, &v) != 0)
			return -1;
		cfg->max_connections = (unsigned int)v;
	}
	cfg->head_deadline_seconds = DEFAULT_HEAD_DEADLINE_SECONDS;
	const char *head = setting("NMC_EDGE_HEAD_DEADLINE_SECONDS");
	if (head != NULL && head[0] != '\0') {
		if (parse_range("NMC_EDGE_HEAD_DEADLINE_SECONDS", head, 1, 600, &v) != 0)
			return -1;
		cfg->head_deadline_seconds = (unsigned int)v;
	}
	/* The last connections are kept for the addresses Twilio's webhooks came
	 * from lately (http_server.c): by default a sixteenth of them. */
	cfg->twilio_reserve = cfg->max_connections / 16;
	const char *reserve = setting("NMC_EDGE_TWILIO_RESERVE");
	if (reserve != NULL && reserve[0] != '\0') {
		if (parse_range("NMC_EDGE_TWILIO_RESERVE", reserve, 0, cfg->max_connections - 1, &v) != 0)
			return -1;
		cfg->twilio_reserve = (unsigned int)v;
	}
	cfg->body_deadline_seconds = DEFAULT_BODY_DEADLINE_SECONDS;
	const char *body = setting("NMC_EDGE_BODY_DEADLINE_SECONDS");
	if (body != NULL && body[0] != '\0') {
		if (parse_range("NMC_EDGE_BODY_DEADLINE_SECONDS", body, 1, 3600, &v) != 0)
			return -1;
		cfg->body_deadline_seconds = (unsigned int)v;
	}
	cfg->max_connections_per_client = DEFAULT_MAX_CONNECTIONS_PER_CLIENT;
	const char *per_client = setting("NMC_EDGE_MAX_CONNECTIONS_PER_CLIENT");
	if (per_client != NULL && per_client[0] != '\0') {
		if (parse_range("NMC_EDGE_MAX_CONNECTIONS_PER_CLIENT", per_client, 1, 60000, &v) != 0)
			return -1;
		cfg->max_connections_per_client = (unsigned int)v;
	}

	const char *group = setting_or("NMC_EDGE_GROUP_COMMIT", "on");
	if (strcmp(group, "on") != 0 && strcmp(group, "off") != 0) {
		log_error("NMC_EDGE_GROUP_COMMIT must be on or off, not \"%s\"", group);
		return -1;
	}
	cfg->group_commit = strcmp(group, "on") == 0;

	const char *listen = setting("NMC_LISTEN_ADDRESS");
	if (listen != NULL && listen[0] != '\0' && !addresses_valid(listen)) {
		log_error("NMC_LISTEN_ADDRESS must be one IPv4 or IPv6 address, not \"%s\"", listen);
		return -1;
	}
	if (listen != NULL && listen[0] != '\0' && strchr(listen, ',') != NULL) {
		log_error("NMC_LISTEN_ADDRESS must be one address, not a list (\"%s\")", listen);
		return -1;
	}
	const char *prepared = setting_or("NMC_EDGE_PREPARED_STATEMENTS", "on");
	if (strcmp(prepared, "on") != 0 && strcmp(prepared, "off") != 0) {
		log_error("NMC_EDGE_PREPARED_STATEMENTS must be on or off, not \"%s\"", prepared);
		return -1;
	}
	cfg->prepared_statements = strcmp(prepared, "on") == 0;
	cfg->listen_address = listen != NULL && listen[0] != '\0' ? strdup(listen) : NULL;
	cfg->db_conninfo = strdup(setting_or("NMC_EDGE_DB", DEFAULT_CONNINFO));
	cfg->listen_conninfo = strdup(setting_or("NMC_EDGE_LISTEN_DB", setting_or("NMC_EDGE_DB", DEFAULT_CONNINFO)));
	cfg->dashboard_dir = absolute_dir(setting_or("NMC_DASHBOARD_DIR", DEFAULT_DASHBOARD));
	const char *trusted = setting("NMC_TRUSTED_PROXIES");
	if (trusted != NULL && !addresses_valid(trusted)) {
		log_error("NMC_TRUSTED_PROXIES must be IP addresses separated by commas, not \"%s\"", trusted);
		config_free(cfg);
		return -1;
	}
	cfg->trusted_proxies = trusted != NULL && trusted[0] != '\0' ? strdup(trusted) : NULL;
	const char *spool_dir = setting("NMC_EDGE_SPOOL_DIR");
	cfg->spool_dir = spool_dir != NULL && spool_dir[0] != '\0' ? strdup(spool_dir) : NULL;
	cfg->spool_max = DEFAULT_SPOOL_MAX;
	const char *spool_max = setting("NMC_EDGE_SPOOL_MAX");
	if (spool_max != NULL && spool_max[0] != '\0') {
		if (parse_range("NMC_EDGE_SPOOL_MAX", spool_max, 1, 10000000, &v) != 0) {
			config_free(cfg);
			return -1;
		}
		cfg->spool_max = (unsigned int)v;
	}
	const char *metrics_token = setting("NMC_METRICS_TOKEN");
	cfg->metrics_token = metrics_token != NULL && metrics_token[0] != '\0' ? strdup(metrics_token) : NULL;
	if (cfg->db_conninfo == NULL || cfg->listen_conninfo == NULL || cfg->dashboard_dir == NULL ||
	    (listen != NULL && listen[0] != '\0' && cfg->listen_address == NULL) ||
	    (metrics_token != NULL && metrics_token[0] != '\0' && cfg->metrics_token == NULL) ||
	    (trusted != NULL && trusted[0] != '\0' && cfg->trusted_proxies == NULL) ||
	    (spool_dir != NULL && spool_dir[0] != '\0' && cfg->spool_dir == NULL)) {
		log_error("out of memory reading configuration");
		config_free(cfg);
		return -1;
	}
	return 0;
}

int config_load(struct edge_config *cfg, const char *path)
{
	struct config_file *file = NULL;
	if (path != NULL) {
		char why[512];
		file = config_file_read(path, why, sizeof why);
		if (file == NULL) {
			log_error("%s", why);
			memset(cfg, 0, sizeof *cfg);
			return -1;
		}
	}
	file_settings = file;
	int rc = load_settings(cfg);
	file_settings = NULL;
	config_file_free(file);
	return rc;
}

void config_free(struct edge_config *cfg)
{
	free(cfg->db_conninfo);
	free(cfg->listen_conninfo);
	free(cfg->dashboard_dir);
	free(cfg->metrics_token);
	free(cfg->trusted_proxies);
	free(cfg->spool_dir);
	free(cfg->listen_address);
	cfg->listen_address = NULL;
	cfg->spool_dir = NULL;
	cfg->db_conninfo = NULL;
	cfg->listen_conninfo = NULL;
	cfg->dashboard_dir = NULL;
	cfg->metrics_token = NULL;
	cfg->trusted_proxies = NULL;
}
