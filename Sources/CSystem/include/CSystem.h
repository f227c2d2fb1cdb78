// System calls the platform adapter needs that Swift's Glibc module does not import.
#ifndef RUNBOOK_CSYSTEM_H
#define RUNBOOK_CSYSTEM_H

/// 1 when the directory has a default ACL (Linux: it decides the modes of new entries
/// instead of the umask), 0 when it has none, and 1 where this cannot be told (FreeBSD:
/// callers then set modes explicitly).
int rb_has_default_acl(const char *path);

#endif
