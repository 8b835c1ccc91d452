/* Id generation. SIDs come from a bijective mix of a counter, so they look
 * random yet can never repeat: tests dedupe on SIDs and must not see a
 * collision under benchmark load. */
#include "fake_ids.h"

#include <stdio.h>
#include <unistd.h>

static uint64_t seed_a, seed_b;
static uint64_t counter;

static uint64_t mix(uint64_t x)
{
	/* splitmix64 finaliser: a bijection on 64-bit values. */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void fake_ids_init(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	seed_a = mix((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
	seed_b = mix(seed_a ^ (uint64_t)getpid());
}

static uint64_t next(void)
{
	return __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
}

void fake_sid(char *out, const char *prefix)
{
	uint64_t n = next();

	/* The first half alone is unique: mix() is a bijection and n never
	 * repeats. The second half only adds variety. */
	snprintf(out, 35, "%c%c%016llx%016llx", prefix[0], prefix[1],
		 (unsigned long long)mix(n ^ seed_a),
		 (unsigned long long)mix(n + seed_b));
}

void fake_hex(char *out, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	uint64_t r = 0;

	for (size_t i = 0; i < n; i++) {
		if (i % 16 == 0)
			r = mix(next() ^ seed_b);
		out[i] = digits[r & 15];
		r >>= 4;
	}
	out[n] = '\0';
}

void fake_alnum(char *out, size_t n)
{
	static const char chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	uint64_t r = 0;

	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			r = mix(next() ^ seed_a);
		out[i] = chars[r % 62];
		r /= 62;
	}
	out[n] = '\0';
}

void fake_rfc2822(char *out, time_t t)
{
	/* Spelled out instead of strftime so the locale can never change it. */
	static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000",
		 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int64_t fake_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t fake_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return mix(h);
}
