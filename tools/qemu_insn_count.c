/*
 * A QEMU TCG plugin that counts the guest instructions a program executes and
 * prints the total to standard error at exit:
 *   qemu-aarch64 -plugin ./qemu_insn_count.so -L /usr/aarch64-linux-gnu PROGRAM ...
 *   -> "qemu_insn_count: 123456789 instructions"
 * scripts/bench-aarch64 builds it for the build machine and uses it for the
 * instructions per decoded token of the aarch64 build.
 *
 * Debian ships qemu-user with plugin support (it exports the qemu_plugin_*
 * functions) but neither QEMU's plugin header nor its example plugins, so the
 * few entry points used here are declared below as QEMU 7.2's plugin API
 * (version 1) defines them. scripts/bench-aarch64 checks the count against
 * QEMU's own one-instruction-per-block execution log on a small program before
 * trusting it.
 *
 * Each translated block adds its instruction count to one counter when it
 * runs (an inline add: no call per block). The add is not atomic, so the
 * counted program must run one thread (edgelm --threads 1).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef uint64_t plugin_id;
struct qemu_plugin_tb; /* opaque: a block being translated */

/* The only inline operation of API version 1: *ptr += imm (64-bit). */
enum { kInlineAddU64 = 0 };

extern void qemu_plugin_register_vcpu_tb_trans_cb(plugin_id id, void (*cb)(plugin_id, struct qemu_plugin_tb*));
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb* tb);
extern void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb* tb, int op, void* ptr, uint64_t imm);
extern void qemu_plugin_register_atexit_cb(plugin_id id, void (*cb)(plugin_id, void*), void* userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t executed;

static void on_translate(plugin_id id, struct qemu_plugin_tb* tb) {
  (void)id;
  qemu_plugin_register_vcpu_tb_exec_inline(tb, kInlineAddU64, &executed, qemu_plugin_tb_n_insns(tb));
}

static void on_exit(plugin_id id, void* userdata) {
  (void)id;
  (void)userdata;
  fprintf(stderr, "qemu_insn_count: %" PRIu64 " instructions\n", executed);
}

__attribute__((visibility("default"))) int qemu_plugin_install(plugin_id id, const void* info, int argc, char** argv) {
  (void)info;
  (void)argc;
  (void)argv;
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_exit, NULL);
  return 0;
}
