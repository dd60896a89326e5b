/* weir/weir_c.h: weir's C API, for programs in other languages.
 *
 * Thread safety: a weir_engine may be shared by any number of threads.
 * weir_engine_add_text/_add_file/_remove are serialized inside and publish a
 * new compiled snapshot; matching threads are never blocked by them. A
 * weir_matcher is per-thread scratch: use each from one thread at a time
 * (give each thread its own); it matches on the engine's snapshot current at
 * each call. Nothing is thrown across this API; every failure is a
 * weir_status with a message in the caller's weir_error.
 *
 * Memory: everything passed in is copied or only read during the call;
 * everything passed out goes into buffers the caller owns.
 */
#ifndef WEIR_WEIR_C_H_
#define WEIR_WEIR_C_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum weir_status {
  WEIR_OK = 0,
  WEIR_ERR_RULES = 1,       /* rule text with mistakes: see line, column, message */
  WEIR_ERR_EVENT = 2,       /* the event is not exactly one JSON object (or over a limit) */
  WEIR_ERR_NOT_FOUND = 3,   /* no rule with this id */
  WEIR_ERR_EXISTS = 4,      /* a rule with this id exists already (and replace was 0) */
  WEIR_ERR_IO = 5,          /* a file could not be read */
  WEIR_ERR_BUFFER = 6,      /* the caller's buffer is too small: *needed says how big */
  WEIR_ERR_ARGUMENT = 7,    /* a null pointer where one is not allowed */
  WEIR_ERR_INTERNAL = 8
} weir_status;

/* What went wrong. line and column (1-based, 0 if none) are those of the
 * first problem; message lists every problem, one a line, as
 * "NAME:LINE:COLUMN: rule 'ID': message" (cut to fit). */
typedef struct weir_error {
  weir_status code;
  int line;
  int column;
  char message[2048];
} weir_error;

typedef struct weir_engine weir_engine;
typedef struct weir_matcher weir_matcher;

/* "0.1.0" */
const char* weir_version(void);

/* An engine with no rules; NULL only if out of memory. */
weir_engine* weir_engine_new(void);
void weir_engine_free(weir_engine* engine);

/* Adds every rule of a rule file's text (YAML or JSON), or none on a
 * mistake. `name` names the text in messages (NULL: "<rules>"). A rule whose
 * id exists is WEIR_ERR_EXISTS unless `replace` is non-zero. `error` may be
 * NULL. */
weir_status weir_engine_add_text(weir_engine* engine, const char* text, size_t length,
                                 const char* name, int replace, weir_error* error);
/* The same with a rule file read from `path`. */
weir_status weir_engine_add_file(weir_engine* engine, const char* path, int replace,
                                 weir_error* error);
/* Removes the rule with this id (NUL-terminated). */
weir_status weir_engine_remove(weir_engine* engine, const char* rule_id, weir_error* error);
/* Rules in the current snapshot. */
size_t weir_engine_rule_count(weir_engine* engine);

/* Per-thread matching scratch for `engine` (which must outlive it). */
weir_matcher* weir_matcher_new(weir_engine* engine);
void weir_matcher_free(weir_matcher* matcher);

/* Matches one event (`length` bytes of JSON). The ids of the matching rules,
 * in rule order, are written to `ids` one after another, each followed by a
 * NUL byte; *count is how many, *needed the bytes they take. If they do not
 * fit in `ids_size` bytes, nothing is written and WEIR_ERR_BUFFER is
 * returned (call again with *needed bytes). `ids` may be NULL when
 * ids_size is 0; `count` and `needed` may be NULL. */
weir_status weir_match(weir_matcher* matcher, const char* event, size_t length, char* ids,
                       size_t ids_size, size_t* count, size_t* needed, weir_error* error);

#ifdef __cplusplus
}
#endif

#endif /* WEIR_WEIR_C_H_ */
