/* head_deadline.c — shuts down connections that take longer than the
 * deadline to send a request head (head_deadline.h). Each connection is
 * tracked from libmicrohttpd's connection notifications; a watchdog thread
 * looks once a second and shuts down the socket of any connection past its
 * deadline, which libmicrohttpd then sees and closes. The list's lock is also
 * taken by the close notification, which libmicrohttpd sends before it closes
 * the socket: the watchdog never touches a socket that is gone. */
#include "head_deadline.h"

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
	long long waiting_since_ms;   /* 0: no head being waited for */
	bool shut;
	struct tracked *prev, *next;
};

struct head_deadline {
	long long deadline_ms;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	struct tracked *head;
	pthread_t thread;
};

static void *watch(void *arg)
{
	struct head_deadline *hd = arg;
	pthread_mutex_lock(&hd->lock);
	while (!hd->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += WATCH_INTERVAL_MS / 1000;
		pthread_cond_timedwait(&hd->wake, &hd->lock, &until);
		long long now = monotonic_ms();
		for (struct tracked *t = hd->head; t != NULL; t = t->next) {
			long long since = __atomic_load_n(&t->waiting_since_ms, __ATOMIC_RELAXED);
			if (!t->shut && since != 0 && now - since > hd->deadline_ms) {
				shutdown(t->fd, SHUT_RDWR);
				t->shut = true;
			}
		}
	}
	pthread_mutex_unlock(&hd->lock);
	return NULL;
}

struct head_deadline *head_deadline_start(unsigned int seconds)
{
	struct head_deadline *hd = calloc(1, sizeof *hd);
	if (hd == NULL)
		return NULL;
	hd->deadline_ms = (long long)seconds * 1000;
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

void head_deadline_stop(struct head_deadline *hd)
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

void head_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct head_deadline *hd = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct tracked *t = info != NULL ? calloc(1, sizeof *t) : NULL;
		*socket_context = t;
		if (t == NULL)
			return;    /* untracked: only libmicrohttpd's own timeout applies */
		t->fd = info->connect_fd;
		t->waiting_since_ms = monotonic_ms();
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

static void set_waiting(struct MHD_Connection *conn, long long since)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct tracked *t = info != NULL ? info->socket_context : NULL;
	if (t != NULL)
		__atomic_store_n(&t->waiting_since_ms, since, __ATOMIC_RELAXED);
}

void head_deadline_head_done(struct MHD_Connection *conn)
{
	set_waiting(conn, 0);
}

void head_deadline_request_line(struct MHD_Connection *conn)
{
	set_waiting(conn, monotonic_ms());
}
