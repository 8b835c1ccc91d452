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

/* An integer setting in min..max, or its default when unset; false (logged) when malformed. */
static bool number(const char *name, long min, long max, long fallback, unsigned int *out)
{
	const char *text = setting(name);
	if (text == NULL || text[0] == '\0') {
		*out = (unsigned int)fallback;
		return true;
	}
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
		log_error("%s must be an integer in %ld..%ld (got \"%s\")", name, min, max, text);
		return false;
	}
	*out = (unsigned int)v;
	return true;
}

/* "on" (the default) or "off"; false (logged) for anything else. */
static bool on_off(const char *name, int *out)
{
	const char *v = setting_or(name, "on");
	if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
		log_error("%s must be on or off, not \"%s\"", name, v);
		return false;
	}
	*out = strcmp(v, "on") == 0;
	return true;
}

/* A copy of a text setting, NULL when unset; *oom when the copy failed. */
static char *text_copy(const char *name, bool *oom)
{
	const char *v = setting(name);
	if (v == NULL || v[0] == '\0')
		return NULL;
	char *copy = strdup(v);
	*oom = *oom || copy == NULL;
	return copy;
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
	unsigned int http_port, ws_port;
	memset(cfg, 0, sizeof *cfg);

	/* The feed's port defaults to the next one, so two stacks on one machine
	 * need only one port setting each. */
	if (!number("NMC_HTTP_PORT", 1, 65535, DEFAULT_PORT, &http_port) ||
	    !number("NMC_WS_PORT", 1, 65535, http_port < 65535 ? http_port + 1 : 0, &ws_port))
		return -1;
	if (ws_port == 0) {
		log_error("NMC_WS_PORT must be set when NMC_HTTP_PORT is 65535");
		return -1;
	}
	if (ws_port == http_port) {
		log_error("NMC_WS_PORT must differ from NMC_HTTP_PORT (%u)", http_port);
		return -1;
	}
	cfg->http_port = (unsigned short)http_port;
	cfg->ws_port = (unsigned short)ws_port;
	if (!number("NMC_EDGE_THREADS", 1, MAX_THREADS, DEFAULT_THREADS, &cfg->threads) ||
	    !number("NMC_EDGE_MAX_CONNECTIONS", cfg->threads, 60000, DEFAULT_MAX_CONNECTIONS, &cfg->max_connections) ||
	    !number("NMC_EDGE_HEAD_DEADLINE_SECONDS", 1, 600, DEFAULT_HEAD_DEADLINE_SECONDS, &cfg->head_deadline_seconds) ||
	    /* The last connections are kept for the addresses Twilio's webhooks came
	     * from lately (http_server.c): by default a sixteenth of them. */
	    !number("NMC_EDGE_TWILIO_RESERVE", 0, cfg->max_connections - 1, cfg->max_connections / 16, &cfg->twilio_reserve) ||
	    !number("NMC_EDGE_BODY_DEADLINE_SECONDS", 1, 3600, DEFAULT_BODY_DEADLINE_SECONDS, &cfg->body_deadline_seconds) ||
	    !number("NMC_EDGE_MAX_CONNECTIONS_PER_CLIENT", 1, 60000, DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
		    &cfg->max_connections_per_client) ||
	    !number("NMC_EDGE_SPOOL_MAX", 1, 10000000, DEFAULT_SPOOL_MAX, &cfg->spool_max) ||
	    !on_off("NMC_EDGE_PREPARED_STATEMENTS", &cfg->prepared_statements))
		return -1;

	const char *listen = setting("NMC_LISTEN_ADDRESS");
	if (listen != NULL && listen[0] != '\0' && !addresses_valid(listen)) {
		log_error("NMC_LISTEN_ADDRESS must be one IPv4 or IPv6 address, not \"%s\"", listen);
		return -1;
	}
	if (listen != NULL && strchr(listen, ',') != NULL) {
		log_error("NMC_LISTEN_ADDRESS must be one address, not a list (\"%s\")", listen);
		return -1;
	}
	const char *trusted = setting("NMC_TRUSTED_PROXIES");
	if (trusted != NULL && !addresses_valid(trusted)) {
		log_error("NMC_TRUSTED_PROXIES must be IP addresses separated by commas, not \"%s\"", trusted);
		return -1;
	}
	bool oom = false;
	cfg->listen_address = text_copy("NMC_LISTEN_ADDRESS", &oom);
	cfg->trusted_proxies = text_copy("NMC_TRUSTED_PROXIES", &oom);
	cfg->spool_dir = text_copy("NMC_EDGE_SPOOL_DIR", &oom);
	cfg->metrics_token = text_copy("NMC_METRICS_TOKEN", &oom);
	cfg->db_conninfo = strdup(setting_or("NMC_EDGE_DB", DEFAULT_CONNINFO));
	cfg->listen_conninfo = strdup(setting_or("NMC_EDGE_LISTEN_DB", setting_or("NMC_EDGE_DB", DEFAULT_CONNINFO)));
	cfg->dashboard_dir = absolute_dir(setting_or("NMC_DASHBOARD_DIR", DEFAULT_DASHBOARD));
	if (oom || cfg->db_conninfo == NULL || cfg->listen_conninfo == NULL || cfg->dashboard_dir == NULL) {
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
	char **owned[] = { &cfg->db_conninfo, &cfg->listen_conninfo, &cfg->dashboard_dir, &cfg->metrics_token,
			   &cfg->trusted_proxies, &cfg->spool_dir, &cfg->listen_address };
	for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
		free(*owned[i]);
		*owned[i] = NULL;
	}
}
