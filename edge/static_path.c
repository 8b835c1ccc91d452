/* static_path.c — the path check of static_path.h, made before any file
 * system access. */
#include "static_path.h"

#include <stddef.h>
#include <string.h>

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
