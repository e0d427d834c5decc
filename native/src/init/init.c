/* lxr-init: PID 1 of a container. Runs `lxr-init [--] CMD ARGS...` as its child, forwards the
 * signals a supervisor or a terminal sends, reaps every orphan that the kernel hands to PID 1, and
 * exits with the command's status (128+N when a signal N ended it). Static, so any image runs it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "lxr-init: %s: %s\n", what, strerror(errno));
  exit(127);
}

int main(int argc, char **argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) first++;
  if (first >= argc) {
    fputs("usage: lxr-init [--] COMMAND [ARGS...]\n", stderr);
    return 127;
  }
  /* Every catchable signal is waited for and forwarded, except SIGCHLD, which means reaping. */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  /* On a terminal the command gets its own process group and becomes the foreground, so the
   * terminal's Ctrl-C (SIGINT to the foreground group) reaches it directly. */
  bool tty = isatty(0) && tcgetpgrp(0) == getpgrp();
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    if (tty) {
      setpgid(0, 0);
      signal(SIGTTOU, SIG_IGN);
      tcsetpgrp(0, getpid());
      signal(SIGTTOU, SIG_DFL);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    execvp(argv[first], argv + first);
    fprintf(stderr, "lxr-init: exec %s: %s\n", argv[first], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  if (tty) setpgid(child, child); /* also here: whichever of the two runs first */
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      /* A signal for the container is one for its command: for its whole process group when it
       * leads one (on a terminal), so shells and their jobs see it too. */
      if (kill(tty ? -child : child, sig) < 0 && errno == ESRCH) kill(child, sig);
      continue;
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != child) continue;
      /* The command is done; collect whatever else is still finishing, then leave. */
      while (waitpid(-1, NULL, WNOHANG) > 0) {
      }
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return WEXITSTATUS(status);
    }
  }
}
