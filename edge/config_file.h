/* The edge's configuration file (config_file.c): NMC_KEY=value lines, the
 * same names as the environment. config.c reads it once at start and lets
 * the environment override any of its values. */
#ifndef NMC_CONFIG_FILE_H
#define NMC_CONFIG_FILE_H

#include <stddef.h>

struct config_file;

/* The file's settings, or NULL with the reason in why (the file cannot be
 * read, a line is not NMC_KEY=value, out of memory). */
struct config_file *config_file_read(const char *path, char *why, size_t why_size);

/* The value of key (the last line that sets it wins), or NULL. */
const char *config_file_get(const struct config_file *file, const char *key);

void config_file_free(struct config_file *file);

#endif
