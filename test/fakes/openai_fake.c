/* POST /v1/chat/completions (openai.md §1-5; audio transcriptions in
 * openai_transcribe.c). Only the checks the product
 * can trip are made (key, JSON, model, messages); the answer is the next
 * scripted assistant message wrapped in a complete chat.completion. */
#include "openai_fake.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_config.h"
#include "fake_ids.h"
#include "fake_state.h"
#include "json_scan.h"

#define JSON "application/json"
#define DEFAULT_MESSAGE \
	"{\"role\":\"assistant\",\"content\":\"Thanks! Could you tell me your name and the service address?\",\"refusal\":null}"

static void add_common_headers(struct fake_reply *rp)
{
	char id[33];

	fake_hex(id, 32);
	reply_add_header(rp, "x-request-id", "req_%s", id);
	reply_add_header(rp, "openai-version", "2020-10-01");
	reply_add_header(rp, "openai-organization", "user-nmcfake");
}

static void rate_headers(struct fake_reply *rp, long remaining_requests, long used_tokens)
{
	reply_add_header(rp, "x-ratelimit-limit-requests", "10000");
	reply_add_header(rp, "x-ratelimit-limit-tokens", "10000000");
	reply_add_header(rp, "x-ratelimit-remaining-requests", "%ld", remaining_requests);
	reply_add_header(rp, "x-ratelimit-remaining-tokens", "%ld", 10000000 - used_tokens);
	reply_add_header(rp, "x-ratelimit-reset-requests", "6ms");
	reply_add_header(rp, "x-ratelimit-reset-tokens", "%s", used_tokens ? "1ms" : "0s");
}

/* param and code are JSON literals, already quoted or null. */
void openai_error(struct fake_reply *rp, unsigned status, const char *message,
			 const char *type, const char *param, const char *code)
{
	struct jbuf jb;

	jb_init(&jb);
	jb_puts(&jb, "{\"error\":{\"message\":");
	jb_str(&jb, message);
	jb_puts(&jb, ",\"type\":");
	jb_str(&jb, type);
	jb_printf(&jb, ",\"param\":%s,\"code\":%s}}", param, code);
	reply_take_body(rp, status, JSON, &jb);
}

/* The real API shows only the ends of a wrong key; so must the fake, or
 * test logs would leak whatever the product sent. */
static void wrong_key(struct fake_reply *rp, const char *key)
{
	char masked[16], msg[192];
	size_t n = strlen(key);

	if (n > 8)
		snprintf(masked, sizeof(masked), "%.4s****%s", key, key + n - 4);
	else
		snprintf(masked, sizeof(masked), "****");
	snprintf(msg, sizeof(msg),
		 "Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.",
		 masked);
	openai_error(rp, 401, msg, "invalid_request_error", "null", "\"invalid_api_key\"");
}

bool openai_check_key(const struct fake_request *rq, struct fake_reply *rp)
{
	const char *h = rq->authorization;

	if (!h || strncmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		openai_error(rp, 401,
			     "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
			     "invalid_request_error", "null", "null");
		return false;
	}
	if (strcmp(h + 7, fake_cfg.openai_api_key) != 0) {
		wrong_key(rp, h + 7);
		return false;
	}
	return true;
}

static const char *json_type_name(char c)
{
	switch (c) {
	case '{': return "an object";
	case '[': return "an array";
	case '"': return "a string";
	case 't': case 'f': return "a boolean";
	case 'n': return "null";
	default: return "a number";
	}
}

/* Validates the request; on success model/model_len is the raw model
 * string literal (quotes included) to echo back. */
static bool check_body(const struct fake_request *rq, struct fake_reply *rp,
		       const char **model, size_t *model_len)
{
	const char *end = rq->body + rq->body_len;
	const char *doc, *msgs;
	size_t msgs_len;
	struct json_iter it;
	const char *k, *v;
	size_t klen, vlen;
	char msg[160];

	if (!json_valid(rq->body, rq->body_len) ||
	    *(doc = json_skip_ws(rq->body, end)) != '{') {
		openai_error(rp, 400,
			     "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
			     "invalid_request_error", "null", "null");
		return false;
	}
	if (!json_member(doc, end, "model", model, model_len) || **model != '"') {
		openai_error(rp, 400, "you must provide a model parameter",
			     "invalid_request_error", "null", "null");
		return false;
	}
	if (!json_member(doc, end, "messages", &msgs, &msgs_len)) {
		openai_error(rp, 400, "Missing required parameter: 'messages'.",
			     "invalid_request_error", "\"messages\"",
			     "\"missing_required_parameter\"");
		return false;
	}
	if (*msgs != '[') {
		snprintf(msg, sizeof(msg),
			 "Invalid type for 'messages': expected an array of objects, but got %s instead.",
			 json_type_name(*msgs));
		openai_error(rp, 400, msg, "invalid_request_error", "\"messages\"",
			     "\"invalid_type\"");
		return false;
	}
	json_iter_begin(&it, msgs, msgs + msgs_len);
	if (!json_iter_next(&it, &k, &klen, &v, &vlen)) {
		openai_error(rp, 400,
			     "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
			     "invalid_request_error", "\"messages\"", "\"empty_array\"");
		return false;
	}
	return true;
}

/* Copies the scripted message, adding the keys a real response always has
 * (role, content, refusal, annotations) when the script left them out.
 * Sets *tool_calls when it carries a non-empty tool_calls array. */
