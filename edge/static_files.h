/* Serves the built dashboard (a Next.js static export) from a directory:
 * path-to-file mapping, the client-side-route fallback to index.html, and
 * caching headers. */
#ifndef NMC_STATIC_FILES_H
#define NMC_STATIC_FILES_H

#include <stdbool.h>

#include <microhttpd.h>

#include "request_state.h"

/* The path rule, checked before any file system access: absolute, no
 * backslash, no ".." segment, so it cannot leave the root. Pure, so
 * fuzz/fuzz_edge_request.c runs it too, with content_type_for_path. */
bool static_path_is_acceptable(const char *path);

/* The Content-Type a file is served with, by its extension. Unknown
 * extensions are sent as opaque bytes; with nosniff set, browsers will then
 * not guess an executable type. */
const char *content_type_for_path(const char *path);

enum MHD_Result static_files_handle(struct MHD_Connection *conn,
				    struct request_state *rs,
				    const char *root_dir, const char *method,
				    const char *path);

#endif
