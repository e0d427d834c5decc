/* lxr-runtime's command line: runc's shape, so either can run the same bundle. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "runtime.h"

static const char usage[] =
    "usage: lxr-runtime [--root DIR] COMMAND [OPTIONS] ID\n"
    "  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID\n"
    "  run [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID   (create, start, wait, delete)\n"
    "  start ID\n"
    "  state ID\n"
    "  kill ID [SIGNAL]\n"
    "  delete [--force] ID\n"
    "  exec [--process FILE] [--tty] [--console-socket SOCK] [--detach] [--pid-file FILE]\n"
    "       [--cwd DIR] [--env K=V]... [--user UID[:GID]] ID [ARGS...]\n";

/* Matches --name VALUE, --name=VALUE and the short form; advances *i past what it used. */
static bool option(int argc, char **argv, int *i, const char *name, const char *shortname, const char **value) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) == 0 && a[n] == '=') {
    *value = a + n + 1;
    return true;
  }
  if (strcmp(a, name) == 0 || (shortname && strcmp(a, shortname) == 0)) {
    if (*i + 1 >= argc) {
      fprintf(stderr, "lxr-runtime: %s needs a value\n", name);
      exit(125);
    }
    *value = argv[++*i];
    return true;
  }
  return false;
}

static bool flag(const char *arg, const char *name) { return strcmp(arg, name) == 0; }

/* The options of a command whose one option is a flag (kill --all, delete --force): sets *set when
 * given; false on any other option. */
static bool only_flag(int argc, char **argv, int *i, const char *name, const char *shortname, bool *set) {
  for (; *i < argc && argv[*i][0] == '-'; (*i)++) {
    if (!flag(argv[*i], name) && !flag(argv[*i], shortname)) return false;
    *set = true;
  }
  return true;
}

static int fail_usage(const char *what) {
  fprintf(stderr, "lxr-runtime: %s\n%s", what, usage);
  return 125;
}

static pid_t run_init = -1;
static void forward_signal(int sig) { kill(run_init, sig); }

/* run: create, start, wait for the init (this process is its parent), delete; exits as it did.
 * Signals for the runtime go to the container, as with runc run. */
static int run_to_end(const char *root, const char *id, pid_t init) {
  lxr_error err;
  int status = 0;
  run_init = init;
  static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH};
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
    sigaction(forwarded[i], &(struct sigaction){.sa_handler = forward_signal, .sa_flags = SA_RESTART}, NULL);
  if (lxr_cmd_start(root, id, &err) < 0) {
    fprintf(stderr, "lxr-runtime: %s\n", err.msg);
    status = 1;
  } else if (LXR_RETRY(waitpid(init, &status, 0)) < 0) {
    fprintf(stderr, "lxr-runtime: wait for the container: %s\n", strerror(errno));
    status = 1;
  } else {
    status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  if (lxr_cmd_delete(root, id, true, &err) < 0) {
    fprintf(stderr, "lxr-runtime: %s\n", err.msg);
    if (status == 0) status = 1;
  }
  return status;
}

