/* webhook_spool.c — the spool of Twilio's webhooks kept while the database is
 * down (webhook_spool.h). One file per webhook, <arrival ms>-<seq>.req, each
 * written to a temporary name, fsync'd, renamed and the directory fsync'd
 * before the webhook is answered; the file format is a header line then
 * length-prefixed fields ("<n>\n<n bytes>\n", -1 for none). A replay thread
 * takes the files oldest first through nmc_api.handle and deletes each once
 * the database answered it (whatever the answer: a refusal, say a bad
 * signature, is the database's decision); one the database fails on
 * (an error, not an outage) moves to failed/ for a DBA. The fallback answers
 * live in the file "fallbacks", refreshed from the database every minute. */
#include "webhook_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "form_decode_core.h"
#include "monotonic_clock.h"
#include "string_buffer.h"
#include "event_log.h"

#define RECORD_MAGIC "nmc-spool 1"
#define FALLBACK_MAGIC "nmc-fallbacks 1"
#define FALLBACK_FILE "fallbacks"
#define FAILED_DIR "failed"
#define REPLAY_PAUSE_MS 250
#define FALLBACK_REFRESH_MS 60000
#define FIELD_MAX (16 * 1024 * 1024)

struct fallback {
	char *path;
	char *field;          /* NULL: always matches */
	char *values;         /* separated by '\x1f' */
	char *content_type;
	char *body;
};

static struct {
	bool on;
	char *dir;
	unsigned int max;
	struct db_pool *pool;
	pthread_mutex_t lock;         /* fallbacks, seq */
	struct fallback *fallbacks;
	size_t nfallbacks;
	unsigned long long seq;
	atomic_uint depth;
	atomic_ullong spooled, replayed, failed;
	pthread_mutex_t wake_lock;
	pthread_cond_t wake;
	bool stopping;                /* under wake_lock */
	pthread_t thread;
} spool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake_lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

/* ---- records ------------------------------------------------------------ */

static bool put_field(FILE *f, const char *s)
{
	if (s == NULL)
		return fputs("-1\n", f) >= 0;
	size_t n = strlen(s);
	return fprintf(f, "%zu\n", n) > 0 && fwrite(s, 1, n, f) == n && fputc('\n', f) != EOF;
}

static bool get_field(FILE *f, char **out)
{
	long long n;
	*out = NULL;
	if (fscanf(f, "%lld", &n) != 1 || fgetc(f) != '\n')
		return false;
	if (n < 0)
		return true;
	if (n > FIELD_MAX)
		return false;
	char *s = malloc((size_t)n + 1);
	if (s == NULL)
		return false;
	if (fread(s, 1, (size_t)n, f) != (size_t)n || fgetc(f) != '\n') {
		free(s);
		return false;
	}
	s[n] = '\0';
	*out = s;
	return true;
}

static bool get_magic(FILE *f, const char *magic)
{
	char line[64];
	return fgets(line, sizeof line, f) != NULL && strncmp(line, magic, strlen(magic)) == 0 &&
	       line[strlen(magic)] == '\n';
}

static void path_join(char *out, size_t size, const char *dir, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static bool fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return false;
	bool ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

/* Writes a file durably under its final name: temporary file, fsync, rename,
 * fsync of the directory. write_fn fills the stream. */
static bool write_durably(const char *final, bool (*write_fn)(FILE *, const void *), const void *arg)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", final);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return false;
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		unlink(tmp);
		return false;
	}
	bool ok = write_fn(f, arg) && fflush(f) == 0 && fsync(fd) == 0;
	ok = fclose(f) == 0 && ok;
	if (ok && rename(tmp, final) == 0 && fsync_dir(spool.dir))
		return true;
	unlink(tmp);
	return false;
}

/* ---- fallback answers ----------------------------------------------------- */

static void fallbacks_free(struct fallback *fb, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(fb[i].path);
		free(fb[i].field);
		free(fb[i].values);
		free(fb[i].content_type);
		free(fb[i].body);
	}
	free(fb);
}