static void append_message(struct jbuf *jb, const char *m, bool *tool_calls)
{
	const char *end = m + strlen(m);
	bool has_role = false, has_content = false, has_refusal = false,
	     has_annotations = false, first = true;
	struct json_iter it;
	const char *k, *v;
	size_t klen, vlen;

	*tool_calls = false;
	jb_puts(jb, "{");
	json_iter_begin(&it, json_skip_ws(m, end), end);
	while (json_iter_next(&it, &k, &klen, &v, &vlen)) {
#define KEY_IS(s) (klen == strlen(s) && memcmp(k, s, klen) == 0)
		if (KEY_IS("role"))
			has_role = true;
		else if (KEY_IS("content"))
			has_content = true;
		else if (KEY_IS("refusal"))
			has_refusal = true;
		else if (KEY_IS("annotations"))
			has_annotations = true;
		else if (KEY_IS("tool_calls"))
			*tool_calls = *v == '[' && *json_skip_ws(v + 1, v + vlen) != ']';
#undef KEY_IS
		if (!first)
			jb_puts(jb, ",");
		first = false;
		jb_puts(jb, "\"");
		jb_append(jb, k, klen);
		jb_puts(jb, "\":");
		jb_append(jb, v, vlen);
	}
	if (!has_role)
		jb_puts(jb, first ? "\"role\":\"assistant\"" : ",\"role\":\"assistant\"");
	if (!has_content)
		jb_puts(jb, ",\"content\":null");
	if (!has_refusal)
		jb_puts(jb, ",\"refusal\":null");
	if (!has_annotations)
		jb_puts(jb, ",\"annotations\":[]");
	jb_puts(jb, "}");
}

static void chat_completion(const struct fake_request *rq, struct fake_reply *rp)
{
	const char *model;
	size_t model_len;
	char *scripted;
	const char *message;
	char id[30];
	bool tool_calls;
	struct jbuf jb;
	long prompt_tokens, completion_tokens;

	if (!check_body(rq, rp, &model, &model_len))
		return;
	scripted = fake_openai_pop();
	message = scripted ? scripted : DEFAULT_MESSAGE;
	/* Roughly four bytes per token, like the tokenizer on English text. */
	prompt_tokens = (long)rq->body_len / 4 + 1;
	completion_tokens = (long)strlen(message) / 4 + 1;
	fake_alnum(id, 29);

	jb_init(&jb);
	jb_printf(&jb, "{\"id\":\"chatcmpl-%s\",\"object\":\"chat.completion\",\"created\":%lld,\"model\":",
		  id, (long long)time(NULL));
	jb_append(&jb, model, model_len);
	jb_puts(&jb, ",\"choices\":[{\"index\":0,\"message\":");
	append_message(&jb, message, &tool_calls);
	jb_printf(&jb, ",\"logprobs\":null,\"finish_reason\":\"%s\"}],"
		  "\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld,"
		  "\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"
		  "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
		  "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}},"
		  "\"service_tier\":\"default\",\"system_fingerprint\":\"fp_560af6e559\"}",
		  tool_calls ? "tool_calls" : "stop", prompt_tokens, completion_tokens,
		  prompt_tokens + completion_tokens);
	free(scripted);
	reply_take_body(rp, 200, JSON, &jb);
	reply_add_header(rp, "openai-processing-ms", "%ld", 180 + completion_tokens * 9);
	rate_headers(rp, 9999, prompt_tokens + completion_tokens);
}

void openai_handle(const struct fake_request *rq, struct fake_reply *rp)
{
	char msg[256];

	if (openai_check_key(rq, rp)) {
		if (strcmp(rq->path, "/v1/audio/transcriptions") == 0 && strcmp(rq->method, "POST") == 0) {
			openai_transcribe(rq, rp);
		} else if (strcmp(rq->path, "/v1/chat/completions") != 0) {
			snprintf(msg, sizeof(msg), "Invalid URL (%s %s)", rq->method, rq->path);
			openai_error(rp, 404, msg, "invalid_request_error", "null", "null");
		} else if (strcmp(rq->method, "POST") != 0) {
			snprintf(msg, sizeof(msg), "Invalid method for URL (%s %s)",
				 rq->method, rq->path);
			openai_error(rp, 405, msg, "invalid_request_error", "null", "null");
		} else {
			chat_completion(rq, rp);
		}
	}
	add_common_headers(rp);
}

void openai_fault_reply(const struct fake_request *rq, unsigned status,
			struct fake_reply *rp)
{
	(void)rq;
	if (status == 429) {
		/* Reference §4: rate-limit 429s carry type "requests"/"tokens"
		 * and code rate_limit_exceeded. */
		openai_error(rp, status,
			     "Rate limit reached for gpt-4o-mini in organization org-nmcfake on requests per min (RPM): Limit 10000, Used 10000, Requested 1. Please try again in 6ms. Visit https://platform.openai.com/account/rate-limits to learn more.",
			     "requests", "null", "\"rate_limit_exceeded\"");
		rate_headers(rp, 0, 0);
	} else if (status == 503) {
		openai_error(rp, status,
			     "The server is overloaded or not ready yet.",
			     "server_error", "null", "null");
	} else if (status >= 500) {
		openai_error(rp, status,
			     "The server had an error while processing your request. Sorry about that!",
			     "server_error", "null", "null");
	} else if (status == 401) {
		wrong_key(rp, "sk-injected-fault-key");
	} else if (status == 403) {
		openai_error(rp, status, "Country, region, or territory not supported",
			     "request_forbidden", "null", "\"unsupported_country_region_territory\"");
	} else if (status == 404) {
		openai_error(rp, status,
			     "The model `gpt-4o-mini` does not exist or you do not have access to it.",
			     "invalid_request_error", "null", "\"model_not_found\"");
	} else {
		char msg[64];

		snprintf(msg, sizeof(msg), "Injected fault (HTTP %u)", status);
		openai_error(rp, status, msg, "invalid_request_error", "null", "null");
	}
	add_common_headers(rp);
}
