/* Static file serving. Paths are checked before any file system access
 * and only regular files are ever opened for the response, so a request
 * cannot escape the dashboard directory or read a device or directory. */
#include "static_files.h"

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_response.h"

static bool has_dotdot_segment(const char *path)
{
	const char *seg = path;
	for (;;) {
		const char *end = strchr(seg, '/');
		size_t len = end ? (size_t)(end - seg) : strlen(seg);
		if (len == 2 && seg[0] == '.' && seg[1] == '.')
			return true;
		if (end == NULL)
			return false;
		seg = end + 1;
	}
}

bool static_path_is_acceptable(const char *path)
{
	return path[0] == '/' && strchr(path, '\\') == NULL &&
	       !has_dotdot_segment(path);
}

/* The dashboard's static export (Next.js output), by extension. */
static const struct {
	const char *ext;
	const char *type;
} table[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "json", "application/json" },
	{ "map", "application/json" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "avif", "image/avif" },
	{ "ico", "image/x-icon" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
	{ "ttf", "font/ttf" },
	{ "otf", "font/otf" },
	{ "webmanifest", "application/manifest+json" },
	{ "xml", "application/xml" },
	{ "wasm", "application/wasm" },
	{ "pdf", "application/pdf" },
};

const char *content_type_for_path(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	const char *dot = strrchr(name, '.');
	if (dot != NULL) {
		for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
			if (strcasecmp(dot + 1, table[i].ext) == 0)
				return table[i].type;
	}
	return "application/octet-stream";
}

/* Opens root + rel + suffix if it is a regular file. O_NONBLOCK keeps a
 * FIFO planted in the tree from hanging the thread; it has no effect on
 * regular files. */
static int open_regular(const char *root, const char *rel, const char *suffix,
			struct stat *st, char *served, size_t served_size)
{
	char full[PATH_MAX];
	int n = snprintf(full, sizeof full, "%s%s%s", root, rel, suffix);
	if (n < 0 || (size_t)n >= sizeof full)
		return -1;
	int fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	n = snprintf(served, served_size, "%s%s", rel, suffix);
	if (n < 0 || (size_t)n >= served_size) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Next.js static export writes /foo as foo.html (or foo/index.html with
 * trailingSlash), so the candidates are tried in that order. */
static int find_file(const char *root, const char *path, struct stat *st,
		     char *served, size_t served_size)
{
	size_t len = strlen(path);
	if (path[len - 1] == '/')
		return open_regular(root, path, "index.html", st, served, served_size);

	int fd = open_regular(root, path, "", st, served, served_size);
	if (fd < 0)
		fd = open_regular(root, path, ".html", st, served, served_size);
	if (fd < 0)
		fd = open_regular(root, path, "/index.html", st, served, served_size);
	return fd;
}

/* A last segment without a dot is a client-side route (/calls/42) that
 * the dashboard's router resolves; a dotted one is a missing asset. */
static bool looks_like_route(const char *path)
{
	const char *last = strrchr(path, '/');
	return strchr(last ? last + 1 : path, '.') == NULL;
}

static const char *cache_control_for(const char *served)
{
	/* Next.js puts a content hash in every file name below _next/static. */
	if (strncmp(served, "/_next/static/", 14) == 0)
		return "public, max-age=31536000, immutable";
	const char *type = content_type_for_path(served);
	if (strncmp(type, "text/html", 9) == 0)
		return "no-cache";
	return NULL;
}

enum MHD_Result static_files_handle(struct MHD_Connection *conn,
				    struct request_state *rs,
				    const char *root_dir, const char *method,
				    const char *path)
{
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		size_t bytes = 0;
		struct MHD_Response *resp = http_error_response(
			"method_not_allowed", "only GET and HEAD are allowed here", &bytes);
		if (resp != NULL)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
		return http_reply(conn, rs, MHD_HTTP_METHOD_NOT_ALLOWED, resp, bytes);
	}
	if (!static_path_is_acceptable(path))
		return http_reply_error(conn, rs, MHD_HTTP_BAD_REQUEST, "bad_path",
					"the request path is not allowed");

	struct stat st;
	char served[PATH_MAX];
	int fd = find_file(root_dir, path, &st, served, sizeof served);
	if (fd < 0 && looks_like_route(path))
		fd = open_regular(root_dir, "/index.html", "", &st, served, sizeof served);
	if (fd < 0)
		return http_reply_error(conn, rs, MHD_HTTP_NOT_FOUND, "not_found",
					"no such file");

	struct MHD_Response *resp = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);
	if (resp == NULL) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				content_type_for_path(served));
	const char *cache = cache_control_for(served);
	if (cache != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
	return http_reply(conn, rs, MHD_HTTP_OK, resp, (uint64_t)st.st_size);
}
