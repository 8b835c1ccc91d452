/* Serves the built dashboard (a Next.js static export) from a directory:
 * path-to-file mapping, the client-side-route fallback to index.html, and
 * caching headers. */
#ifndef NMC_STATIC_FILES_H
#define NMC_STATIC_FILES_H

#include <microhttpd.h>

#include "request_state.h"

enum MHD_Result static_files_handle(struct MHD_Connection *conn,
				    struct request_state *rs,
				    const char *root_dir, const char *method,
				    const char *path);

#endif