static void fallbacks_replace(struct fallback *fb, size_t n)
{
	pthread_mutex_lock(&spool.lock);
	struct fallback *old = spool.fallbacks;
	size_t old_n = spool.nfallbacks;
	spool.fallbacks = fb;
	spool.nfallbacks = n;
	pthread_mutex_unlock(&spool.lock);
	fallbacks_free(old, old_n);
}

/* As the database sends them (webhook_fallbacks' columns, the match values
 * joined by '\x1f'), durably, to be read back by load_fallbacks_file. */
static bool write_fallbacks(FILE *f, const void *arg)
{
	const PGresult *res = arg;
	bool ok = fprintf(f, "%s\n%d\n", FALLBACK_MAGIC, PQntuples(res)) > 0;
	for (int r = 0; ok && r < PQntuples(res); r++)
		for (int c = 0; ok && c < 5; c++)
			ok = put_field(f, PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c));
	return ok;
}

/* The fallback answers kept in the spool directory, from the last time the
 * database was reached (this run or an earlier one). */
static void load_fallbacks_file(void)
{
	char path[4096];
	path_join(path, sizeof path, spool.dir, FALLBACK_FILE);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	size_t n = 0;
	struct fallback *fb = NULL;
	bool ok = get_magic(f, FALLBACK_MAGIC) && fscanf(f, "%zu", &n) == 1 && fgetc(f) == '\n' && n < 1000 &&
		  (fb = calloc(n + 1, sizeof *fb)) != NULL;
	for (size_t i = 0; ok && i < n; i++)
		ok = get_field(f, &fb[i].path) && get_field(f, &fb[i].field) && get_field(f, &fb[i].values) &&
		     get_field(f, &fb[i].content_type) && get_field(f, &fb[i].body) && fb[i].path != NULL &&
		     fb[i].content_type != NULL && fb[i].body != NULL;
	fclose(f);
	if (ok)
		fallbacks_replace(fb, n);
	else {
		log_error("spool: %s is unreadable; no fallback answers until the database is reached", path);
		fallbacks_free(fb, n);
	}
}

/* From the database, through the file. */
static void refresh_fallbacks(void)
{
	static const char sql[] =
		"SELECT path, match_field, array_to_string(match_values, chr(31)), content_type, body "
		"FROM nmc_api.webhook_fallbacks() ORDER BY path, seq";
	PGresult *res = NULL;
	char path[4096];
	path_join(path, sizeof path, spool.dir, FALLBACK_FILE);
	if (db_pool_exec(spool.pool, sql, 0, NULL, NULL, &res) == DB_OK && PQnfields(res) == 5) {
		if (write_durably(path, write_fallbacks, res))
			load_fallbacks_file();
		else
			log_error("spool: cannot write %s: %s", path, strerror(errno));
	}
	PQclear(res);
}

/* Whether the form body has field name with one of the values. */
static bool form_has(const char *body, const char *name, const char *values)
{
	size_t len = body != NULL ? strlen(body) : 0, pos = 0;
	struct form_field fld;
	while (form_next_field(body, len, &pos, &fld)) {
		char *n = malloc(fld.name_len + 1), *v = malloc(fld.value_len + 1);
		size_t nl = 0, vl = 0;
		bool hit = n != NULL && v != NULL &&
			   form_decode_part(fld.name, fld.name_len, n, &nl) == FORM_DECODE_OK &&
			   form_decode_part(fld.value, fld.value_len, v, &vl) == FORM_DECODE_OK &&
			   nl == strlen(name) && memcmp(n, name, nl) == 0;
		bool match = false;
		for (const char *want = values[0] != '\0' ? values : NULL; hit && want != NULL && !match;) {
			const char *end = strchr(want, '\x1f');
			size_t wl = end != NULL ? (size_t)(end - want) : strlen(want);
			match = vl == wl && memcmp(v, want, vl) == 0;
			want = end != NULL ? end + 1 : NULL;
		}
		free(n);
		free(v);
		if (hit)
			return match;
	}
	return false;
}

