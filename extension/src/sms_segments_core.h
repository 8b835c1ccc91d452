/*
 * sms_segments_core.h — the SMS segment rules over Unicode code points,
 * without PostgreSQL: sms_segments.c (nmc.sms_segments) and
 * fuzz/fuzz_sms_segments.c use it.
 */
#ifndef NMC_SMS_SEGMENTS_CORE_H
#define NMC_SMS_SEGMENTS_CORE_H

#include <stdbool.h>
#include <stdint.h>

/* 3GPP TS 23.038: one message carries 140 octets = 160 septets or 70 UTF-16
 * units; a concatenated part loses 6 octets to its header: 153 or 67. */
#define GSM7_SINGLE 160
#define GSM7_PART 153
#define UCS2_SINGLE 70
#define UCS2_PART 67

struct sms_count
{
	bool		gsm7;			/* fits GSM 03.38 7-bit; else UCS-2 */
	int			units;			/* septets (GSM-7) or UTF-16 units (UCS-2) */
	int			segments;		/* 0 only for an empty text */
};

extern void sms_segments_count(const uint32_t *chars, int nchars, struct sms_count *out);

#endif
