// Loads the MariaDB client library (libmariadb, with libssl, libcrypto and libz behind it)
// on first use instead of at every start: linked normally, the dynamic loader maps and
// relocates all four before main, ~1.5-3 ms of every `runbook` invocation (W0 in
// docs/performance.md), though most runs — `list`, `describe`, a failover of IPs, a runbook
// without a database — never connect.
//
// Every function of the MySQL C API that MySQLClient calls is defined here with the header's
// own prototype and forwards to the library's, found with dlsym on first use. The
// definitions are hidden (never exported from the executable), so the library's calls
// between its own functions still go to its own code.
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#pragma GCC visibility push(hidden)
#include <mysql.h>

// X(return type, name, (parameters), (arguments)) for every function forwarded.
#define RB_MARIADB_FUNCTIONS(X) \
    X(my_ulonglong, mysql_affected_rows, (MYSQL *m), (m)) \
    X(unsigned int, mysql_errno, (MYSQL *m), (m)) \
    X(const char *, mysql_error, (MYSQL *m), (m)) \
    X(MYSQL_FIELD *, mysql_fetch_fields, (MYSQL_RES *r), (r)) \
    X(unsigned int, mysql_field_count, (MYSQL *m), (m)) \
    X(char *, mysql_get_server_info, (MYSQL *m), (m)) \
    X(my_ulonglong, mysql_insert_id, (MYSQL *m), (m)) \
    X(int, mysql_next_result, (MYSQL *m), (m)) \
    X(int, mysql_options, (MYSQL *m, enum mysql_option o, const void *a), (m, o, a)) \
    X(int, mysql_ping, (MYSQL *m), (m)) \
    X(MYSQL *, mysql_real_connect, (MYSQL *m, const char *host, const char *user, const char *password, \
                                    const char *db, unsigned int port, const char *socket, unsigned long flags), \
      (m, host, user, password, db, port, socket, flags)) \
    X(int, mysql_real_query, (MYSQL *m, const char *q, unsigned long length), (m, q, length)) \
    X(const char *, mysql_sqlstate, (MYSQL *m), (m)) \
    X(MYSQL_RES *, mysql_store_result, (MYSQL *m), (m)) \
    X(unsigned int, mysql_warning_count, (MYSQL *m), (m)) \
    X(unsigned long long, mysql_stmt_affected_rows, (MYSQL_STMT *s), (s)) \
    X(my_bool, mysql_stmt_attr_set, (MYSQL_STMT *s, enum enum_stmt_attr_type t, const void *a), (s, t, a)) \
    X(my_bool, mysql_stmt_bind_param, (MYSQL_STMT *s, MYSQL_BIND *b), (s, b)) \
    X(my_bool, mysql_stmt_bind_result, (MYSQL_STMT *s, MYSQL_BIND *b), (s, b)) \
    X(my_bool, mysql_stmt_close, (MYSQL_STMT *s), (s)) \
    X(unsigned int, mysql_stmt_errno, (MYSQL_STMT *s), (s)) \
    X(const char *, mysql_stmt_error, (MYSQL_STMT *s), (s)) \
    X(int, mysql_stmt_execute, (MYSQL_STMT *s), (s)) \
    X(int, mysql_stmt_fetch, (MYSQL_STMT *s), (s)) \
    X(int, mysql_stmt_fetch_column, (MYSQL_STMT *s, MYSQL_BIND *b, unsigned int column, unsigned long offset), \
      (s, b, column, offset)) \
    X(unsigned int, mysql_stmt_field_count, (MYSQL_STMT *s), (s)) \
    X(my_bool, mysql_stmt_free_result, (MYSQL_STMT *s), (s)) \
    X(MYSQL_STMT *, mysql_stmt_init, (MYSQL *m), (m)) \
    X(unsigned long long, mysql_stmt_insert_id, (MYSQL_STMT *s), (s)) \
    X(my_bool, mysql_stmt_more_results, (MYSQL_STMT *s), (s)) \
    X(int, mysql_stmt_next_result, (MYSQL_STMT *s), (s)) \
    X(unsigned long long, mysql_stmt_num_rows, (MYSQL_STMT *s), (s)) \
    X(unsigned long, mysql_stmt_param_count, (MYSQL_STMT *s), (s)) \
    X(int, mysql_stmt_prepare, (MYSQL_STMT *s, const char *q, unsigned long length), (s, q, length)) \
    X(MYSQL_RES *, mysql_stmt_result_metadata, (MYSQL_STMT *s), (s)) \
    X(const char *, mysql_stmt_sqlstate, (MYSQL_STMT *s), (s)) \
    X(int, mysql_stmt_store_result, (MYSQL_STMT *s), (s))