bool webhook_spool_answer(const char *path, const char *body, char **content_type, char **answer)
{
	*content_type = *answer = NULL;
	if (!spool.on || atomic_load(&spool.depth) >= spool.max)
		return false;
	pthread_mutex_lock(&spool.lock);
	for (size_t i = 0; i < spool.nfallbacks; i++) {
		const struct fallback *fb = &spool.fallbacks[i];
		if (strcmp(fb->path, path) != 0 || (fb->field != NULL && (fb->values == NULL || !form_has(body, fb->field, fb->values))))
			continue;
		*content_type = strdup(fb->content_type);
		*answer = strdup(fb->body);
		break;
	}
	pthread_mutex_unlock(&spool.lock);
	if (*content_type == NULL || *answer == NULL) {
		free(*content_type);
		free(*answer);
		*content_type = *answer = NULL;
		return false;
	}
	return true;
}

/* ---- spooling ------------------------------------------------------------- */

struct record { long long received_ms; const char *const *params; };

static bool write_record(FILE *f, const void *arg)
{
	const struct record *r = arg;
	char ms[32];
	snprintf(ms, sizeof ms, "%lld", r->received_ms);
	bool ok = fprintf(f, "%s\n", RECORD_MAGIC) > 0 && put_field(f, ms);
	for (int i = 0; ok && i < HANDLE_NREQUEST; i++)
		ok = put_field(f, r->params[i]);
	return ok;
}

static long long wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool webhook_spool_put(const char *const params[HANDLE_NPARAMS])
{
	if (!spool.on)
		return false;
	if (atomic_fetch_add(&spool.depth, 1) >= spool.max) {
		atomic_fetch_sub(&spool.depth, 1);
		return false;
	}
	struct record r = { wall_ms(), params };
	pthread_mutex_lock(&spool.lock);
	unsigned long long seq = ++spool.seq;
	pthread_mutex_unlock(&spool.lock);
	char name[96], path[4096];
	/* Names sort in arrival order; the pid tells apart two runs' sequences. */
	snprintf(name, sizeof name, "%013lld-%010ld-%08llu.req", r.received_ms, (long)getpid(), seq);
	path_join(path, sizeof path, spool.dir, name);
	if (!write_durably(path, write_record, &r)) {
		log_error("spool: cannot write %s: %s", path, strerror(errno));
		atomic_fetch_sub(&spool.depth, 1);
		return false;
	}
	atomic_fetch_add(&spool.spooled, 1);
	pthread_mutex_lock(&spool.wake_lock);
	pthread_cond_signal(&spool.wake);
	pthread_mutex_unlock(&spool.wake_lock);
	return true;
}

/* ---- replay ------------------------------------------------------------- */

static int is_record(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return n > 4 && strcmp(d->d_name + n - 4, ".req") == 0;
}

enum replay_result { REPLAYED, DATABASE_DOWN, POISON };

static enum replay_result replay_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return POISON;
	char *received = NULL, *params[HANDLE_NPARAMS] = { 0 };
	bool ok = get_magic(f, RECORD_MAGIC) && get_field(f, &received) && received != NULL;
	for (int i = 0; ok && i < HANDLE_NREQUEST; i++)
		ok = get_field(f, &params[i]);
	fclose(f);
	enum replay_result result = POISON;
	/* When the edge received it (epoch ms; digits only, as written above). */
	char edge[64];
	ok = ok && strspn(received, "0123456789") == strlen(received) && strlen(received) < 20 &&
	     params[HANDLE_HEADERS] != NULL;
	if (!ok)
		log_error("spool: %s is unreadable; moved to %s/", path, FAILED_DIR);
	if (ok) {
		snprintf(edge, sizeof edge, "{\"spooled_at\":%s}", received);
		params[HANDLE_EDGE] = edge;
		PGresult *res = NULL;
		enum db_outcome outcome = api_handle_call(spool.pool, (const char *const *)params, &res);
		if (outcome == DB_OK) {
			result = REPLAYED;
			if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "200") != 0)
				log_error("spool: %s %s (received at %s ms) was answered %s by the database: %s",
					params[HANDLE_METHOD], params[HANDLE_PATH], received,
					PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 3));
		} else if (outcome == DB_UNAVAILABLE) {
			result = DATABASE_DOWN;
		} else {
			log_error("spool: %s failed in the database: %s", path,
				res != NULL ? PQresultErrorMessage(res) : "?");
		}
		PQclear(res);
	}
	free(received);
	for (int i = 0; i < HANDLE_NREQUEST; i++)
		free(params[i]);
	return result;
}

