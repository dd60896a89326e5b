// libcurl, loaded the first time a webhook needs it (dlopen of libcurl.so.4,
// or of the file the environment variable WEIR_LIBCURL names) instead of
// linked: a process that delivers no webhook, such as every
// `weir filter` and `weir check`, then never maps libcurl and the two dozen
// libraries it pulls in (GnuTLS, Kerberos, LDAP, libssh2, ...), which were
// half the start-up time of the `weir` command (docs/performance.md,
// "Starting a process").
//
// Thread-safe: the library is loaded once per process, on the first call.
#ifndef WEIR_ACTIONS_CURL_API_H_
#define WEIR_ACTIONS_CURL_API_H_

#include <curl/curl.h>

#include <string>

namespace weir {

// The libcurl calls weir makes, with libcurl's own signatures.
struct CurlApi {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_reset) easy_reset;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_multi_init) multi_init;
  decltype(&::curl_multi_cleanup) multi_cleanup;
  decltype(&::curl_multi_setopt) multi_setopt;
  decltype(&::curl_multi_add_handle) multi_add_handle;
  decltype(&::curl_multi_remove_handle) multi_remove_handle;
  decltype(&::curl_multi_perform) multi_perform;
  decltype(&::curl_multi_poll) multi_poll;
  decltype(&::curl_multi_info_read) multi_info_read;
  decltype(&::curl_multi_wakeup) multi_wakeup;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
  decltype(&::curl_url) url;
  decltype(&::curl_url_cleanup) url_cleanup;
  decltype(&::curl_url_get) url_get;
  decltype(&::curl_url_set) url_set;
  decltype(&::curl_free) free;
};

// The loaded library, or nullptr when it cannot be loaded; then *error (if
// given) says why, e.g. "webhook actions need libcurl (Debian package
// libcurl4): libcurl.so.4: cannot open shared object file". The outcome of the
// first call is kept for the life of the process.
const CurlApi* LoadCurl(std::string* error = nullptr);

}  // namespace weir

#endif  // WEIR_ACTIONS_CURL_API_H_
