/*
 * url_encode_core.h — percent-encoding of one byte, without PostgreSQL:
 * url_encode.c (nmc.url_encode) and fuzz/fuzz_url_encode.c use it.
 */
#ifndef NMC_URL_ENCODE_CORE_H
#define NMC_URL_ENCODE_CORE_H

/* A byte can take up to three characters: %XX. */
#define URL_ENCODE_MAX_PER_BYTE 3

/* Writes c encoded into out (room for URL_ENCODE_MAX_PER_BYTE); returns
 * how many characters it wrote. */
extern int	url_encode_byte(unsigned char c, char *out);

#endif
