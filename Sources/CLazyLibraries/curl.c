// The libcurl functions FoundationNetworking calls (URLSession, the one-shot CLI's HTTP client),
// opened on first use; a one-shot command that calls the gateway opens libcurl as it starts
// (URLSessionTransport.prepareInBackground).
//
// Each is defined weak: the distributable ecom links a libcurl of its own (HTTP and HTTPS only,
// ecom_minimal_curl in .ci/lib.sh), whose definitions then take their place, and nothing is
// opened (loader.c).
#include <stdarg.h>
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

// curl.h makes these three macros that check the count of their arguments; they are defined here.
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt

#include "loader.h"

#define CURL_FORWARD(result, name, parameters, arguments) \
    __attribute__((weak)) ECOM_FORWARD(ecom_lazy_curl, result, name, parameters, arguments)
#define CURL_FORWARD_VOID(name, parameters, arguments) \
    __attribute__((weak)) ECOM_FORWARD_VOID(ecom_lazy_curl, name, parameters, arguments)

CURL_FORWARD(CURLcode, curl_global_init, (long flags), (flags))
CURL_FORWARD(char *, curl_version, (void), ())
CURL_FORWARD(curl_version_info_data *, curl_version_info, (CURLversion version), (version))
CURL_FORWARD_VOID(curl_free, (void *p), (p))

CURL_FORWARD(CURL *, curl_easy_init, (void), ())
CURL_FORWARD_VOID(curl_easy_cleanup, (CURL *curl), (curl))
CURL_FORWARD(CURLcode, curl_easy_pause, (CURL *handle, int bitmask), (handle, bitmask))
CURL_FORWARD(const char *, curl_easy_strerror, (CURLcode code), (code))

CURL_FORWARD(CURLM *, curl_multi_init, (void), ())
CURL_FORWARD(CURLMcode, curl_multi_cleanup, (CURLM *multi_handle), (multi_handle))
CURL_FORWARD(CURLMcode, curl_multi_add_handle, (CURLM *multi_handle, CURL *curl_handle), (multi_handle, curl_handle))
CURL_FORWARD(CURLMcode, curl_multi_remove_handle, (CURLM *multi_handle, CURL *curl_handle), (multi_handle, curl_handle))
CURL_FORWARD(CURLMcode, curl_multi_assign, (CURLM *multi_handle, curl_socket_t sockfd, void *sockp),
             (multi_handle, sockfd, sockp))
CURL_FORWARD(CURLMsg *, curl_multi_info_read, (CURLM *multi_handle, int *msgs_in_queue), (multi_handle, msgs_in_queue))
CURL_FORWARD(CURLMcode, curl_multi_socket_action, (CURLM *multi_handle, curl_socket_t s, int ev_bitmask, int *running_handles),
             (multi_handle, s, ev_bitmask, running_handles))

CURL_FORWARD(struct curl_slist *, curl_slist_append, (struct curl_slist *list, const char *data), (list, data))
CURL_FORWARD_VOID(curl_slist_free_all, (struct curl_slist *list), (list))

CURL_FORWARD(CURLU *, curl_url, (void), ())
CURL_FORWARD(CURLUcode, curl_url_get, (CURLU *handle, CURLUPart what, char **part, unsigned int flags),
             (handle, what, part, flags))
CURL_FORWARD(CURLUcode, curl_url_set, (CURLU *handle, CURLUPart what, const char *part, unsigned int flags),
             (handle, what, part, flags))

// The variadic three take exactly one argument after the option, whose type the option's number
// says (CURLOPTTYPE_*); each is passed on as libcurl itself reads it.

typedef void (*curl_function_argument)(void);

#define CURL_PASS_OPTION(function, handle, option, arguments)                                      \
    ((option) < CURLOPTTYPE_OBJECTPOINT     ? function(handle, option, va_arg(arguments, long))      \
     : (option) < CURLOPTTYPE_FUNCTIONPOINT ? function(handle, option, va_arg(arguments, void *))    \
     : (option) < CURLOPTTYPE_OFF_T         ? function(handle, option, va_arg(arguments, curl_function_argument)) \
     : (option) < CURLOPTTYPE_BLOB          ? function(handle, option, va_arg(arguments, curl_off_t)) \
                                            : function(handle, option, va_arg(arguments, void *)))

#define CURL_FORWARD_OPTION(result, name, handle_type, option_type)                                 \
    __attribute__((weak)) result name(handle_type *handle, option_type option, ...) {               \
        static void *cache;                                                                         \
        __typeof__(&name) function = ecom_lazy_function(&ecom_lazy_curl, #name, &cache);            \
        va_list arguments;                                                                          \
        va_start(arguments, option);                                                                \
        result code = CURL_PASS_OPTION(function, handle, option, arguments);                        \
        va_end(arguments);                                                                          \
        return code;                                                                                \
    }

CURL_FORWARD_OPTION(CURLcode, curl_easy_setopt, CURL, CURLoption)
CURL_FORWARD_OPTION(CURLMcode, curl_multi_setopt, CURLM, CURLMoption)

// Every CURLINFO is read into what a pointer argument points at.
__attribute__((weak)) CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...) {
    static void *cache;
    __typeof__(&curl_easy_getinfo) function = ecom_lazy_function(&ecom_lazy_curl, "curl_easy_getinfo", &cache);
    va_list arguments;
    va_start(arguments, info);
    CURLcode code = function(curl, info, va_arg(arguments, void *));
    va_end(arguments);
    return code;
}
