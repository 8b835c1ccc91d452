/*
 * twilio_signature_core.h — what X-Twilio-Signature signs, without
 * PostgreSQL: the URL forms Twilio may have signed and the base string
 * (URL, then each distinct name+value pair in sorted order).
 * twilio_signature.c adds the HMAC-SHA1; fuzz/fuzz_twilio_signature.c
 * drives this directly.
 */
#ifndef NMC_TWILIO_SIGNATURE_CORE_H
#define NMC_TWILIO_SIGNATURE_CORE_H

#include <stddef.h>

/* Room for one URL form; a longer URL is only ever tried as given. */
#define TWILIO_URL_VARIANT_SIZE 2048

struct form_pair
{
	const char *name;
	const char *value;
};

/* Sorts pairs by name, then value: the order Twilio signs them in. */
extern void twilio_sort_pairs(struct form_pair *pairs, int npairs);

/* The base string for url[0..urllen) and sorted pairs (a repeated pair
 * counts once): its length, and when out is not NULL the bytes themselves
 * (no NUL added). Call once with NULL to size the buffer. */
extern size_t twilio_signature_base(const char *url, size_t urllen,
									const struct form_pair *pairs, int npairs,
									char *out);

/* The URL forms Twilio may have signed, into variants: url as given; and
 * if it parses as http(s)://host[:port]rest, without the port when it has
 * one or with the scheme's default port when not. Returns 1 or 2. */
extern int	twilio_url_variants(const char *url,
								char variants[2][TWILIO_URL_VARIANT_SIZE]);

#endif
