// pveam / pveum: the pveaudit command line (one multi-call binary; the
// name it is started as selects the tool). All logic lives in src/cli.
#include "cli/cli.h"

int main(int argc, char** argv) { return pveaudit::RunMulticall(argc, argv); }
