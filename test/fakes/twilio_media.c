/* Twilio's files, as the product fetches them: a recording at
 * Recordings/{RE…} is WAV, or MP3 with .mp3 (.wav explicit too); an MMS's
 * media at Messages/{MM…}/Media/{ME…} answers 307 to a storage URL on
 * another host (loopback by its other name), served without credentials — the real API redirects to
 * storage the same way. The bytes are made from the SID, so a test can ask
 * the fake for them again and compare: a format's magic bytes, the SID, then
 * every byte value (NULs and invalid UTF-8 included) eight times over. */
#include "twilio_media.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_sid(const char *s, size_t len, const char *prefix)
{
	if (len != 34 || strncmp(s, prefix, 2) != 0)
		return false;
	for (size_t i = 2; i < len; i++)
		if (!isalnum((unsigned char)s[i]))
			return false;
	return true;
}

static void file_reply(struct fake_reply *rp, const char *content_type,
		       const char *magic, size_t magic_len, const char *sid)
{
	size_t len = magic_len + 34 + 256 * 8;
	char *b = malloc(len);

	if (!b) {
		reply_set_body(rp, 500, "text/plain", "out of memory", 13);
		return;
	}
	memcpy(b, magic, magic_len);
	memcpy(b + magic_len, sid, 34);
	for (size_t i = 0; i < 256 * 8; i++)
		b[magic_len + 34 + i] = (char)(i & 0xff);
	reply_set_body(rp, 200, content_type, b, len);
	free(b);
}

static void not_found(struct fake_reply *rp, const char *path)
{
	char body[512];
	int n = snprintf(body, sizeof(body),
			 "{\"code\": 20404, \"message\": \"The requested resource %.300s was not found\", "
			 "\"more_info\": \"https://www.twilio.com/docs/errors/20404\", \"status\": 404}", path);

	reply_set_body(rp, 404, "application/json", body, (size_t)n);
}

bool twilio_media_route(const struct fake_request *rq, const char *rest, struct fake_reply *rp)
{
	if (strncmp(rest, "Recordings/", 11) == 0) {
		const char *sid = rest + 11;
		const char *dot = strchr(sid, '.');
		size_t sid_len = dot ? (size_t)(dot - sid) : strlen(sid);

		if (!is_sid(sid, sid_len, "RE")) {
			not_found(rp, rq->path);
			return true;
		}
		if (strcmp(rq->method, "GET") != 0) {
			reply_set_body(rp, 405, "application/json", "{\"code\": 20004, \"message\": \"Method not allowed\", \"status\": 405}", 65);
			return true;
		}
		if (dot && strcmp(dot, ".mp3") == 0)
			file_reply(rp, "audio/mpeg", "ID3\x03\x00\x00\x00\x00\x00\x00", 10, sid);
		else if (!dot || strcmp(dot, ".wav") == 0)
			file_reply(rp, "audio/x-wav", "RIFF\x24\x08\x00\x00WAVE", 12, sid);
		else
			not_found(rp, rq->path);
		return true;
	}
	if (strncmp(rest, "Messages/", 9) == 0 && strlen(rest) == 9 + 34 + 7 + 34 &&
	    is_sid(rest + 9, 34, "MM") && strncmp(rest + 9 + 34, "/Media/", 7) == 0 &&
	    is_sid(rest + 9 + 34 + 7, 34, "ME")) {
		if (strcmp(rq->method, "GET") != 0) {
			reply_set_body(rp, 405, "application/json", "{\"code\": 20004, \"message\": \"Method not allowed\", \"status\": 405}", 65);
			return true;
		}
		{
			/* Storage is another host, as in real life: the other name of loopback. */
			const char *host = fake_header(rq, "Host");
			const char *port = host ? strrchr(host, ':') : NULL;
			bool by_name = host && strncmp(host, "localhost", 9) == 0;

			reply_set_body(rp, 307, "text/plain", "", 0);
			reply_add_header(rp, "Location", "http://%s%s/twilio-storage/%s", by_name ? "127.0.0.1" : "localhost",
					 port ? port : "", rest + 9 + 34 + 7);
		}
		return true;
	}
	return false;
}

void twilio_storage_handle(const struct fake_request *rq, struct fake_reply *rp)
{
	const char *sid = rq->path + strlen("/twilio-storage/");

	if (strcmp(rq->method, "GET") != 0 || !is_sid(sid, strlen(sid), "ME")) {
		not_found(rp, rq->path);
		return;
	}
	file_reply(rp, "image/jpeg", "\xff\xd8\xff\xe0\x00\x10JFIF\x00", 11, sid);
}
