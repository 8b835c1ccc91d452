/*
 * http_client.c — the dispatcher's HTTP engine on a libcurl multi handle.
 * libcurl reports the sockets and the timeout it needs through callbacks;
 * this file records them for the dispatcher's WaitEventSet (a curl-only
 * poll would never see the latch). Callbacks never palloc or ereport: a
 * longjmp through libcurl is never safe, so they only touch malloc'd or
 * static memory.
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "http_client.h"

/* Response bodies beyond this are cut: no provider answer we use is larger. */
#define MAX_RESPONSE_BYTES (4 * 1024 * 1024)
/* Far more than the concurrency limit allows: each transfer uses one socket
 * (plus one while a reused connection is replaced). */
#define MAX_SOCKETS 1024

static CURLM *multi = NULL;
/* When libcurl wants its timeout handled (0: it asked for none). */
static TimestampTz curl_deadline = 0;
static int	running = 0;
static HttpSocket sockets[MAX_SOCKETS];
static int	nsockets = 0;
static bool sockets_changed = true;
static bool socket_overflow = false;
static HttpTransfer *finished_head = NULL;

static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	int			i;

	for (i = 0; i < nsockets; i++)
		if (sockets[i].fd == fd)
			break;
	if (what == CURL_POLL_REMOVE)
	{
		if (i < nsockets)
		{
			sockets[i] = sockets[nsockets - 1];
			nsockets--;
			sockets_changed = true;
		}
		return 0;
	}
	if (i == nsockets)
	{
		if (nsockets == MAX_SOCKETS)
		{
			socket_overflow = true;
			return -1;
		}
		nsockets++;
		sockets[i].fd = fd;
		sockets[i].what = 0;
	}
	if (sockets[i].what != what)
	{
		sockets[i].what = what;
		sockets_changed = true;
	}
	return 0;
}

static int
on_timer(CURLM *m, long timeout_ms, void *userp)
{
	/* libcurl's delay counts from now: kept as a moment, not as a delay to wait again each round. */
	curl_deadline = timeout_ms < 0 ? 0 : TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	return 0;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	HttpTransfer *t = userp;
	size_t		n = size * nmemb;

	if (t->response_len + n > MAX_RESPONSE_BYTES)
	{
		t->response_truncated = true;
		return n;
	}
	if (t->response_len + n + 1 > t->response_cap)
	{
		size_t		cap = Max(t->response_cap * 2, t->response_len + n + 1);
		char	   *grown = realloc(t->response, Max(cap, 4096));

		if (grown == NULL)
			return 0;			/* makes libcurl fail the transfer */
		t->response = grown;
		t->response_cap = Max(cap, 4096);
	}
	memcpy(t->response + t->response_len, data, n);
	t->response_len += n;
	t->response[t->response_len] = '\0';
	return n;
}

static size_t
on_header(char *line, size_t size, size_t nitems, void *userp)
{
	HttpTransfer *t = userp;
	size_t		n = size * nitems;
	static const char name[] = "retry-after:";

	if (n > sizeof(name) - 1 && pg_strncasecmp(line, name, sizeof(name) - 1) == 0)
	{
		size_t		start = sizeof(name) - 1;
		size_t		end = n;

		while (start < end && (line[start] == ' ' || line[start] == '\t'))
			start++;
		while (end > start && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' '))
			end--;
		end = Min(end, start + sizeof(t->retry_after) - 1);
		memcpy(t->retry_after, line + start, end - start);
		t->retry_after[end - start] = '\0';
	}
	return n;
}

void
http_client_init(int max_connections)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		ereport(ERROR, (errmsg("could not initialise libcurl")));
	multi = curl_multi_init();
	if (multi == NULL)
		ereport(ERROR, (errmsg("could not create a libcurl multi handle")));
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
	/* Keep a warm connection per concurrent request for reuse. */
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long) max_connections);
	/*
	 * And never hold more open than that, whatever is started: when a claim
	 * once leased a whole backlog (fixed in nmc.dispatcher_claim), libcurl
	 * opened ~900 sockets to one provider, then "Couldn't connect" at the
	 * process's file limit.
	 */
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) max_connections);
}

void
http_client_shutdown(void)
{
	if (multi != NULL)
		curl_multi_cleanup(multi);
	multi = NULL;
	curl_global_cleanup();
}

