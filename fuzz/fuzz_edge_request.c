/* fuzz_edge_request.c — the edge's handling of what a request carries,
 * before anything reaches the database: the raw URI (edge/request_state.c), the
 * UTF-8 checks (json_text.c), the header object for nmc_api.handle
 * (json_text.c), X-Forwarded-For behind a trusted proxy
 * (client_address.c) and the static-file path rule and content type
 * (static_files.c). Input: the raw URI, method, then
 * "Name: value" lines, an empty line, the body. Asserts the JSON object is
 * always UTF-8 text with no raw control characters, a forwarded client is
 * a canonical address, and an accepted static path has no ".." segment. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "static_files.h"
#include "client_address.h"
#include "json_text.h"
#include "request_state.h"

#define TRUSTED_PROXIES "10.0.0.1, ::1,\t192.168.1.254"

/* The next line of text[*pos..size) as a malloc'd C string (NULs kept out:
 * MHD hands the edge C strings), or NULL at the end. */
static char *next_line(const char *text, size_t size, size_t *pos)
{
	if (*pos > size)
		return NULL;
	const char *start = text + *pos;
	const char *nl = memchr(start, '\n', size - *pos);
	size_t len = nl ? (size_t)(nl - start) : size - *pos;
	*pos += len + 1;
	char *line = malloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (start[i] != '\0' && start[i] != '\r')
			line[n++] = start[i];
	line[n] = '\0';
	return line;
}

static void check_json_text(const struct string_buffer *sb)
{
	if (sb->len < 2 || sb->data[0] != '{' || sb->data[sb->len - 1] != '}' ||
	    !utf8_is_valid_text(sb->data, sb->len))
		abort();
	for (size_t i = 0; i < sb->len; i++)
		if ((unsigned char)sb->data[i] < 0x20)
			abort();
}

static void check_forwarded(const char *xff, const char *peer)
{
	char out[64];
	unsigned char bin[16];
	strcpy(out, peer);
	forwarded_client(xff, TRUSTED_PROXIES, out, sizeof out);
	if (strcmp(out, peer) != 0) {
		if (inet_pton(AF_INET, out, bin) != 1 && inet_pton(AF_INET6, out, bin) != 1)
			abort();
		if (forwarded_is_trusted(out, TRUSTED_PROXIES))
			abort();
	}
}

static void check_static_path(const char *path)
{
	(void)content_type_for_path(path);
	if (!static_path_is_acceptable(path))
		return;
	if (path[0] != '/' || strchr(path, '\\') != NULL || strstr(path, "/../") != NULL)
		abort();
	size_t len = strlen(path);
	if (len >= 3 && strcmp(path + len - 3, "/..") == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t pos = 0;
	char *uri = next_line(text, size, &pos);
	if (uri == NULL)
		return 0;
	char *method = next_line(text, size, &pos);

	(void)raw_uri_path_has_nul(uri);
	const char *query = raw_uri_query(uri);
	if (query != NULL && (query < uri || query > uri + strlen(uri) || query[-1] != '?'))
		abort();
	(void)utf8_is_valid_text(uri, strlen(uri));
	char *path = strdup(uri);
	char *q = strchr(path, '?');
	if (q != NULL)
		*q = '\0';
	check_static_path(path);

	struct json_object_builder headers;
	json_object_begin(&headers, true);
	char *line;
	while ((line = next_line(text, size, &pos)) != NULL && line[0] != '\0') {
		char *colon = strchr(line, ':');
		const char *value = colon ? colon + 1 : NULL;
		if (colon)
			*colon = '\0';
		json_object_add(&headers, line, value);
		if (value != NULL && strcasecmp(line, "X-Forwarded-For") == 0) {
			check_forwarded(value, "10.0.0.1");
			check_forwarded(value, "::1");
		}
		free(line);
	}
	free(line);
	struct string_buffer object;
	if (!json_object_finish(&headers, &object))
		abort();
	check_json_text(&object);
	string_buffer_free(&object);

	if (pos < size)
		(void)utf8_is_valid_text(text + pos, size - pos);
	if (method != NULL)
		(void)utf8_is_valid_text(method, strlen(method));

	free(path);
	free(method);
	free(uri);
	return 0;
}