/* Replays what waits, oldest first; false when the database is down. */
static bool replay_all(void)
{
	struct dirent **names = NULL;
	int n = scandir(spool.dir, &names, is_record, alphasort);
	bool up = true;
	for (int i = 0; i < n; i++) {
		char path[4096];
		path_join(path, sizeof path, spool.dir, names[i]->d_name);
		enum replay_result r = up ? replay_file(path) : DATABASE_DOWN;
		if (r == REPLAYED) {
			unlink(path);
			fsync_dir(spool.dir);
			atomic_fetch_sub(&spool.depth, 1);
			atomic_fetch_add(&spool.replayed, 1);
		} else if (r == POISON) {
			char failed[4096];
			snprintf(failed, sizeof failed, "%s/%s/%s", spool.dir, FAILED_DIR, names[i]->d_name);
			if (rename(path, failed) == 0) {
				fsync_dir(spool.dir);
				atomic_fetch_sub(&spool.depth, 1);
				atomic_fetch_add(&spool.failed, 1);
			}
		} else {
			up = false;
		}
		free(names[i]);
	}
	free(names);
	return up;
}

static void *replay_thread(void *arg)
{
	(void)arg;
	long long next_refresh = 0;
	for (;;) {
		pthread_mutex_lock(&spool.wake_lock);
		bool stopping = spool.stopping;
		pthread_mutex_unlock(&spool.wake_lock);
		if (stopping)
			break;
		bool up = true;
		if (atomic_load(&spool.depth) > 0)
			up = replay_all();
		if (up && monotonic_ms() >= next_refresh) {
			refresh_fallbacks();
			next_refresh = monotonic_ms() + FALLBACK_REFRESH_MS;
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += REPLAY_PAUSE_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&spool.wake_lock);
		/* Woken early by a new file only when the database may be back:
		 * the pause keeps a down database from being hammered. */
		if (!spool.stopping)
			pthread_cond_timedwait(&spool.wake, &spool.wake_lock, &until);
		pthread_mutex_unlock(&spool.wake_lock);
	}
	return NULL;
}

bool webhook_spool_start(const char *dir, unsigned int max, struct db_pool *pool)
{
	char failed[4096];
	snprintf(failed, sizeof failed, "%s/%s", dir, FAILED_DIR);
	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) || (mkdir(failed, 0700) != 0 && errno != EEXIST) ||
	    access(dir, R_OK | W_OK | X_OK) != 0) {
		log_error("the webhook spool %s is not usable: %s", dir, strerror(errno));
		return false;
	}
	spool.dir = strdup(dir);
	if (spool.dir == NULL)
		return false;
	spool.max = max;
	spool.pool = pool;
	struct dirent **names = NULL;
	int n = scandir(dir, &names, is_record, alphasort);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	atomic_store(&spool.depth, n > 0 ? (unsigned int)n : 0);
	load_fallbacks_file();
	spool.on = true;
	if (pthread_create(&spool.thread, NULL, replay_thread, NULL) != 0) {
		spool.on = false;
		free(spool.dir);
		spool.dir = NULL;
		return false;
	}
	if (n > 0)
		log_info("spool: %d webhooks from an earlier run wait in %s; replaying them", n, dir);
	return true;
}

void webhook_spool_stop(void)
{
	if (!spool.on)
		return;
	pthread_mutex_lock(&spool.wake_lock);
	spool.stopping = true;
	pthread_cond_signal(&spool.wake);
	pthread_mutex_unlock(&spool.wake_lock);
	pthread_join(spool.thread, NULL);
	spool.on = false;
	fallbacks_replace(NULL, 0);
	free(spool.dir);
	spool.dir = NULL;
}

uint64_t webhook_spool_depth(void) { return atomic_load(&spool.depth); }
uint64_t webhook_spool_spooled(void) { return atomic_load(&spool.spooled); }
uint64_t webhook_spool_replayed(void) { return atomic_load(&spool.replayed); }
uint64_t webhook_spool_failed(void) { return atomic_load(&spool.failed); }
