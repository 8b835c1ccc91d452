/* GET /maps/api/geocode/json (google-maps.md §1). A scripted entry gives
 * only the formatted address and point; the address components are derived
 * from the formatted address so the product's component parsing is tested
 * against the real result shape. */
#include "maps_fake.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_config.h"
#include "fake_ids.h"
#include "fake_state.h"

#define JSON "application/json; charset=UTF-8"
/* Google's viewports for a rooftop result extend ~150 m each way. */
#define VIEWPORT_DELTA 0.0013489802915

static void status_reply(struct fake_reply *rp, unsigned http, const char *status,
			 const char *error_message)
{
	struct jbuf jb;

	jb_init(&jb);
	jb_puts(&jb, "{");
	if (error_message) {
		jb_puts(&jb, "\"error_message\":");
		jb_str(&jb, error_message);
		jb_puts(&jb, ",");
	}
	jb_printf(&jb, "\"results\":[],\"status\":\"%s\"}", status);
	reply_take_body(rp, http, JSON, &jb);
}

static const char *const states[][2] = {
	{ "AL", "Alabama" }, { "AK", "Alaska" }, { "AZ", "Arizona" }, { "AR", "Arkansas" },
	{ "CA", "California" }, { "CO", "Colorado" }, { "CT", "Connecticut" },
	{ "DE", "Delaware" }, { "DC", "District of Columbia" }, { "FL", "Florida" },
	{ "GA", "Georgia" }, { "HI", "Hawaii" }, { "ID", "Idaho" }, { "IL", "Illinois" },
	{ "IN", "Indiana" }, { "IA", "Iowa" }, { "KS", "Kansas" }, { "KY", "Kentucky" },
	{ "LA", "Louisiana" }, { "ME", "Maine" }, { "MD", "Maryland" },
	{ "MA", "Massachusetts" }, { "MI", "Michigan" }, { "MN", "Minnesota" },
	{ "MS", "Mississippi" }, { "MO", "Missouri" }, { "MT", "Montana" },
	{ "NE", "Nebraska" }, { "NV", "Nevada" }, { "NH", "New Hampshire" },
	{ "NJ", "New Jersey" }, { "NM", "New Mexico" }, { "NY", "New York" },
	{ "NC", "North Carolina" }, { "ND", "North Dakota" }, { "OH", "Ohio" },
	{ "OK", "Oklahoma" }, { "OR", "Oregon" }, { "PA", "Pennsylvania" },
	{ "RI", "Rhode Island" }, { "SC", "South Carolina" }, { "SD", "South Dakota" },
	{ "TN", "Tennessee" }, { "TX", "Texas" }, { "UT", "Utah" }, { "VT", "Vermont" },
	{ "VA", "Virginia" }, { "WA", "Washington" }, { "WV", "West Virginia" },
	{ "WI", "Wisconsin" }, { "WY", "Wyoming" },
};

static const char *const street_types[][2] = {
	{ "St", "Street" }, { "Ave", "Avenue" }, { "Rd", "Road" }, { "Dr", "Drive" },
	{ "Blvd", "Boulevard" }, { "Ln", "Lane" }, { "Ct", "Court" }, { "Pkwy", "Parkway" },
	{ "Pl", "Place" }, { "Hwy", "Highway" }, { "Cir", "Circle" }, { "Ter", "Terrace" },
	{ "Trl", "Trail" }, { "Sq", "Square" },
};

/* Up to 8 comma-separated parts, trimmed; stored as slices of s. */
struct parts {
	const char *p[8];
	size_t len[8];
	size_t n;
};

static void split(const char *s, struct parts *out)
{
	out->n = 0;
	while (*s && out->n < 8) {
		const char *comma = strchr(s, ',');
		const char *e = comma ? comma : s + strlen(s);
		const char *b = s;

		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (e > b) {
			out->p[out->n] = b;
			out->len[out->n] = (size_t)(e - b);
			out->n++;
		}
		if (!comma)
			break;
		s = comma + 1;
	}
}

static bool slice_is(const char *p, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(p, word, len) == 0;
}

static void component(struct jbuf *jb, bool *first, const char *lng, size_t lng_len,
		      const char *shrt, size_t shrt_len, const char *types)
{
	jb_puts(jb, *first ? "{\"long_name\":" : ",{\"long_name\":");
	*first = false;
	jb_strn(jb, lng, lng_len);
	jb_puts(jb, ",\"short_name\":");
	jb_strn(jb, shrt, shrt_len);
	jb_printf(jb, ",\"types\":%s}", types);
}

