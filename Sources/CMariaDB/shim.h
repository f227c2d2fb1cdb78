// The MySQL C API as the MariaDB Connector/C ships it (Debian libmariadb-dev, FreeBSD
// mariadb-connector-c). Only the headers: the library is loaded on the first connection
// (Sources/MariaDBLoader). Found as <mysql.h> where the targets add the mariadb include
// folder (Package.swift), else as <mariadb/mysql.h> in the system's include folder.
#ifndef RUNBOOK_CMARIADB_SHIM_H
#define RUNBOOK_CMARIADB_SHIM_H
#if __has_include(<mysql.h>)
#include <mysql.h>
#else
#include <mariadb/mysql.h>
#endif
#endif
