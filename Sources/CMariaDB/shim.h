// The MySQL C API as the MariaDB Connector/C ships it (Debian libmariadb-dev).
#ifndef RUNBOOK_CMARIADB_SHIM_H
#define RUNBOOK_CMARIADB_SHIM_H
#include <mysql.h>
#endif
