/*
 * twilio_signature_core.c — the rules of Twilio's request signature that are
 * about text (twilio_signature_core.h): pair order, the base string and the
 * URL forms with and without the port.
 */
#include "twilio_signature_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
pair_cmp(const void *a, const void *b)
{
	const struct form_pair *x = a;
	const struct form_pair *y = b;
	int			c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

void
twilio_sort_pairs(struct form_pair *pairs, int npairs)
{
	if (npairs > 1)
		qsort(pairs, (size_t) npairs, sizeof(struct form_pair), pair_cmp);
}

size_t
twilio_signature_base(const char *url, size_t urllen,
					  const struct form_pair *pairs, int npairs, char *out)
{
	size_t		n = urllen;

	if (out != NULL)
		memcpy(out, url, urllen);
	for (int i = 0; i < npairs; i++)
	{
		size_t		namelen;
		size_t		valuelen;

		if (i > 0 && pair_cmp(&pairs[i], &pairs[i - 1]) == 0)
			continue;
		namelen = strlen(pairs[i].name);
		valuelen = strlen(pairs[i].value);
		if (out != NULL)
		{
			memcpy(out + n, pairs[i].name, namelen);
			memcpy(out + n + namelen, pairs[i].value, valuelen);
		}
		n += namelen + valuelen;
	}
	return n;
}

bool
twilio_url_alternative(const char *url, char alt[TWILIO_URL_VARIANT_SIZE])
{
	const char *p = strstr(url, "://");
	const char *host;
	const char *end;
	const char *colon;
	size_t		schemelen;
	bool		https;

	/* 8 bytes spare: the longest default port added, ":443", fits. */
	if (strlen(url) >= TWILIO_URL_VARIANT_SIZE - 8 || p == NULL)
		return false;
	schemelen = (size_t) (p - url);
	if (!((schemelen == 4 && strncmp(url, "http", 4) == 0) || (schemelen == 5 && strncmp(url, "https", 5) == 0)))
		return false;
	https = schemelen == 5;
	host = p + 3;
	end = host + strcspn(host, "/?#");
	colon = memchr(host, ':', (size_t) (end - host));
	if (end == host || colon == host)
		return false;
	if (colon != NULL)
	{
		for (const char *d = colon + 1; d < end; d++)
			if (*d < '0' || *d > '9')
				return false;
		if (colon + 1 == end)
			return false;
		snprintf(alt, TWILIO_URL_VARIANT_SIZE, "%.*s%s", (int) (colon - url), url, end);
	}
	else
		snprintf(alt, TWILIO_URL_VARIANT_SIZE, "%.*s%s%s", (int) (end - url), url, https ? ":443" : ":80", end);
	return true;
}
