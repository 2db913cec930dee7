/*
 * memory.c: the resident memory (Linux /proc/self/statm) a C program holding
 * one model and one session uses, step by step, through edgelm.h alone.
 *
 *   edgelm_memory_c MODEL COMMANDS.jsonl|- [DOMAIN_DIR]
 *
 * Prints the resident set after start-up, after loading the model, after
 * opening the session (KV cache allocated, system prompt evaluated) and after
 * answering every command once ("text" fields; "-" for a few built-in ones).
 * Compare the growth with the model file's size plus the KV cache's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgelm.h"

static long resident_kib(void) {
  long pages_total = 0, pages_resident = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = -1;
  fclose(f);
  return pages_resident < 0 ? -1 : pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The "text" value of a JSONL line, if it is a plain string without escapes (enough for a memory probe). */
static int text_of(const char* line, char* out, size_t cap) {
  const char* p = strstr(line, "\"text\"");
  const char* end;
  if (!p) return 0;
  p = strchr(p + 6, '"');
  if (!p) return 0;
  end = strchr(p + 1, '"');
  if (!end || (size_t)(end - p - 1) >= cap || memchr(p + 1, '\\', (size_t)(end - p - 1))) return 0;
  memcpy(out, p + 1, (size_t)(end - p - 1));
  out[end - p - 1] = '\0';
  return 1;
}

int main(int argc, char** argv) {
  static const char* builtin[] = {"turn it on in sleep mode", "how is the air", "set a timer for 90 minutes"};
  edgelm_model* model = NULL;
  edgelm_session* session = NULL;
  edgelm_turn turn;
  long start, loaded, opened, answered, peak_turn = 0;
  int n = 0;
  char line[8192], text[4096];
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s MODEL COMMANDS.jsonl|- [DOMAIN_DIR]\n", argv[0]);
    return 2;
  }
  start = resident_kib();
  if (edgelm_model_load_file(argv[1], &model) != EDGELM_OK) return fprintf(stderr, "%s\n", edgelm_last_error()), 1;
  loaded = resident_kib();
  if (edgelm_session_open(model, argc == 4 ? argv[3] : NULL, NULL, &session) != EDGELM_OK)
    return fprintf(stderr, "%s\n", edgelm_last_error()), 1;
  opened = resident_kib();
  if (strcmp(argv[2], "-") == 0) {
    for (n = 0; n < 3; ++n)
      if (edgelm_session_reset(session) != EDGELM_OK ||
          edgelm_session_turn(session, builtin[n], NULL, NULL, &turn) != EDGELM_OK)
        return fprintf(stderr, "%s\n", edgelm_last_error()), 1;
  } else {
    FILE* f = fopen(argv[2], "r");
    if (!f) return fprintf(stderr, "cannot open %s\n", argv[2]), 1;
    while (fgets(line, sizeof line, f)) {
      long now;
      if (!text_of(line, text, sizeof text)) continue;
      if (edgelm_session_reset(session) != EDGELM_OK || edgelm_session_turn(session, text, NULL, NULL, &turn) != EDGELM_OK)
        return fprintf(stderr, "%s\n", edgelm_last_error()), 1;
      now = resident_kib();
      if (now > peak_turn) peak_turn = now;
      ++n;
    }
    fclose(f);
  }
  answered = resident_kib();
  printf("resident KiB: start %ld, model loaded %ld (+%ld), session open %ld (+%ld), after %d commands %ld (+%ld)\n",
         start, loaded, loaded - start, opened, opened - loaded, n, answered, answered - opened);
  printf("{\"bench\": \"capi_memory\", \"start_kib\": %ld, \"loaded_kib\": %ld, \"opened_kib\": %ld, "
         "\"answered_kib\": %ld, \"peak_turn_kib\": %ld, \"commands\": %d, \"weight_bytes\": %lld}\n",
         start, loaded, opened, answered, peak_turn, n, (long long)edgelm_model_weight_bytes(model));
  edgelm_session_free(session);
  edgelm_model_free(model);
  return 0;
}
