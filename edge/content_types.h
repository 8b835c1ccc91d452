/* Maps a file name's extension to the Content-Type it is served with.
 * Unknown extensions are sent as opaque bytes; with nosniff set, browsers
 * will then not guess an executable type. */
#ifndef NMC_CONTENT_TYPES_H
#define NMC_CONTENT_TYPES_H

const char *content_type_for_path(const char *path);

#endif
