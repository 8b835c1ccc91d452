/* Parses the configuration file (config_file.h). The format is the one
 * scripts/lib/config_file.sh reads for the database's settings: blank lines
 * and lines starting with '#' are skipped; every other line is NMC_KEY=value,
 * spaces around both trimmed, a value wrapped in a pair of double or single
 * quotes unwrapped (no escapes, nothing expanded). Anything else stops the
 * start with the file and line, so a typo never passes silently. */
#include "config_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct setting {
	char *key;
	char *value;
};

struct config_file {
	struct setting *settings;
	size_t n;
};

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
			   s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
}

/* Only NMC_* names: the file can never set anything else by accident. */
static bool valid_key(const char *k)
{
	if (strncmp(k, "NMC_", 4) != 0)
		return false;
	for (; *k != '\0'; k++)
		if (!(isalnum((unsigned char)*k) || *k == '_'))
			return false;
	return true;
}

static char *unquote(char *v)
{
	size_t len = strlen(v);
	if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
		v[len - 1] = '\0';
		return v + 1;
	}
	return v;
}

static bool add(struct config_file *file, const char *key, const char *value)
{
	struct setting *grown = realloc(file->settings, (file->n + 1) * sizeof *grown);
	if (grown == NULL)
		return false;
	file->settings = grown;
	grown[file->n].key = strdup(key);
	grown[file->n].value = strdup(value);
	if (grown[file->n].key == NULL || grown[file->n].value == NULL) {
		free(grown[file->n].key);
		free(grown[file->n].value);
		return false;
	}
	file->n++;
	return true;
}

struct config_file *config_file_read(const char *path, char *why, size_t why_size)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(why, why_size, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	struct config_file *file = calloc(1, sizeof *file);
	char *line = NULL;
	size_t cap = 0;
	unsigned int lineno = 0;
	bool ok = file != NULL;
	if (!ok)
		snprintf(why, why_size, "out of memory reading %s", path);
	while (ok && getline(&line, &cap, f) != -1) {
		lineno++;
		char *text = trim(line);
		if (text[0] == '\0' || text[0] == '#')
			continue;
		char *eq = strchr(text, '=');
		if (eq != NULL)
			*eq = '\0';
		char *key = eq != NULL ? trim(text) : text;
		if (eq == NULL || !valid_key(key)) {
			snprintf(why, why_size, "%s:%u: expected NMC_KEY=value", path, lineno);
			ok = false;
		} else if (!add(file, key, unquote(trim(eq + 1)))) {
			snprintf(why, why_size, "out of memory reading %s", path);
			ok = false;
		}
	}
	if (ok && ferror(f)) {
		snprintf(why, why_size, "cannot read %s: %s", path, strerror(errno));
		ok = false;
	}
	free(line);
	fclose(f);
	if (!ok) {
		config_file_free(file);
		return NULL;
	}
	return file;
}

const char *config_file_get(const struct config_file *file, const char *key)
{
	for (size_t i = file->n; i > 0; i--)
		if (strcmp(file->settings[i - 1].key, key) == 0)
			return file->settings[i - 1].value;
	return NULL;
}

void config_file_free(struct config_file *file)
{
	if (file == NULL)
		return;
	for (size_t i = 0; i < file->n; i++) {
		free(file->settings[i].key);
		free(file->settings[i].value);
	}
	free(file->settings);
	free(file);
}
