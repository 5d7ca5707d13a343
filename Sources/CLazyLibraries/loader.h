#ifndef ECOM_LAZY_LOADER_H
#define ECOM_LAZY_LOADER_H

// What the forwarding functions share; not part of the module's interface.

struct ecom_lazy_library {
    const char *soname;
    void *handle;
};

extern struct ecom_lazy_library ecom_lazy_curl, ecom_lazy_pq, ecom_lazy_rabbitmq;

/// The library's function `name`, cached in `*cache`; opens the library the first time. A library
/// or function that cannot be found stops the process (status 127).
void *ecom_lazy_function(struct ecom_lazy_library *library, const char *name, void **cache);

/// Defines `name` with `parameters` to call the library's own with `arguments`. `__typeof__` makes
/// the compiler check the definition against the library's header.
#define ECOM_FORWARD(library, result, name, parameters, arguments)                                  \
    result name parameters {                                                                        \
        static void *cache;                                                                         \
        return ((__typeof__(&name))ecom_lazy_function(&library, #name, &cache)) arguments;          \
    }

#define ECOM_FORWARD_VOID(library, name, parameters, arguments)                                     \
    void name parameters {                                                                          \
        static void *cache;                                                                         \
        ((__typeof__(&name))ecom_lazy_function(&library, #name, &cache)) arguments;                 \
    }

#endif
