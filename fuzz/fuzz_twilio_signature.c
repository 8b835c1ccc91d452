/* fuzz_twilio_signature.c — the signature base string and URL forms of
 * nmc.twilio_signature(_valid) (extension/src/twilio_signature_core.c).
 * Input: NUL-separated url, name, value, name, value, ... Asserts that the
 * other URL form Twilio may have signed (if any) differs from the URL only
 * by a ":port", and that the base string is the URL followed by the distinct
 * pairs in order, the same whatever order the pairs arrived in. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "twilio_signature_core.h"

#define MAX_PAIRS 64

/* Copies of the NUL-separated strings in data; returns how many. */
static int split(const uint8_t *data, size_t size, char **strings, int max)
{
	int n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= size && n < max; i++) {
		if (i == size || data[i] == '\0') {
			strings[n] = malloc(i - start + 1);
			memcpy(strings[n], data + start, i - start);
			strings[n][i - start] = '\0';
			n++;
			start = i + 1;
		}
	}
	return n;
}

/* The other form keeps scheme, host and rest; only ":port" goes or comes. */
static void check_alternative(const char *url)
{
	char alt[TWILIO_URL_VARIANT_SIZE];
	if (!twilio_url_alternative(url, alt))
		return;
	size_t a = strlen(url), b = strlen(alt);
	const char *host = strstr(url, "://");
	if (a == b || a >= TWILIO_URL_VARIANT_SIZE - 8 || host == NULL ||
	    strncmp(alt, url, (size_t)(host - url) + 3) != 0)
		abort();
	const char *longer = a > b ? url : alt, *shorter = a > b ? alt : url;
	size_t d = a > b ? a - b : b - a;
	/* Deleting the port text from the longer gives the shorter. */
	size_t i = 0;
	while (i < b && i < a && longer[i] == shorter[i])
		i++;
	if (longer[i] != ':' || strcmp(longer + i + d, shorter + i) != 0)
		abort();
	for (size_t k = i + 1; k < i + d; k++)
		if (longer[k] < '0' || longer[k] > '9')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *strings[1 + 2 * MAX_PAIRS];
	int n = split(data, size, strings, 1 + 2 * MAX_PAIRS);
	const char *url = strings[0];
	int npairs = (n - 1) / 2;
	struct form_pair pairs[MAX_PAIRS], reversed[MAX_PAIRS];

	check_alternative(url);

	for (int i = 0; i < npairs; i++) {
		pairs[i].name = strings[1 + 2 * i];
		pairs[i].value = strings[2 + 2 * i];
		reversed[npairs - 1 - i] = pairs[i];
	}
	twilio_sort_pairs(pairs, npairs);
	twilio_sort_pairs(reversed, npairs);

	size_t urllen = strlen(url);
	size_t len = twilio_signature_base(url, urllen, pairs, npairs, NULL);
	char *base = malloc(len + 1);
	char *base2 = malloc(len + 1);
	if (twilio_signature_base(url, urllen, pairs, npairs, base) != len ||
	    twilio_signature_base(url, urllen, reversed, npairs, base2) != len ||
	    memcmp(base, base2, len) != 0 || memcmp(base, url, urllen) != 0)
		abort();

	/* The expected length: the URL plus every distinct pair once. */
	size_t expected = urllen;
	for (int i = 0; i < npairs; i++) {
		if (i > 0 && strcmp(pairs[i].name, pairs[i - 1].name) < 0)
			abort();   /* not sorted by name */
		if (i > 0 && strcmp(pairs[i].name, pairs[i - 1].name) == 0 &&
		    strcmp(pairs[i].value, pairs[i - 1].value) == 0)
			continue;
		expected += strlen(pairs[i].name) + strlen(pairs[i].value);
	}
	if (expected != len)
		abort();

	free(base);
	free(base2);
	for (int i = 0; i < n; i++)
		free(strings[i]);
	return 0;
}
