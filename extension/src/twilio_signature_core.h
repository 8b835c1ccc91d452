/*
 * twilio_signature_core.h — what X-Twilio-Signature signs, without
 * PostgreSQL: the URL forms Twilio may have signed and the base string
 * (URL, then each distinct name+value pair in sorted order).
 * twilio_signature.c adds the HMAC-SHA1; fuzz/fuzz_twilio_signature.c
 * drives this directly.
 */
#ifndef NMC_TWILIO_SIGNATURE_CORE_H
#define NMC_TWILIO_SIGNATURE_CORE_H

#include <stdbool.h>
#include <stddef.h>

/* Room for the other URL form; a URL too long for it is only ever tried
 * as given. */
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

/* Twilio may have signed the URL as given or, when it parses as
 * http(s)://host[:port]rest, this other form: without the port when it has
 * one, with the scheme's default port when not. Writes that form into alt
 * and returns true, or returns false when there is none (the URL as given is
 * then the only form, whatever its length). */
extern bool twilio_url_alternative(const char *url, char alt[TWILIO_URL_VARIANT_SIZE]);

#endif
