/* What the raw request URI (as MHD received it, before decoding) tells
 * request_state.c; pure, so fuzz/fuzz_edge_request.c runs it too. */
#ifndef NMC_RAW_URI_H
#define NMC_RAW_URI_H

#include <stdbool.h>

/* "%00" in the path: MHD's decoded copy of it is cut short there. */
bool raw_uri_path_has_nul(const char *raw_uri);

/* The query string exactly as sent (after the first '?'), or NULL. */
const char *raw_uri_query(const char *raw_uri);

#endif
