/* lxr-monitor: `lxr-monitor --id … --sync-fd N` supervises one container (container.c);
 * `lxr-monitor exec …` runs one exec session (exec.c). See docs of the native contract. */
#include <string.h>

#include "monitor.h"

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "exec") == 0) return exec_main(argc, argv);
  return container_main(argc, argv);
}
