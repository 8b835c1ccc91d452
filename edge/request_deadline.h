/* Deadlines for a request's head and then its body (request_deadline.c):
 * libmicrohttpd's own timeout restarts with every byte, so a client dripping
 * a header line, or a byte of body, every few seconds would hold its
 * connection for ever. */
#ifndef NMC_REQUEST_DEADLINE_H
#define NMC_REQUEST_DEADLINE_H

#include <microhttpd.h>

struct request_deadline;

/* Starts the watchdog: a connection whose first request head is not all in
 * within head_seconds of the connection's start (or a later request's head
 * within head_seconds of its request line), or whose body is not all in within
 * body_seconds of its head, is shut down. Between requests only
 * libmicrohttpd's idle timeout applies: closing an idle kept-alive connection
 * could race a request on its way. NULL if the thread cannot start. */
struct request_deadline *request_deadline_start(unsigned int head_seconds, unsigned int body_seconds);
/* Stops the watchdog; call after the daemon stopped (its connections closed). */
void request_deadline_stop(struct request_deadline *hd);

/* MHD_OPTION_NOTIFY_CONNECTION callback (cls: the request_deadline). */
void request_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			     enum MHD_ConnectionNotificationCode toe);
/* A later request's line arrived on a kept-alive connection: its head's
 * deadline starts now. */
void request_deadline_request_line(struct request_deadline *hd, struct MHD_Connection *conn);
/* The head is in: the body's deadline starts now. */
void request_deadline_head_done(struct request_deadline *hd, struct MHD_Connection *conn);
/* The whole request is in: no deadline until the next one. */
void request_deadline_body_done(struct MHD_Connection *conn);

#endif
