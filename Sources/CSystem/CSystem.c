// See include/CSystem.h.
#include "CSystem.h"

#if defined(__linux__)
#include <stddef.h>
#include <sys/xattr.h>

int rb_has_default_acl(const char *path) {
    return getxattr(path, "system.posix_acl_default", NULL, 0) > 0;
}
#else
int rb_has_default_acl(const char *path) {
    (void)path;
    return 1;
}
#endif

static long tree_generation;

void rb_tree_generation_bump(void) { __atomic_add_fetch(&tree_generation, 1, __ATOMIC_SEQ_CST); }

long rb_tree_generation(void) { return __atomic_load_n(&tree_generation, __ATOMIC_SEQ_CST); }
