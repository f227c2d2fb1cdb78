// bench-db: W4's C baseline. N single-row INSERTs, each its own autocommit transaction,
// through one libmariadb prepared statement with bound parameters: the same statement,
// the same values and the same connection options (unix socket, utf8mb4) as runbook's
// `db.exec(connection, sql, {name, value})` loop in W4, and nothing else.
//
//   bench-db inserts SOCKET USER DATABASE TABLE N [JOURNAL]
//        INSERT INTO TABLE (name, value) VALUES (?, ?) with ('item_I', I), I = 1..N. With
//        JOURNAL, also the system calls runbook makes around each db.exec (the design's
//        floor, as bench-fs journal-* for W1): the intent record, after the previous
//        effect's applied record, with one write(2) and an fsync (db.exec without an undo
//        cannot be undone, so its intent is synced before it runs); the console lines, one
//        write(2) per 16 KiB of them (stdout is not a terminal); records of the sizes
//        runbook writes, the last applied record and an fsync at the end.
//
// Exit status: 0 done, 1 a MariaDB call failed (named on stderr), 2 bad invocation.
#include <fcntl.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail_connection(MYSQL *mysql, const char *what) {
    fprintf(stderr, "bench-db: %s: %s\n", what, mysql_error(mysql));
    return 1;
}

static int fail_statement(MYSQL_STMT *stmt, const char *what) {
    fprintf(stderr, "bench-db: %s: %s\n", what, mysql_stmt_error(stmt));
    return 1;
}

/// One record of `size` bytes (a newline last), with one write(2), as the journal writes them.
static void record(int fd, char *buffer, size_t size) {
    buffer[size - 1] = '\n';
    if (write(fd, buffer, size) < 0) { /* the floor does not care */ }
    buffer[size - 1] = 'x';
}

static int inserts(const char *socket, const char *user, const char *database, const char *table, long n,
                   const char *journal) {
    int fd = -1;
    char buffer[1024], lines[16384];
    memset(buffer, 'x', sizeof buffer);
    memset(lines, 'x', sizeof lines);
    size_t waiting = 0;  // console bytes not yet written
    if (journal) {
        fd = open(journal, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) { perror("bench-db: open journal"); return 1; }
    }
    MYSQL *mysql = mysql_init(NULL);
    if (!mysql) { fprintf(stderr, "bench-db: mysql_init failed\n"); return 1; }
    unsigned int protocol = MYSQL_PROTOCOL_SOCKET;
    mysql_options(mysql, MYSQL_OPT_PROTOCOL, &protocol);
    mysql_options(mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(mysql, "localhost", user, "", database, 0, socket, 0)) return fail_connection(mysql, "connect");

    char sql[512];
    snprintf(sql, sizeof sql, "INSERT INTO %s (name, value) VALUES (?, ?)", table);
    MYSQL_STMT *stmt = mysql_stmt_init(mysql);
    if (!stmt) return fail_connection(mysql, "mysql_stmt_init");
    if (mysql_stmt_prepare(stmt, sql, strlen(sql)) != 0) return fail_statement(stmt, "prepare");

    char name[64];
    unsigned long name_length = 0;
    long long value = 0;
    MYSQL_BIND bind[2];
    memset(bind, 0, sizeof bind);
    bind[0].buffer_type = MYSQL_TYPE_STRING;
    bind[0].buffer = name;
    bind[0].buffer_length = sizeof name;
    bind[0].length = &name_length;
    bind[1].buffer_type = MYSQL_TYPE_LONGLONG;
    bind[1].buffer = &value;
    if (mysql_stmt_bind_param(stmt, bind) != 0) return fail_statement(stmt, "bind");

    for (long i = 1; i <= n; i++) {
        name_length = (unsigned long)snprintf(name, sizeof name, "item_%ld", i);
        value = i;
        if (fd >= 0) { record(fd, buffer, i == 1 ? 305 : 104 + 305); fsync(fd); }
        if (mysql_stmt_execute(stmt) != 0) return fail_statement(stmt, "execute");
        if (fd >= 0 && (waiting += 64) + 64 > sizeof lines) { record(1, lines, waiting); waiting = 0; }
    }
    if (fd >= 0) {
        record(fd, buffer, 104);
        if (waiting > 0) record(1, lines, waiting);
        fsync(fd);
        close(fd);
    }
    mysql_stmt_close(stmt);
    mysql_close(mysql);
    return 0;
}

int main(int argc, char **argv) {
    if ((argc == 7 || argc == 8) && strcmp(argv[1], "inserts") == 0) {
        char *end = NULL;
        long n = strtol(argv[6], &end, 10);
        if (end && *end == '\0' && n > 0) return inserts(argv[2], argv[3], argv[4], argv[5], n, argc == 8 ? argv[7] : NULL);
    }
    fprintf(stderr, "usage: bench-db inserts SOCKET USER DATABASE TABLE N [JOURNAL]\n");
    return 2;
}
