#include "actions/curl_api.h"

#include <dlfcn.h>

#include <cstdlib>

// The libcurl weir was built against (actions/CMakeLists.txt), e.g.
// libcurl-gnutls.so.4 when built with libcurl4-gnutls-dev.
#ifndef WEIR_LIBCURL_SONAME
#define WEIR_LIBCURL_SONAME "libcurl.so.4"
#endif

namespace weir {
namespace {

// What weir asks of libcurl: curl_multi_poll and curl_multi_wakeup (7.68) and
// CURLOPT_PROTOCOLS_STR, which keeps webhooks to http and https (7.85).
constexpr unsigned kMinVersion = 0x075500;

struct Loaded {
  CurlApi api{};
  bool ok = false;
  std::string error;
};

// Each symbol by its libcurl name; false (with the name) if one is missing,
// which a libcurl older than 7.68 (curl_multi_poll, curl_multi_wakeup) is.
template <typename F>
bool Get(void* lib, const char* name, F* out, std::string* error) {
  void* sym = dlsym(lib, name);
  if (!sym) {
    *error = std::string("webhook actions need libcurl 7.85 or later: the loaded libcurl has no ") +
             name;
    return false;
  }
  *out = reinterpret_cast<F>(sym);
  return true;
}

Loaded Load() {
  Loaded l;
  // WEIR_LIBCURL names another build of libcurl 4 (a path or a file name).
  const char* env = std::getenv("WEIR_LIBCURL");
  const std::string name = env && *env ? env : WEIR_LIBCURL_SONAME;
  // RTLD_LOCAL: libcurl's symbols stay out of the process's global scope.
  void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = dlerror();
    l.error = std::string("webhook actions need libcurl (Debian package libcurl4): ") +
              (why ? why : name + " cannot be loaded");
    return l;
  }
  CurlApi& a = l.api;
  std::string& e = l.error;
  l.ok = Get(lib, "curl_global_init", &a.global_init, &e) &&
         Get(lib, "curl_easy_init", &a.easy_init, &e) &&
         Get(lib, "curl_easy_cleanup", &a.easy_cleanup, &e) &&
         Get(lib, "curl_easy_reset", &a.easy_reset, &e) &&
         Get(lib, "curl_easy_setopt", &a.easy_setopt, &e) &&
         Get(lib, "curl_easy_getinfo", &a.easy_getinfo, &e) &&
         Get(lib, "curl_easy_strerror", &a.easy_strerror, &e) &&
         Get(lib, "curl_multi_init", &a.multi_init, &e) &&
         Get(lib, "curl_multi_cleanup", &a.multi_cleanup, &e) &&
         Get(lib, "curl_multi_setopt", &a.multi_setopt, &e) &&
         Get(lib, "curl_multi_add_handle", &a.multi_add_handle, &e) &&
         Get(lib, "curl_multi_remove_handle", &a.multi_remove_handle, &e) &&
         Get(lib, "curl_multi_perform", &a.multi_perform, &e) &&
         Get(lib, "curl_multi_poll", &a.multi_poll, &e) &&
         Get(lib, "curl_multi_info_read", &a.multi_info_read, &e) &&
         Get(lib, "curl_multi_wakeup", &a.multi_wakeup, &e) &&
         Get(lib, "curl_slist_append", &a.slist_append, &e) &&
         Get(lib, "curl_slist_free_all", &a.slist_free_all, &e) &&
         Get(lib, "curl_url", &a.url, &e) && Get(lib, "curl_url_cleanup", &a.url_cleanup, &e) &&
         Get(lib, "curl_url_get", &a.url_get, &e) && Get(lib, "curl_url_set", &a.url_set, &e) &&
         Get(lib, "curl_free", &a.free, &e);
  if (l.ok) {
    decltype(&::curl_version_info) version_info = nullptr;
    l.ok = Get(lib, "curl_version_info", &version_info, &e);
    const curl_version_info_data* v = l.ok ? version_info(CURLVERSION_NOW) : nullptr;
    if (l.ok && (!v || v->version_num < kMinVersion)) {
      l.ok = false;
      e = std::string("webhook actions need libcurl 7.85 or later; ") + name + " is " +
          (v && v->version ? v->version : "older");
    }
  }
  // The library stays loaded for the life of the process (the delivery
  // thread may use it until exit), as a linked one would.
  return l;
}

}  // namespace

const CurlApi* LoadCurl(std::string* error) {
  static const Loaded* loaded = new Loaded(Load());
  if (!loaded->ok) {
    if (error) *error = loaded->error;
    return nullptr;
  }
  return &loaded->api;
}

}  // namespace weir
