// bench-fs: the C baselines of the filesystem workloads (W1, W2) and their set-up. Each
// command makes exactly the system calls the workload needs and nothing else, so the
// runbook's figures can be read as "times the physical limit of the same work".
//
//   bench-fs tree   DIR N TARGET         mkdir DIR/site_I (0755) + symlink TARGET DIR/site_I/lib, I = 1..N
//   bench-fs untree DIR N                unlink DIR/site_I/lib + rmdir DIR/site_I          (W1 undo)
//   bench-fs links  DIR D L PREFIX       mkdir DIR/d_J, symlink PREFIX/f_K DIR/d_J/l_K, J = 1..D, K = 1..L
//   bench-fs relink DIR D L PREFIX       unlink + symlink PREFIX/f_K DIR/d_J/l_K           (W2)
//   bench-fs rss PROGRAM [ARG...]        runs PROGRAM (stdin, stdout /dev/null) and prints its peak
//                                        RSS in KiB and its exit status                    (W0)
//
// The journal-* commands make the system calls `runbook` itself makes for W1 (its design's
// floor: the checks before each effect, the write-ahead journal's writes, the console
// lines), with records of the same sizes, and nothing else:
//
//   bench-fs journal-tree   DIR N TARGET JOURNAL   the real run
//   bench-fs journal-plan   DIR N TARGET JOURNAL   the dry-run
//   bench-fs journal-untree DIR N JOURNAL          `runbook undo` of the real run
//
// `rss` exists because a child's ru_maxrss counts the memory of the process it was
// forked or vforked from (Linux records the old address space's high-water mark at
// exec): measured straight from runbook-bench, every program would seem at least as big
// as the bench runner. This small launcher forks its child from a ~1 MiB process instead.
//
// Exit status: 0 done, 1 a system call failed (named on stderr), 2 bad invocation.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *operation, const char *path) {
    fprintf(stderr, "bench-fs: %s %s: %s\n", operation, path, strerror(errno));
    return 1;
}

static long count(const char *text) {
    char *end = NULL;
    long value = strtol(text, &end, 10);
    return (end && *end == '\0' && value > 0) ? value : -1;
}

static int tree(const char *dir, long n, const char *target) {
    char path[4096];
    for (long i = 1; i <= n; i++) {
        snprintf(path, sizeof path, "%s/site_%ld", dir, i);
        if (mkdir(path, 0755) != 0) return fail("mkdir", path);
        snprintf(path, sizeof path, "%s/site_%ld/lib", dir, i);
        if (symlink(target, path) != 0) return fail("symlink", path);
    }
    return 0;
}

static int untree(const char *dir, long n) {
    char path[4096];
    for (long i = 1; i <= n; i++) {
        snprintf(path, sizeof path, "%s/site_%ld/lib", dir, i);
        if (unlink(path) != 0) return fail("unlink", path);
        snprintf(path, sizeof path, "%s/site_%ld", dir, i);
        if (rmdir(path) != 0) return fail("rmdir", path);
    }
    return 0;
}

/// make = 1: create the directories and links; make = 0: retarget the existing links.
static int links(const char *dir, long dirs, long per, const char *prefix, int make) {
    char path[4096], target[4096];
    for (long j = 1; j <= dirs; j++) {
        if (make) {
            snprintf(path, sizeof path, "%s/d_%ld", dir, j);
            if (mkdir(path, 0755) != 0) return fail("mkdir", path);
        }
        for (long k = 1; k <= per; k++) {
            snprintf(path, sizeof path, "%s/d_%ld/l_%ld", dir, j, k);
            snprintf(target, sizeof target, "%s/f_%ld", prefix, k);
            if (!make && unlink(path) != 0) return fail("unlink", path);
            if (symlink(target, path) != 0) return fail("symlink", path);
        }
    }
    return 0;
}

static int rss(char **argv) {
    pid_t pid = fork();
    if (pid < 0) return fail("fork", argv[0]);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        execv(argv[0], argv);
        fprintf(stderr, "bench-fs: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status = 0;
    struct rusage usage;
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) return fail("wait4", argv[0]);
    }
    printf("%ld %d\n", usage.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}

/// One record of `size` bytes (a newline last), with one write(2), as the journal writes them.
static void record(int fd, char *buffer, size_t size) {
    buffer[size - 1] = '\n';
    if (write(fd, buffer, size) < 0) { /* the floor does not care */ }
    buffer[size - 1] = 'x';
}

