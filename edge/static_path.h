/* The rule deciding which request paths static_files.c may look up under
 * the dashboard directory; pure, so fuzz/fuzz_edge_request.c runs it too. */
#ifndef NMC_STATIC_PATH_H
#define NMC_STATIC_PATH_H

#include <stdbool.h>

/* Absolute, no backslash, no ".." segment: it cannot leave the root. */
bool static_path_is_acceptable(const char *path);

#endif
