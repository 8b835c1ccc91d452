/* request_deadline.c — shuts down connections that take longer than their
 * deadlines to send a request head, or then its body (request_deadline.h).
 * Each connection is
 * tracked from libmicrohttpd's connection notifications; a watchdog thread
 * looks once a second and shuts down the socket of any connection past its
 * deadline, which libmicrohttpd then sees and closes. The list's lock is also
 * taken by the close notification, which libmicrohttpd sends before it closes
 * the socket: the watchdog never touches a socket that is gone. */
#include "request_deadline.h"

#include "monotonic_clock.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define WATCH_INTERVAL_MS 1000

struct tracked {
	int fd;
	long long due_ms;             /* 0: nothing being waited for */
	bool shut;
	struct tracked *prev, *next;
};

struct request_deadline {
	long long head_ms;
	long long body_ms;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	struct tracked *head;
	pthread_t thread;
};

static void *watch(void *arg)
{
	struct request_deadline *hd = arg;
	pthread_mutex_lock(&hd->lock);
	while (!hd->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += WATCH_INTERVAL_MS / 1000;
		pthread_cond_timedwait(&hd->wake, &hd->lock, &until);
		long long now = monotonic_ms();
		for (struct tracked *t = hd->head; t != NULL; t = t->next) {
			long long due = __atomic_load_n(&t->due_ms, __ATOMIC_RELAXED);
			if (!t->shut && due != 0 && now > due) {
				shutdown(t->fd, SHUT_RDWR);
				t->shut = true;
			}
		}
	}
	pthread_mutex_unlock(&hd->lock);
	return NULL;
}

struct request_deadline *request_deadline_start(unsigned int head_seconds, unsigned int body_seconds)
{
	struct request_deadline *hd = calloc(1, sizeof *hd);
	if (hd == NULL)
		return NULL;
	hd->head_ms = (long long)head_seconds * 1000;
	hd->body_ms = (long long)body_seconds * 1000;
	pthread_mutex_init(&hd->lock, NULL);
	pthread_cond_init(&hd->wake, NULL);
	if (pthread_create(&hd->thread, NULL, watch, hd) != 0) {
		pthread_cond_destroy(&hd->wake);
		pthread_mutex_destroy(&hd->lock);
		free(hd);
		return NULL;
	}
	return hd;
}

void request_deadline_stop(struct request_deadline *hd)
{
	if (hd == NULL)
		return;
	pthread_mutex_lock(&hd->lock);
	hd->stopping = true;
	pthread_cond_signal(&hd->wake);
	pthread_mutex_unlock(&hd->lock);
	pthread_join(hd->thread, NULL);
	while (hd->head != NULL) {    /* none left once the daemon has stopped */
		struct tracked *t = hd->head;
		hd->head = t->next;
		free(t);
	}
	pthread_cond_destroy(&hd->wake);
	pthread_mutex_destroy(&hd->lock);
	free(hd);
}

void request_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct request_deadline *hd = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct tracked *t = info != NULL ? calloc(1, sizeof *t) : NULL;
		*socket_context = t;
		if (t == NULL)
			return;    /* untracked: only libmicrohttpd's own timeout applies */
		t->fd = info->connect_fd;
		t->due_ms = monotonic_ms() + hd->head_ms;
		pthread_mutex_lock(&hd->lock);
		t->next = hd->head;
		if (hd->head != NULL)
			hd->head->prev = t;
		hd->head = t;
		pthread_mutex_unlock(&hd->lock);
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct tracked *t = *socket_context;
		*socket_context = NULL;
		if (t == NULL)
			return;
		pthread_mutex_lock(&hd->lock);
		if (t->prev != NULL)
			t->prev->next = t->next;
		else
			hd->head = t->next;
		if (t->next != NULL)
			t->next->prev = t->prev;
		pthread_mutex_unlock(&hd->lock);
		free(t);
	}
}

static void set_due(struct MHD_Connection *conn, long long due)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct tracked *t = info != NULL ? info->socket_context : NULL;
	if (t != NULL)
		__atomic_store_n(&t->due_ms, due, __ATOMIC_RELAXED);
}

void request_deadline_request_line(struct request_deadline *hd, struct MHD_Connection *conn)
{
	set_due(conn, monotonic_ms() + hd->head_ms);
}

void request_deadline_head_done(struct request_deadline *hd, struct MHD_Connection *conn)
{
	set_due(conn, monotonic_ms() + hd->body_ms);
}

void request_deadline_body_done(struct MHD_Connection *conn)
{
	set_due(conn, 0);
}