/// Lines written together, 16 KiB at a time: the console of a run whose stdout is not a
/// terminal (the lines of quick effects), and a dry-run's journal.
struct batch { int fd; size_t used; char bytes[16384 + 512]; };
static struct batch console = { 1, 0, {0} }, planJournal = { -1, 0, {0} };
static void batchLine(struct batch *b, size_t size) {
    memset(b->bytes + b->used, 'x', size);
    b->used += size;
    if (b->used >= 16384) {
        if (write(b->fd, b->bytes, b->used) < 0) { /* the floor does not care */ }
        b->used = 0;
    }
}
static void batchEnd(struct batch *b) {
    if (b->used > 0 && write(b->fd, b->bytes, b->used) < 0) { /* the floor does not care */ }
    b->used = 0;
}

/// mode 0: real run, 1: dry-run, 2: undo.
static int journal_floor(int mode, const char *dir, long n, const char *target, const char *journal) {
    char site[4096], link[4096], buffer[768], linkTarget[4096];
    struct stat info;
    memset(buffer, 'x', sizeof buffer);
    int fd = open(journal, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return fail("open", journal);
    planJournal.fd = fd;
    if (mode == 2) {
        // undo reads the whole journal of the run first.
        int in = open(journal, O_RDONLY | O_CLOEXEC);
        static char chunk[65536];
        while (in >= 0 && read(in, chunk, sizeof chunk) > 0) {}
        if (in >= 0) close(in);
        for (long i = n; i >= 1; i--) {
            snprintf(site, sizeof site, "%s/site_%ld", dir, i);
            snprintf(link, sizeof link, "%s/site_%ld/lib", dir, i);
            // The link still points where the run made it point (readlink); rmdir tells
            // what is there by itself; an `undone` record each; the console lines batched.
            if (readlink(link, linkTarget, sizeof linkTarget) < 0) return fail("readlink", link);
            if (unlink(link) != 0) return fail("unlink", link);
            record(fd, buffer, 56); batchLine(&console, 76);
            if (rmdir(site) != 0) return fail("rmdir", site);
            record(fd, buffer, 56); batchLine(&console, 56);
        }
        batchEnd(&console);
    } else {
        for (long i = 1; i <= n; i++) {
            snprintf(site, sizeof site, "%s/site_%ld", dir, i);
            snprintf(link, sizeof link, "%s/site_%ld/lib", dir, i);
            // fs.mkdir: the directory (its parent is looked up once; the umask leaves 0755
            // whole, so no chmod); fs.symlink: the link, not looked up (it is a new name in
            // the directory the run has just made). A real run writes
            // an effect's intent before it, in one write with the previous effect's outcome
            // (its event is not journaled: the intent has its fields); the last outcome goes
            // with the step's end. A dry-run's journal of effect events is batched.
            lstat(site, &info);
            if (i == 1) lstat(dir, &info);
            if (mode == 0) {
                record(fd, buffer, i == 1 ? 293 : 293 + 57);
                if (mkdir(site, 0755) != 0) return fail("mkdir", site);
            } else {
                batchLine(&planJournal, 238);
            }
            batchLine(&console, 46);
            if (mode == 0) {
                record(fd, buffer, 385 + 57);
                if (symlink(target, link) != 0) return fail("symlink", link);
                if (i == n) record(fd, buffer, 57);
            } else {
                batchLine(&planJournal, 285);
            }
            batchLine(&console, 70);
        }
        batchEnd(&planJournal);
        batchEnd(&console);
    }
    fsync(fd);
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "journal-tree") == 0 && count(argv[3]) > 0)
        return journal_floor(0, argv[2], count(argv[3]), argv[4], argv[5]);
    if (argc == 6 && strcmp(argv[1], "journal-plan") == 0 && count(argv[3]) > 0)
        return journal_floor(1, argv[2], count(argv[3]), argv[4], argv[5]);
    if (argc == 5 && strcmp(argv[1], "journal-untree") == 0 && count(argv[3]) > 0)
        return journal_floor(2, argv[2], count(argv[3]), NULL, argv[4]);
    if (argc >= 3 && strcmp(argv[1], "rss") == 0) return rss(argv + 2);
    if (argc == 5 && strcmp(argv[1], "tree") == 0 && count(argv[3]) > 0) return tree(argv[2], count(argv[3]), argv[4]);
    if (argc == 4 && strcmp(argv[1], "untree") == 0 && count(argv[3]) > 0) return untree(argv[2], count(argv[3]));
    if (argc == 6 && (strcmp(argv[1], "links") == 0 || strcmp(argv[1], "relink") == 0) && count(argv[3]) > 0
        && count(argv[4]) > 0)
    {
        return links(argv[2], count(argv[3]), count(argv[4]), argv[5], strcmp(argv[1], "links") == 0);
    }
    fprintf(stderr, "usage: bench-fs tree DIR N TARGET | untree DIR N | links DIR D L PREFIX | relink DIR D L PREFIX"
                    " | rss PROGRAM [ARG...] | journal-tree DIR N TARGET JOURNAL | journal-plan DIR N TARGET JOURNAL"
                    " | journal-untree DIR N JOURNAL\n");
    return 2;
}