bool
http_client_start(HttpTransfer *t)
{
	CURL	   *easy = curl_easy_init();

	if (easy == NULL)
		return false;
	t->easy = easy;
	t->response = NULL;
	t->response_len = t->response_cap = 0;
	t->response_truncated = false;
	t->retry_after[0] = '\0';
	t->content_type[0] = '\0';
	t->errbuf[0] = '\0';
	t->http_status = 0;
	t->result = CURLE_OK;
	t->next = NULL;

	curl_easy_setopt(easy, CURLOPT_URL, t->url);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, t->connect_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, t->total_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "nevermisscall-dispatcher/1");
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	/*
	 * Providers do not redirect API calls, and a POST is never followed. A
	 * GET of a file (Twilio's recordings and MMS media) is redirected to
	 * storage on another host: followed, a few hops at most, and libcurl
	 * sends the credentials to the first host only (no UNRESTRICTED_AUTH).
	 */
	if (strcmp(t->method, "GET") == 0)
	{
		curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 3L);
		curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}
	else
		curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	if (t->headers != NULL)
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
	if (t->userpwd != NULL)
	{
		curl_easy_setopt(easy, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
		curl_easy_setopt(easy, CURLOPT_USERPWD, t->userpwd);
	}
	if (strcmp(t->method, "GET") == 0)
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	else
	{
		if (strcmp(t->method, "POST") != 0)
			curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, t->method);
		if (t->body_len > 0)
			curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) t->body_len);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t->body != NULL ? t->body : "");
	}

	INSTR_TIME_SET_CURRENT(t->started);
	if (curl_multi_add_handle(multi, easy) != CURLM_OK)
	{
		curl_easy_cleanup(easy);
		t->easy = NULL;
		return false;
	}
	running++;
	return true;
}

static void
collect_finished(void)
{
	CURLMsg    *msg;
	int			pending;

	while ((msg = curl_multi_info_read(multi, &pending)) != NULL)
	{
		HttpTransfer *t;
		instr_time	now;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);
		t->result = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &t->http_status);
		{
			char	   *ct = NULL;

			if (curl_easy_getinfo(msg->easy_handle, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
				strlcpy(t->content_type, ct, sizeof(t->content_type));
		}
		if (t->result != CURLE_OK && t->errbuf[0] == '\0')
			strlcpy(t->errbuf, curl_easy_strerror(t->result), sizeof(t->errbuf));
		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, t->started);
		t->duration_ms = INSTR_TIME_GET_MILLISEC(now);
		curl_multi_remove_handle(multi, msg->easy_handle);
		curl_easy_cleanup(msg->easy_handle);
		t->easy = NULL;
		running--;
		t->next = finished_head;
		finished_head = t;
	}
}

void
http_client_socket_ready(curl_socket_t fd, bool readable, bool writable)
{
	int			mask = (readable ? CURL_CSELECT_IN : 0) | (writable ? CURL_CSELECT_OUT : 0);
	int			still;

	curl_multi_socket_action(multi, fd, mask, &still);
	collect_finished();
}

void
http_client_timeout_expired(void)
{
	int			still;

	/* A due timeout is handled now; libcurl sets the next one, if any, meanwhile. */
	if (curl_deadline != 0 && curl_deadline <= GetCurrentTimestamp())
		curl_deadline = 0;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &still);
	collect_finished();
}

long
http_client_timeout_ms(void)
{
	long		ms;

	if (curl_deadline == 0)
		return -1;
	ms = (long) ((curl_deadline - GetCurrentTimestamp()) / 1000);
	return ms > 0 ? ms : 0;
}

int
http_client_running(void)
{
	return running;
}

bool
http_client_has_finished(void)
{
	return finished_head != NULL;
}

HttpTransfer *
http_client_take_finished(void)
{
	HttpTransfer *list = finished_head;

	finished_head = NULL;
	return list;
}

void
http_client_release(HttpTransfer *t)
{
	free(t->response);
	t->response = NULL;
	if (t->headers != NULL)
		curl_slist_free_all(t->headers);
	t->headers = NULL;
}

const HttpSocket *
http_client_sockets(int *count, bool *changed)
{
	if (socket_overflow)
		ereport(WARNING,
				(errmsg("nevermisscall dispatcher: libcurl wanted more than %d sockets", MAX_SOCKETS)));
	socket_overflow = false;
	*count = nsockets;
	*changed = sockets_changed;
	sockets_changed = false;
	return sockets;
}
