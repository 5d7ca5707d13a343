// libjq (jq 1.6): Debian's libjq-dev ships no pkg-config file, so the module links "jq" itself.
#include <jv.h>
#include <jq.h>
