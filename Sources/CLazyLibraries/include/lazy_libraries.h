#ifndef ECOM_LAZY_LIBRARIES_H
#define ECOM_LAZY_LIBRARIES_H

// libcurl, libpq and librabbitmq, opened when first called rather than when ecom starts.
//
// Together they bring in some thirty more libraries (Kerberos, LDAP, GnuTLS, OpenSSL, ...) whose
// loading, relocation and constructors cost about 8 ms of every start, more than the rest of
// `ecom --version`. A one-shot command that calls the gateway needs libcurl only, and opens it as
// it starts (URLSessionTransport.prepareInBackground); `ecom serve` needs libpq and librabbitmq.
// ecom defines the functions of these libraries it calls; each forwards to the library's own,
// found with dlsym after a dlopen of the library's soname the first time any is called.

#include <stddef.h>

typedef enum {
    ECOM_LIBRARY_CURL,
    ECOM_LIBRARY_PQ,
    ECOM_LIBRARY_RABBITMQ,
} ecom_library;

/// Opens `library` now, if it is not open yet: 0, or -1 with the loader's reason in `error`
/// (cut to `size`). A process that cannot open a library it calls later stops with that reason
/// and status 127, as it would have at start had the library been linked as usual.
int ecom_library_open(ecom_library library, char *error, size_t size);

/// The library's file name (`libpq.so.5`).
const char *ecom_library_soname(ecom_library library);

#endif
