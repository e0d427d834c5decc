/* linux.resources.devices on cgroup v2: v2 has no devices controller; the kernel asks a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup instead. This builds one from the
 * rules: later rules win over earlier ones (as v1's allow/deny lists behave), so the program checks
 * them last to first and the first match decides; no match denies. runc's always-allowed standard
 * devices are appended after the config's rules, as on v1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>

#include "runtime.h"

#define MAX_INSNS 4096

struct program {
  struct bpf_insn insn[MAX_INSNS];
  size_t n;
};

static void emit(struct program *p, struct bpf_insn i) {
  if (p->n < MAX_INSNS) p->insn[p->n++] = i;
}

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

/* r2 = device type, r3 = requested access, r4 = major, r5 = minor */
static void prologue(struct program *p) {
  emit(p, insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0));
  emit(p, insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0));
  emit(p, insn(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff));
  emit(p, insn(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16));
  emit(p, insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, major), 0));
  emit(p, insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, minor), 0));
}

static int access_mask(const char *access) {
  int m = 0;
  if (strchr(access, 'm')) m |= BPF_DEVCG_ACC_MKNOD;
  if (strchr(access, 'r')) m |= BPF_DEVCG_ACC_READ;
  if (strchr(access, 'w')) m |= BPF_DEVCG_ACC_WRITE;
  return m;
}

/* One rule: its tests jump past the block ("next rule") when they do not match. Returns whether it
 * matches everything, after which nothing more is reachable (the verifier refuses dead code). */
static bool rule(struct program *p, const struct lxr_device_rule *r) {
  struct bpf_insn block[16];
  size_t n = 0;
  int mask = access_mask(r->access);
  if (r->type != 'a')
    block[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
                      r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
  if (mask != (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)) {
    /* allow: every requested access must be allowed; deny: any requested access denied */
    block[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_3, 0, 0);
    block[n++] = insn(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_6, 0, 0, r->allow ? ~mask : mask);
    block[n++] = insn(BPF_JMP | (r->allow ? BPF_JNE : BPF_JEQ), BPF_REG_6, 0, 0, 0);
  }
  if (r->major >= 0) block[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t)r->major);
  if (r->minor >= 0) block[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t)r->minor);
  block[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0);
  block[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  for (size_t i = 0; i < n; i++) {
    if (BPF_CLASS(block[i].code) == BPF_JMP && BPF_OP(block[i].code) != BPF_EXIT) block[i].off = (int16_t)(n - i - 1);
    emit(p, block[i]);
  }
  return n == 2;
}

static const struct lxr_device_rule always_allowed[] = {
    {true, 'c', -1, -1, "m"}, {true, 'b', -1, -1, "m"}, {true, 'c', 1, 3, "rwm"},   {true, 'c', 1, 5, "rwm"},
    {true, 'c', 1, 7, "rwm"}, {true, 'c', 1, 8, "rwm"}, {true, 'c', 1, 9, "rwm"},   {true, 'c', 5, 0, "rwm"},
    {true, 'c', 5, 1, "rwm"}, {true, 'c', 5, 2, "rwm"}, {true, 'c', 136, -1, "rwm"}, {true, 'c', 10, 200, "rwm"},
};

int lxr_devices_bpf_attach(const char *cgroup_dir, const struct lxr_resources *res, lxr_error *err) {
  static struct program prog;
  prog.n = 0;
  prologue(&prog);
  size_t nalways = sizeof always_allowed / sizeof *always_allowed;
  bool decided = false;
  for (size_t i = nalways; i-- > 0 && !decided;) decided = rule(&prog, &always_allowed[i]);
  for (size_t i = res->ndevice_rules; i-- > 0 && !decided;) decided = rule(&prog, &res->device_rules[i]);
  if (!decided) {
    emit(&prog, insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
    emit(&prog, insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  }
  if (prog.n >= MAX_INSNS) return lxr_fail(err, E2BIG, "linux.resources.devices: too many rules");
  static char log[8192];
  union bpf_attr load = {0};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = (uint64_t)(uintptr_t)prog.insn;
  load.insn_cnt = (uint32_t)prog.n;
  load.license = (uint64_t)(uintptr_t) "Apache-2.0";
  load.log_buf = (uint64_t)(uintptr_t)log;
  load.log_size = sizeof log;
  load.log_level = 1;
  int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
  if (fd < 0) return lxr_fail(err, errno, "load the device cgroup program (%.200s)", log);
  cleanup_close int prog_fd = fd;
  cleanup_close int dir = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return lxr_fail(err, errno, "open %s", cgroup_dir);
  union bpf_attr attach = {0};
  attach.target_fd = (uint32_t)dir;
  attach.attach_bpf_fd = (uint32_t)prog_fd;
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof attach) < 0)
    return lxr_fail(err, errno, "attach the device cgroup program to %s", cgroup_dir);
  return 0;
}