/* "12 Elm St": street_number 12, route long "Elm Street" / short "Elm St". */
static void street_components(struct jbuf *jb, bool *first, const char *p, size_t len,
			      bool *has_number, bool *has_route)
{
	size_t i = 0;
	char lng[256], shrt[256];

	while (i < len && (isdigit((unsigned char)p[i]) || p[i] == '-'))
		i++;
	if (i > 0 && i < len && p[i] == ' ') {
		component(jb, first, p, i, p, i, "[\"street_number\"]");
		*has_number = true;
		p += i + 1;
		len -= i + 1;
	}
	if (len == 0 || len >= sizeof(lng) - 16)
		return;
	memcpy(lng, p, len);
	lng[len] = '\0';
	memcpy(shrt, p, len);
	shrt[len] = '\0';
	const char *sp = strrchr(lng, ' ');

	if (sp) {
		size_t base = (size_t)(sp - lng) + 1;

		for (size_t k = 0; k < sizeof(street_types) / sizeof(street_types[0]); k++) {
			if (strcasecmp(lng + base, street_types[k][0]) == 0 ||
			    strcasecmp(lng + base, street_types[k][1]) == 0) {
				snprintf(lng + base, sizeof(lng) - base, "%s", street_types[k][1]);
				snprintf(shrt + base, sizeof(shrt) - base, "%s", street_types[k][0]);
				break;
			}
		}
	}
	component(jb, first, lng, strlen(lng), shrt, strlen(shrt), "[\"route\"]");
	*has_route = true;
}

static void coords(struct jbuf *jb, double lat, double lng)
{
	jb_printf(jb, "{\"lat\":%.15g,\"lng\":%.15g}", lat, lng);
}

/* One results[] item built from a scripted entry. */
static void append_result(const struct geo_entry *e, void *ctx)
{
	struct jbuf *jb = ctx;
	struct parts parts;
	const char *postal = e->postal_code;
	size_t postal_len = postal ? strlen(postal) : 0;
	const char *state = NULL, *state_long = NULL;
	bool first = true, has_number = false, has_route = false, has_locality = false,
	     us = false;
	size_t n;
	char place[24];
	uint64_t h = fake_hash(e->formatted_address);
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

	split(e->formatted_address, &parts);
	n = parts.n;
	if (n > 1 && (slice_is(parts.p[n - 1], parts.len[n - 1], "USA") ||
		      slice_is(parts.p[n - 1], parts.len[n - 1], "US") ||
		      slice_is(parts.p[n - 1], parts.len[n - 1], "United States"))) {
		us = true;
		n--;
	}
	/* "IL" or "IL 62701": the state, and the ZIP when none was scripted. */
	if (n > 1 && parts.len[n - 1] >= 2 && isalpha((unsigned char)parts.p[n - 1][0]) &&
	    isalpha((unsigned char)parts.p[n - 1][1]) &&
	    (parts.len[n - 1] == 2 || parts.p[n - 1][2] == ' ')) {
		for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
			if (strncasecmp(parts.p[n - 1], states[k][0], 2) == 0) {
				state = states[k][0];
				state_long = states[k][1];
				break;
			}
		}
		if (state) {
			if (!postal && parts.len[n - 1] > 3) {
				postal = parts.p[n - 1] + 3;
				postal_len = parts.len[n - 1] - 3;
			}
			n--;
		}
	}

	jb_puts(jb, "{\"address_components\":[");
	if (n >= 2 || (n == 1 && isdigit((unsigned char)parts.p[0][0])))
		street_components(jb, &first, parts.p[0], parts.len[0], &has_number, &has_route);
	if (n >= 2 || (n == 1 && !has_route)) {
		component(jb, &first, parts.p[n - 1], parts.len[n - 1], parts.p[n - 1],
			  parts.len[n - 1], "[\"locality\",\"political\"]");
		has_locality = true;
	}
	if (state)
		component(jb, &first, state_long, strlen(state_long), state, 2,
			  "[\"administrative_area_level_1\",\"political\"]");
	if (us || state)
		component(jb, &first, "United States", 13, "US", 2, "[\"country\",\"political\"]");
	if (postal && postal_len)
		component(jb, &first, postal, postal_len, postal, postal_len, "[\"postal_code\"]");
	jb_puts(jb, "],\"formatted_address\":");
	jb_str(jb, e->formatted_address);
	jb_puts(jb, ",\"geometry\":{\"location\":");
	coords(jb, e->lat, e->lng);
	jb_printf(jb, ",\"location_type\":\"%s\",\"viewport\":{\"northeast\":", e->location_type);
	coords(jb, e->lat + VIEWPORT_DELTA, e->lng + VIEWPORT_DELTA);
	jb_puts(jb, ",\"southwest\":");
	coords(jb, e->lat - VIEWPORT_DELTA, e->lng - VIEWPORT_DELTA);
	jb_puts(jb, "}}");
	if (e->partial_match)
		jb_puts(jb, ",\"partial_match\":true");
	/* Stable per address, like real place ids. */
	for (size_t i = 0; i < 23; i++) {
		place[i] = b64[h & 63];
		h = (h >> 6) | (h << 58);
		h ^= i * 0x9e3779b97f4a7c15ULL;
	}
	place[23] = '\0';
	jb_printf(jb, ",\"place_id\":\"ChIJ%s\",\"types\":", place);
	if (has_number)
		jb_puts(jb, "[\"street_address\"]}");
	else if (has_route)
		jb_puts(jb, "[\"route\"]}");
	else if (has_locality)
		jb_puts(jb, "[\"locality\",\"political\"]}");
	else if (postal)
		jb_puts(jb, "[\"postal_code\"]}");
	else
		jb_puts(jb, "[\"political\"]}");
}

