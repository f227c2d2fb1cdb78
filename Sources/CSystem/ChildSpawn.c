// See rb_spawn_child in include/CSystem.h. posix_spawn cannot ask the kernel to kill the
// child when its parent dies, so this is fork and exec by hand. Between the two, the child
// calls only async-signal-safe functions: the parent has threads, and the child has a copy
// of their locks but not the threads that would release them.
#define _GNU_SOURCE  // pipe2
#include "CSystem.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/prctl.h>
#elif defined(__FreeBSD__)
#include <sys/procctl.h>
#endif

/// Asks the kernel to SIGKILL the calling process when its parent goes. 0 on success.
static int die_with_parent(void) {
#if defined(__linux__)
    return prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
#elif defined(__FreeBSD__)
    int signal_number = SIGKILL;
    return procctl(P_PID, 0, PROC_PDEATHSIG_CTL, &signal_number);
#else
    return 0;
#endif
}

/// The child's side: never returns. Reports a failure as its errno on `report`.
static void become_program(const char *path, char *const argv[], char *const envp[], const int fds[3],
                           const int *close_fds, int close_count, pid_t parent,
                           int report) {
    int error = 0;
    if (setpgid(0, 0) != 0) error = errno;
    if (!error && die_with_parent() != 0) error = errno;
    // The parent may have died before the request took effect: then nobody would kill us.
    if (!error && getppid() != parent) error = ESRCH;
    for (int target = 0; !error && target < 3; target++) {
        if (fds[target] >= 0 && fds[target] != target && dup2(fds[target], target) < 0) error = errno;
        // The engine's pipes are close-on-exec; dup2 gives a plain copy, but a pipe end that
        // already is 0, 1 or 2 keeps the flag unless cleared here.
        if (!error && fds[target] == target && fcntl(target, F_SETFD, 0) != 0) error = errno;
    }
    for (int index = 0; !error && index < close_count; index++) {
        if (close_fds[index] > 2) close(close_fds[index]);
    }
    if (!error) {
        // Signals the engine catches or ignores start with their default action in the
        // program.
        struct sigaction defaults = {0};
        defaults.sa_handler = SIG_DFL;
        sigemptyset(&defaults.sa_mask);
        for (int number = 1; number < NSIG; number++) {
            if (number != SIGKILL && number != SIGSTOP) sigaction(number, &defaults, NULL);
        }
        // A program starts with no signal blocked, whatever the thread that started it had
        // blocked (the engine blocks SIGINT/SIGTERM while it records a run, and its helper
        // threads block all): it must stop when told to.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, envp);
        error = errno;
    }
    ssize_t written;
    do { written = write(report, &error, sizeof error); } while (written < 0 && errno == EINTR);
    _exit(127);
}

pid_t rb_spawn_child(const char *path, char *const argv[], char *const envp[], int stdin_fd, int stdout_fd,
                     int stderr_fd, const int *close_fds, int close_count, int *error_out) {
    *error_out = 0;
    int report[2];
    if (pipe(report) != 0) { *error_out = errno; return -1; }
    fcntl(report[0], F_SETFD, FD_CLOEXEC);
    fcntl(report[1], F_SETFD, FD_CLOEXEC);
    const int fds[3] = {stdin_fd, stdout_fd, stderr_fd};
    pid_t parent = getpid();

    // No signal handler of the engine may run in the child between fork and exec.
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid_t pid = fork();
    if (pid == 0) become_program(path, argv, envp, fds, close_fds, close_count, parent, report[1]);
    int fork_error = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    close(report[1]);
    if (pid < 0) {
        close(report[0]);
        *error_out = fork_error;
        return -1;
    }
    // Also here, so a kill of the group cannot come before the child made it.
    setpgid(pid, pid);
    int child_error = 0;
    ssize_t got;
    do { got = read(report[0], &child_error, sizeof child_error); } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == (ssize_t)sizeof child_error) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *error_out = child_error;
        return -1;
    }
    return pid;
}

int rb_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
