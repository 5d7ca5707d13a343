// Where Debian's libpq-dev puts it; no pkg-config here, whose flags would link libpq (CLazyLibraries opens it).
#include <postgresql/libpq-fe.h>
#include <spawn.h>

// Two GNU extensions the embedded cluster's launcher needs, so that none of ecom's descriptors leaks
// into the server it starts. glibc declares them only under _GNU_SOURCE, which Swift's Glibc module
// is not built with; both are in glibc since 2.34.
extern int pipe2(int pipefd[2], int flags);
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
