#include "lazy_libraries.h"
#include "loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct ecom_lazy_library ecom_lazy_curl = {"libcurl.so.4", NULL};
struct ecom_lazy_library ecom_lazy_pq = {"libpq.so.5", NULL};
struct ecom_lazy_library ecom_lazy_rabbitmq = {"librabbitmq.so.4", NULL};

static struct ecom_lazy_library *library_named(ecom_library library) {
    switch (library) {
    case ECOM_LIBRARY_CURL: return &ecom_lazy_curl;
    case ECOM_LIBRARY_PQ: return &ecom_lazy_pq;
    case ECOM_LIBRARY_RABBITMQ: return &ecom_lazy_rabbitmq;
    }
    return NULL;
}

const char *ecom_library_soname(ecom_library library) {
    return library_named(library)->soname;
}

// Two threads may both open a library the first time: dlopen is thread-safe and counts
// references, so both get the one handle. RTLD_LAZY, as the loader binds the libraries an
// executable links: each function of the thirty libraries is bound when first called, not all
// of them at the open (RTLD_NOW made a one-shot request about 0.8 ms slower).
static void *open_library(struct ecom_lazy_library *library, char *error, size_t size) {
    void *handle = __atomic_load_n(&library->handle, __ATOMIC_ACQUIRE);
    if (handle != NULL) return handle;
    handle = dlopen(library->soname, RTLD_LAZY | RTLD_LOCAL);
    if (handle == NULL) {
        const char *reason = dlerror();
        snprintf(error, size, "%s", reason != NULL ? reason : library->soname);
        return NULL;
    }
    __atomic_store_n(&library->handle, handle, __ATOMIC_RELEASE);
    return handle;
}

// A libcurl function that curl.c does not define: present only when libcurl is linked into the
// binary (the distributable ecom) or loaded with it (a build that links the system's), when
// there is nothing to open.
extern void curl_global_sslset(void) __attribute__((weak));

int ecom_library_open(ecom_library library, char *error, size_t size) {
    if (library == ECOM_LIBRARY_CURL && curl_global_sslset != NULL) return 0;
    return open_library(library_named(library), error, size) != NULL ? 0 : -1;
}

static void stop(const char *reason) {
    // What the dynamic loader says at start when a library is missing, and its status.
    char line[600];
    int length = snprintf(line, sizeof line, "ecom: error while loading shared libraries: %s\n", reason);
    if (length > 0) (void)!write(STDERR_FILENO, line, (size_t)length < sizeof line ? (size_t)length : sizeof line - 1);
    _exit(127);
}

void *ecom_lazy_function(struct ecom_lazy_library *library, const char *name, void **cache) {
    void *function = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
    if (function != NULL) return function;
    char error[512];
    void *handle = open_library(library, error, sizeof error);
    if (handle == NULL) stop(error);
    function = dlsym(handle, name);
    if (function == NULL) {
        snprintf(error, sizeof error, "%s: undefined symbol: %s", library->soname, name);
        stop(error);
    }
    __atomic_store_n(cache, function, __ATOMIC_RELEASE);
    return function;
}
