/*
 * http_client.h — the dispatcher's HTTP engine: many transfers at once on
 * one libcurl multi handle, driven by the dispatcher's wait loop.
 */
#ifndef NMC_HTTP_CLIENT_H
#define NMC_HTTP_CLIENT_H

#include "postgres.h"

#include <curl/curl.h>

#include "portability/instr_time.h"

typedef struct HttpTransfer
{
	/* Set by the caller (palloc'd in a context that outlives the transfer). */
	int64		job_id;
	int32		attempt;
	char	   *method;
	char	   *url;
	char	   *body;
	size_t		body_len;		/* > 0: body is binary, of this size */
	char	   *userpwd;		/* "user:password" for HTTP Basic, or NULL */
	struct curl_slist *headers;
	long		connect_timeout_ms;
	long		total_timeout_ms;

	/* Filled in by the engine. */
	CURL	   *easy;
	char	   *response;		/* malloc'd: libcurl writes it from a callback */
	size_t		response_len;
	size_t		response_cap;
	bool		response_truncated;
	char		retry_after[64];
	char		content_type[128];	/* the response's Content-Type, or "" */
	char		errbuf[CURL_ERROR_SIZE];
	long		http_status;
	CURLcode	result;
	instr_time	started;
	double		duration_ms;
	struct HttpTransfer *next;
} HttpTransfer;

/* One socket libcurl wants watched, and for what (CURL_POLL_IN/OUT/INOUT). */
typedef struct HttpSocket
{
	curl_socket_t fd;
	int			what;
} HttpSocket;

extern void http_client_init(int max_connections);
extern void http_client_shutdown(void);
extern bool http_client_start(HttpTransfer *t);
extern void http_client_socket_ready(curl_socket_t fd, bool readable, bool writable);
extern void http_client_timeout_expired(void);
extern long http_client_timeout_ms(void);
extern int	http_client_running(void);
extern bool http_client_has_finished(void);
extern HttpTransfer *http_client_take_finished(void);
extern void http_client_release(HttpTransfer *t);
extern const HttpSocket *http_client_sockets(int *count, bool *changed);

#endif
