// What the whole-process workloads ask the C library for that Swift's Glibc module does
// not import: the type of the filesystem a path is on (statfs).
#include "CBenchSupport.h"

#if defined(__linux__)
#include <sys/vfs.h>

long rb_bench_filesystem_magic(const char *path) {
    struct statfs info;
    if (statfs(path, &info) != 0) return -1;
    return (long)info.f_type;
}
#else
long rb_bench_filesystem_magic(const char *path) {
    (void)path;
    return -1;
}
#endif
