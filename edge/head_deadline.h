/* A deadline for the request head (head_deadline.c): libmicrohttpd's own
 * timeout restarts with every byte, so a client dripping a header line every
 * few seconds would hold its connection for ever. */
#ifndef NMC_HEAD_DEADLINE_H
#define NMC_HEAD_DEADLINE_H

#include <microhttpd.h>

struct head_deadline;

/* Starts the watchdog: a connection whose first request head is not all in
 * within `seconds` of the connection's start, or a later request's headers
 * within `seconds` of its request line, is shut down (between requests only
 * libmicrohttpd's idle timeout applies: closing an idle kept-alive connection
 * could race a request on its way). NULL if the thread cannot start. */
struct head_deadline *head_deadline_start(unsigned int seconds);
/* Stops the watchdog; call after the daemon stopped (its connections closed). */
void head_deadline_stop(struct head_deadline *hd);

/* MHD_OPTION_NOTIFY_CONNECTION callback (cls: the head_deadline). */
void head_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe);
/* The request's head is complete: no deadline until it ends. */
void head_deadline_head_done(struct MHD_Connection *conn);
/* A later request's line arrived on a kept-alive connection: its headers'
 * deadline starts now. */
void head_deadline_request_line(struct MHD_Connection *conn);

#endif