// The two that return nothing, and the two that start everything (they load the library).
#define RB_MARIADB_VOID_FUNCTIONS(X) \
    X(mysql_close, (MYSQL *m), (m)) \
    X(mysql_free_result, (MYSQL_RES *r), (r))

#define RB_POINTER(ret, name, params, args) static ret (STDCALL *p_##name) params;
#define RB_VOID_POINTER(name, params, args) static void (STDCALL *p_##name) params;
RB_MARIADB_FUNCTIONS(RB_POINTER)
RB_MARIADB_VOID_FUNCTIONS(RB_VOID_POINTER)
static int (STDCALL *p_mysql_server_init)(int, char **, char **);
static MYSQL *(STDCALL *p_mysql_init)(MYSQL *);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *load_error = NULL;
// dlerror's text is the loader's until its next call: the first failure is kept here.
static char load_error_text[512];

static void keep_error(const char *text) {
    snprintf(load_error_text, sizeof load_error_text, "%s", text ? text : "libmariadb.so.3 not found");
    load_error = load_error_text;
}

// Where the library is: RUNBOOK_LIBMARIADB if set, else the soname (Debian: found through
// ld.so.cache), else FreeBSD's port location.
static void *open_library(void) {
    const char *chosen = getenv("RUNBOOK_LIBMARIADB");
    const char *candidates[] = { chosen, "libmariadb.so.3", "/usr/local/lib/mariadb/libmariadb.so.3", "libmariadb.so" };
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        if (!candidates[i] || !candidates[i][0]) continue;
        void *handle = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (handle) return handle;
        // The first failure says most (the chosen path, or the soname), not the last fallback's.
        if (!load_error) keep_error(dlerror());
        if (i == 0) return NULL; // a chosen path that fails is not second-guessed
    }
    return NULL;
}

static void load(void) {
    void *handle = open_library();
    if (!handle) {
        if (!load_error) keep_error(NULL);
        return;
    }
    load_error = NULL; // a fallback was found after a failure
#define RB_LOAD(name) \
    if (!(*(void **)&p_##name = dlsym(handle, #name))) { keep_error("libmariadb lacks " #name); return; }
#define RB_LOAD_FUNCTION(ret, name, params, args) RB_LOAD(name)
#define RB_LOAD_VOID_FUNCTION(name, params, args) RB_LOAD(name)
    RB_MARIADB_FUNCTIONS(RB_LOAD_FUNCTION)
    RB_MARIADB_VOID_FUNCTIONS(RB_LOAD_VOID_FUNCTION)
    RB_LOAD(mysql_server_init)
    RB_LOAD(mysql_init)
}

static int loaded(void) {
    pthread_once(&once, load);
    return load_error == NULL;
}

const char *rb_mariadb_load_error(void) { return load_error; }

// Only handles made by mysql_init reach the others, so only these two check the load.
int STDCALL mysql_server_init(int argc, char **argv, char **groups) {
    return loaded() ? p_mysql_server_init(argc, argv, groups) : 1;
}

MYSQL *STDCALL mysql_init(MYSQL *m) { return loaded() ? p_mysql_init(m) : NULL; }

#define RB_FORWARD(ret, name, params, args) ret STDCALL name params { return p_##name args; }
#define RB_FORWARD_VOID(name, params, args) void STDCALL name params { p_##name args; }
RB_MARIADB_FUNCTIONS(RB_FORWARD)
RB_MARIADB_VOID_FUNCTIONS(RB_FORWARD_VOID)

#pragma GCC visibility pop
