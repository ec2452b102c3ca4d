// cli.h
// The pveam / pveum multi-call front end. The program's behaviour is chosen
// by the name it was started as (argv[0]): `pveam access ...` and the
// pveaudit parts of `pveum` are handled here; any other subcommand is handed
// to the system's own pveam/pveum (exec), so on a Proxmox node nothing is
// shadowed. Exit codes: 0 success, 1 the operation failed (e.g. the chain
// is broken, a file could not be read), 2 bad arguments (also an unknown
// time zone), 3 `pveam
// access status`: pveauditd is not running.
#pragma once

namespace pveaudit {

int RunMulticall(int argc, char** argv);

}  // namespace pveaudit
