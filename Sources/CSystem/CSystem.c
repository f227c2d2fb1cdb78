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
