/* The C API from C (compiled as C11): compile from text and from a file, add
 * and remove rules, match with caller-owned buffers, errors with positions,
 * a too-small buffer, malformed events. Prints "N passed, N failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/weir_c.h"

static int passed = 0, failed = 0;

#define CHECK(cond)                                                  \
  do {                                                               \
    if (cond) {                                                      \
      ++passed;                                                      \
    } else {                                                         \
      ++failed;                                                      \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                \
  } while (0)

static const char kRules[] =
    "rules:\n"
    "  - id: faulted-bench-jobs\n"
    "    pattern: {Type: [job.faulted], Job: {Robot: {Name: [{prefix: bench-}]}}}\n"
    "  - id: any-job\n"
    "    filter: {Type: \"job.*\"}\n";

static const char kEvent[] = "{\"Type\":\"job.faulted\",\"Job\":{\"Robot\":{\"Name\":\"bench-7\"}}}";

int main(int argc, char** argv) {
  weir_error err;
  char ids[256];
  size_t count = 0, needed = 0;
  weir_engine* e = weir_engine_new();
  CHECK(e != NULL);
  CHECK(strlen(weir_version()) > 0);

  CHECK(weir_engine_add_text(e, kRules, strlen(kRules), "rules.yaml", 0, &err) == WEIR_OK);
  CHECK(weir_engine_rule_count(e) == 2);
  weir_matcher* m = weir_matcher_new(e);
  CHECK(m != NULL);
  CHECK(weir_match(m, kEvent, strlen(kEvent), ids, sizeof ids, &count, &needed, &err) == WEIR_OK);
  CHECK(count == 2);
  CHECK(strcmp(ids, "faulted-bench-jobs") == 0);
  CHECK(strcmp(ids + strlen(ids) + 1, "any-job") == 0);
  CHECK(needed == strlen("faulted-bench-jobs") + 1 + strlen("any-job") + 1);

  /* Too small: nothing written, the size needed told. */
  char small[4] = "xyz";
  CHECK(weir_match(m, kEvent, strlen(kEvent), small, sizeof small, &count, &needed, &err) ==
        WEIR_ERR_BUFFER);
  CHECK(strcmp(small, "xyz") == 0);
  CHECK(needed == 27);
  CHECK(weir_match(m, kEvent, strlen(kEvent), NULL, 0, &count, &needed, NULL) == WEIR_ERR_BUFFER);

  /* No match, and malformed events. */
  const char* none = "{\"Type\":\"robot.connected\"}";
  CHECK(weir_match(m, none, strlen(none), ids, sizeof ids, &count, NULL, &err) == WEIR_OK);
  CHECK(count == 0);
  const char* bad[] = {"{\"Type\":\"job.faulted\"", "[1,2]", "{\"a\":1} {}", "not json"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    CHECK(weir_match(m, bad[i], strlen(bad[i]), ids, sizeof ids, &count, NULL, &err) ==
          WEIR_ERR_EVENT);
    CHECK(err.code == WEIR_ERR_EVENT && strlen(err.message) > 0);
  }

  /* Mistakes: all reported with positions, nothing added. */
  const char* wrong =
      "rules:\n  - id: fine\n    filter: {a: b}\n  - id: broken\n    pattern: {a: [{nope: 1}]}\n";
  CHECK(weir_engine_add_text(e, wrong, strlen(wrong), "wrong.yaml", 0, &err) == WEIR_ERR_RULES);
  CHECK(err.line == 5 && err.column > 0);
  CHECK(strstr(err.message, "wrong.yaml:5:") != NULL && strstr(err.message, "rule 'broken'") != NULL);
  CHECK(weir_engine_rule_count(e) == 2);

  /* An existing id, then replace; remove; a missing id. */
  const char* again = "rules: [{id: any-job, filter: {Type: \"robot.*\"}}]";
  CHECK(weir_engine_add_text(e, again, strlen(again), NULL, 0, &err) == WEIR_ERR_EXISTS);
  CHECK(weir_engine_add_text(e, again, strlen(again), NULL, 1, &err) == WEIR_OK);
  CHECK(weir_match(m, none, strlen(none), ids, sizeof ids, &count, NULL, &err) == WEIR_OK);
  CHECK(count == 1 && strcmp(ids, "any-job") == 0);
  CHECK(weir_engine_remove(e, "any-job", &err) == WEIR_OK);
  CHECK(weir_engine_remove(e, "any-job", &err) == WEIR_ERR_NOT_FOUND);
  CHECK(weir_match(m, none, strlen(none), ids, sizeof ids, &count, NULL, &err) == WEIR_OK);
  CHECK(count == 0);

  /* From a file, and a file that is not there. */
  if (argc > 1) {
    CHECK(weir_engine_add_file(e, argv[1], 0, &err) == WEIR_OK);
    CHECK(weir_engine_rule_count(e) > 1);
  }
  CHECK(weir_engine_add_file(e, "/nonexistent/rules.yaml", 0, &err) == WEIR_ERR_IO);
  CHECK(strstr(err.message, "/nonexistent/rules.yaml") != NULL);
  CHECK(weir_engine_add_text(NULL, kRules, strlen(kRules), NULL, 0, &err) == WEIR_ERR_ARGUMENT);

  weir_matcher_free(m);
  weir_engine_free(e);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