int main(int argc, char **argv) {
  lxr_error err = {{0}};
  const char *root = LXR_DEFAULT_ROOT;
  int i = 1;
  /* Nothing the caller leaked reaches a container. */
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *v;
    if (option(argc, argv, &i, "--root", NULL, &root)) continue;
    /* runc's logging and driver options that callers pass: accepted, not needed */
    if (option(argc, argv, &i, "--log", NULL, &v) || option(argc, argv, &i, "--log-format", NULL, &v) ||
        flag(argv[i], "--debug"))
      continue;
    if (flag(argv[i], "--systemd-cgroup")) return fail_usage("--systemd-cgroup is not supported");
    if (flag(argv[i], "--help") || flag(argv[i], "-h")) {
      fputs(usage, stdout);
      return 0;
    }
    if (flag(argv[i], "--version") || flag(argv[i], "-v")) {
      puts("lxr-runtime version 0.1.0\nspec: 1.0.2");
      return 0;
    }
    return fail_usage("unknown global option");
  }
  if (i >= argc) return fail_usage("no command");
  char cache[4200];
  snprintf(cache, sizeof cache, "%s/.seccomp", root);
  lxr_seccomp_cache_dir = cache;
  const char *cmd = argv[i++];
  int r;
  if (!strcmp(cmd, "create") || !strcmp(cmd, "run")) {
    if (lxr_ensure_sealed_exe(argv, &err) < 0) goto fail;
    pid_t init = -1;
    struct lxr_create_opts o = {.root = root, .init_pid = cmd[0] == 'r' ? &init : NULL};
    for (; i < argc; i++) {
      if (option(argc, argv, &i, "--bundle", "-b", &o.bundle) || option(argc, argv, &i, "--pid-file", NULL, &o.pid_file) ||
          option(argc, argv, &i, "--console-socket", NULL, &o.console_socket) || flag(argv[i], "--no-new-keyring"))
        continue;
      if (argv[i][0] == '-') return fail_usage("unknown create option");
      if (o.id) return fail_usage("create takes one ID");
      o.id = argv[i];
    }
    if (!o.id) return fail_usage("create needs an ID");
    r = lxr_cmd_create(&o, &err);
    if (r == 0 && o.init_pid) return run_to_end(root, o.id, init);
  } else if (!strcmp(cmd, "exec")) {
    if (lxr_ensure_sealed_exe(argv, &err) < 0) goto fail;
    struct lxr_exec_opts o = {.root = root};
    const char *env[256];
    for (; i < argc && argv[i][0] == '-'; i++) {
      const char *v;
      if (flag(argv[i], "--")) {
        i++;
        break;
      }
      if (option(argc, argv, &i, "--process", "-p", &o.process_file) ||
          option(argc, argv, &i, "--console-socket", NULL, &o.console_socket) ||
          option(argc, argv, &i, "--pid-file", NULL, &o.pid_file) || option(argc, argv, &i, "--cwd", NULL, &o.cwd) ||
          option(argc, argv, &i, "--user", "-u", &o.user))
        continue;
      if (option(argc, argv, &i, "--env", "-e", &v)) {
        if (o.nenv == sizeof env / sizeof *env) return fail_usage("too many --env");
        env[o.nenv++] = v;
        continue;
      }
      if (flag(argv[i], "--tty") || flag(argv[i], "-t")) {
        o.tty = true;
        continue;
      }
      if (flag(argv[i], "--detach") || flag(argv[i], "-d")) {
        o.detach = true;
        continue;
      }
      return fail_usage("unknown exec option");
    }
    if (i >= argc) return fail_usage("exec needs an ID");
    o.id = argv[i++];
    o.env = env;
    o.args = i < argc ? argv + i : NULL;
    if (o.process_file && o.args) return fail_usage("exec takes either --process or a command");
    int status = 0;
    r = lxr_cmd_exec(&o, &status, &err);
    if (r == 0) return status;
  } else if (!strcmp(cmd, "start") || !strcmp(cmd, "state")) {
    if (i != argc - 1) return fail_usage("expected one ID");
    r = cmd[3] == 'r' ? lxr_cmd_start(root, argv[i], &err) : lxr_cmd_state(root, argv[i], &err);
  } else if (!strcmp(cmd, "kill")) {
    bool all = false;
    if (!only_flag(argc, argv, &i, "--all", "-a", &all)) return fail_usage("unknown kill option");
    if (i >= argc || argc - i > 2) return fail_usage("kill takes ID [SIGNAL]");
    r = lxr_cmd_kill(root, argv[i], i + 1 < argc ? argv[i + 1] : NULL, all, &err);
  } else if (!strcmp(cmd, "delete")) {
    bool force = false;
    if (!only_flag(argc, argv, &i, "--force", "-f", &force)) return fail_usage("unknown delete option");
    if (i != argc - 1) return fail_usage("delete takes one ID");
    r = lxr_cmd_delete(root, argv[i], force, &err);
  } else {
    return fail_usage("unknown command");
  }
  if (r == 0) return 0;
fail:
  fprintf(stderr, "lxr-runtime: %s\n", err.msg);
  return 1;
}
