// pveauditd: the daemon (tails sources, writes the store). Not implemented
// yet: the daemon issue builds it on top of the importer and store.
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc > 1 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))) {
    std::puts("pveauditd: the pveaudit daemon (not yet implemented).");
    std::puts("Until it lands, feed the store with: pveam access import FILE...");
    return 0;
  }
  std::fputs(
      "pveauditd: not yet implemented; use 'pveam access import FILE...' to feed the store\n",
      stderr);
  return 1;
}
