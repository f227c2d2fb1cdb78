// System calls the platform adapter needs that Swift's Glibc module does not import.
#ifndef RUNBOOK_CSYSTEM_H
#define RUNBOOK_CSYSTEM_H

#include <sys/types.h>

/// 1 when the directory has a default ACL (Linux: it decides the modes of new entries
/// instead of the umask), 0 when it has none, and 1 where this cannot be told (FreeBSD:
/// callers then set modes explicitly).
int rb_has_default_acl(const char *path);

/// Starts `path` with `argv` and `envp` in a process group of its own, with `stdin_fd`,
/// `stdout_fd` and `stderr_fd` as its 0, 1 and 2, every signal at its default action and none blocked, and
/// the descriptors in `close_fds` closed. The kernel kills it (SIGKILL) when the engine
/// dies (Linux: PR_SET_PDEATHSIG, tied to the calling thread, which must wait for it;
/// FreeBSD: PROC_PDEATHSIG_CTL), so no child outlives a killed run to race its undo. Returns the pid, or -1 with the errno in `error_out`
/// (also when the program could not be executed).
pid_t rb_spawn_child(const char *path, char *const argv[], char *const envp[], int stdin_fd, int stdout_fd,
                     int stderr_fd, const int *close_fds, int close_count, int *error_out);

/// A counter bumped (atomically, from any thread) whenever something outside the engine's
/// walk may have changed the files: the walk closes the directories it keeps open when it
/// sees the counter move (RootedWalk.swift).
/// pipe(2) with both ends close-on-exec, atomically (pipe2): a program another thread starts
/// at the same moment must not inherit them.
int rb_pipe_cloexec(int fds[2]);

void rb_tree_generation_bump(void);
long rb_tree_generation(void);

#endif
