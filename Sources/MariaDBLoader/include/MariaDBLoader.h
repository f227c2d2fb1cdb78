// The MariaDB client library is loaded when the first connection is made, not at start-up
// (MariaDBLoader.c says why). This header only adds what the loader itself reports.
#ifndef RUNBOOK_MARIADB_LOADER_H
#define RUNBOOK_MARIADB_LOADER_H

/// Why the client library could not be loaded (dlerror's text), or NULL when it was
/// loaded or has not been asked for yet.
const char *rb_mariadb_load_error(void);

#endif