struct collect {
	struct jbuf *jb;
	size_t n;
};

static void collect_result(const struct geo_entry *e, void *ctx)
{
	struct collect *c = ctx;

	if (c->n++)
		jb_puts(c->jb, ",");
	append_result(e, c->jb);
}

/* postal_code:XXXXX from a components filter, copied into out. */
static const char *components_postal(const char *components, char *out, size_t size)
{
	const char *p = strstr(components, "postal_code:");
	size_t n;

	if (!p)
		return NULL;
	p += strlen("postal_code:");
	n = strcspn(p, "|");
	if (n == 0 || n >= size)
		return NULL;
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}

static void geocode(const struct fake_request *rq, struct fake_reply *rp)
{
	const char *key = form_get_nonempty(&rq->args, "key");
	const char *address = form_get_nonempty(&rq->args, "address");
	const char *components = form_get_nonempty(&rq->args, "components");
	char postal[32];
	struct jbuf jb;
	struct collect c = { &jb, 0 };

	if (!key) {
		status_reply(rp, 200, "REQUEST_DENIED",
			     "You must use an API key to authenticate each request to Google Maps Platform APIs. For additional information, please refer to http://g.co/dev/maps-no-account");
		return;
	}
	if (strcmp(key, fake_cfg.maps_api_key) != 0) {
		status_reply(rp, 200, "REQUEST_DENIED", "The provided API key is invalid. ");
		return;
	}
	if (!address && !components) {
		status_reply(rp, 200, "INVALID_REQUEST",
			     "Invalid request. Missing the 'address', 'components', 'latlng' or 'place_id' parameter.");
		return;
	}

	jb_init(&jb);
	jb_puts(&jb, "{\"results\":[");
	if (address)
		fake_geo_each(address, NULL, collect_result, &c);
	else if (components_postal(components, postal, sizeof(postal)))
		fake_geo_each(NULL, postal, collect_result, &c);
	jb_printf(&jb, "],\"status\":\"%s\"}", c.n ? "OK" : "ZERO_RESULTS");
	reply_take_body(rp, 200, JSON, &jb);
}

void maps_handle(const struct fake_request *rq, struct fake_reply *rp)
{
	static const char not_found[] =
		"<!DOCTYPE html><html lang=en><title>Error 404 (Not Found)!!1</title>"
		"<p><b>404.</b> That's an error.<p>The requested URL was not found on this server.</html>";

	if (strcmp(rq->path, "/maps/api/geocode/json") == 0)
		geocode(rq, rp);
	else
		reply_set_body(rp, 404, "text/html; charset=UTF-8", not_found,
			       sizeof(not_found) - 1);
}

void maps_fault_reply(const struct fake_request *rq, unsigned status,
		      struct fake_reply *rp)
{
	(void)rq;
	if (status == 429)
		status_reply(rp, status, "OVER_QUERY_LIMIT",
			     "You have exceeded your rate-limit for this API.");
	else if (status == 401 || status == 403)
		status_reply(rp, status, "REQUEST_DENIED", "The provided API key is invalid. ");
	else if (status == 400)
		status_reply(rp, status, "INVALID_REQUEST", "Invalid request.");
	else
		status_reply(rp, status, "UNKNOWN_ERROR",
			     "An unknown error occurred; the request may succeed if you try again.");
}
