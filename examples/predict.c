/*
 * predict.c: `edgelm predict` through the C API alone (C99 and edgelm.h).
 *
 *   edgelm_predict_c MODEL INPUT.jsonl OUTPUT.jsonl [DOMAIN_DIR]
 *
 * Reads lines {"id": ..., "text": "..."} or {"id": ..., "messages": [...]}
 * and writes one line per input, {"id", "calls", "reply", "tokens_generated",
 * "latency_ms"} (plus "error" when the answer was not valid), as `edgelm
 * predict` does: each command is answered on a device in its initial state;
 * a conversation's earlier turns are replayed on it first and its last user
 * message answered (edgelm_session_turn_messages). The reply streams to
 * stderr with -v.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelm.h"

/* A growable byte buffer. */
typedef struct {
  char* data;
  size_t size, cap;
} Buf;

static int buf_put(Buf* b, const char* s, size_t n) {
  if (b->size + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    char* p;
    while (cap < b->size + n + 1) cap *= 2;
    p = (char*)realloc(b->data, cap);
    if (!p) return 0;
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->size, s, n);
  b->size += n;
  b->data[b->size] = '\0';
  return 1;
}

static int buf_putc(Buf* b, char c) { return buf_put(b, &c, 1); }

static int put_utf8(Buf* b, unsigned long cp) {
  char s[4];
  if (cp < 0x80) return buf_putc(b, (char)cp);
  if (cp < 0x800) {
    s[0] = (char)(0xC0 | (cp >> 6)), s[1] = (char)(0x80 | (cp & 0x3F));
    return buf_put(b, s, 2);
  }
  if (cp < 0x10000) {
    s[0] = (char)(0xE0 | (cp >> 12)), s[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), s[2] = (char)(0x80 | (cp & 0x3F));
    return buf_put(b, s, 3);
  }
  s[0] = (char)(0xF0 | (cp >> 18)), s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  s[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), s[3] = (char)(0x80 | (cp & 0x3F));
  return buf_put(b, s, 4);
}

static const char* skip_ws(const char* p) {
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') ++p;
  return p;
}

static int hex4(const char* p, unsigned long* out) {
  int i;
  *out = 0;
  for (i = 0; i < 4; ++i) {
    char c = p[i];
    *out <<= 4;
    if (c >= '0' && c <= '9') *out |= (unsigned long)(c - '0');
    else if (c >= 'a' && c <= 'f') *out |= (unsigned long)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') *out |= (unsigned long)(c - 'A' + 10);
    else return 0;
  }
  return 1;
}

/* Parses the JSON string at p (at its opening quote) into out (if not NULL);
 * returns the character after the closing quote, or NULL if malformed. */
static const char* parse_string(const char* p, Buf* out) {
  if (*p != '"') return NULL;
  for (++p; *p && *p != '"'; ++p) {
    if (*p != '\\') {
      if (out && !buf_putc(out, *p)) return NULL;
      continue;
    }
    ++p;
    switch (*p) {
      case '"': case '\\': case '/': if (out && !buf_putc(out, *p)) return NULL; break;
      case 'b': if (out && !buf_putc(out, '\b')) return NULL; break;
      case 'f': if (out && !buf_putc(out, '\f')) return NULL; break;
      case 'n': if (out && !buf_putc(out, '\n')) return NULL; break;
      case 'r': if (out && !buf_putc(out, '\r')) return NULL; break;
      case 't': if (out && !buf_putc(out, '\t')) return NULL; break;
      case 'u': {
        unsigned long cp, lo;
        if (!hex4(p + 1, &cp)) return NULL;
        p += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && p[1] == '\\' && p[2] == 'u' && hex4(p + 3, &lo) && lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p += 6;
        }
        if (out && !put_utf8(out, cp)) return NULL;
        break;
      }
      default: return NULL;
    }
  }
  return *p == '"' ? p + 1 : NULL;
}

/* Skips any JSON value; returns the character after it, or NULL. */
static const char* skip_value(const char* p) {
  int depth = 0;
  p = skip_ws(p);
  do {
    if (*p == '"') {
      p = parse_string(p, NULL);
      if (!p) return NULL;
    } else if (*p == '{' || *p == '[') {
      ++depth, ++p;
    } else if (*p == '}' || *p == ']') {
      if (--depth < 0) return NULL;
      ++p;
    } else if (*p) {
      while (*p && !strchr(",}] \t\r\n", *p)) ++p;
      if (depth == 0) return p;
      if (*p == ',' || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') ++p;
    } else {
      return NULL;
    }
    if (depth > 0) p = skip_ws(p), p = (*p == ',' || *p == ':') ? p + 1 : p;
  } while (depth > 0);
  return p;
}

/* Finds "id" and "messages" (their raw JSON text) and "text" (decoded) in one
 * line's object, which must hold "text" or "messages". */
static int parse_line(const char* line, Buf* id, Buf* text, Buf* messages) {
  const char* p = skip_ws(line);
  if (*p != '{') return 0;
  p = skip_ws(p + 1);
  while (*p && *p != '}') {
    Buf key = {NULL, 0, 0};
    const char* value;
    int ok;
    p = parse_string(p, &key);
    if (!p) return 0;
    p = skip_ws(p);
    if (*p != ':') return free(key.data), 0;
    value = skip_ws(p + 1);
    if (key.data && strcmp(key.data, "text") == 0) p = parse_string(value, text);
    else p = skip_value(value);
    ok = p != NULL;
    if (ok && key.data && strcmp(key.data, "id") == 0) ok = buf_put(id, value, (size_t)(p - value));
    if (ok && key.data && strcmp(key.data, "messages") == 0) ok = buf_put(messages, value, (size_t)(p - value));
    free(key.data);
    if (!ok) return 0;
    p = skip_ws(p);
    if (*p == ',') p = skip_ws(p + 1);
  }
  return *p == '}' && (text->data != NULL || messages->data != NULL);
}

static int put_json_string(Buf* b, const char* s) {
  int ok = buf_putc(b, '"');
  for (; ok && *s; ++s) {
    unsigned char c = (unsigned char)*s;
    char esc[8];
    if (c == '"' || c == '\\') ok = buf_putc(b, '\\') && buf_putc(b, (char)c);
    else if (c == '\n') ok = buf_put(b, "\\n", 2);
    else if (c < 0x20) sprintf(esc, "\\u%04x", c), ok = buf_put(b, esc, 6);
    else ok = buf_putc(b, (char)c);
  }
  return ok && buf_putc(b, '"');
}

static void stream_to_stderr(const char* text, size_t length, void* user_data) {
  (void)user_data;
  fwrite(text, 1, length, stderr);
}

int main(int argc, char** argv) {
  const char* domain = NULL;
  int verbose = 0, argi = 1, lines = 0, failures = 0;
  edgelm_model* model = NULL;
  edgelm_session* session = NULL;
  FILE *in, *out;
  char* line = NULL;
  size_t line_cap = 0;
  if (argi < argc && strcmp(argv[argi], "-v") == 0) verbose = 1, ++argi;
  if (argc - argi < 3 || argc - argi > 4) {
    fprintf(stderr, "usage: %s [-v] MODEL INPUT.jsonl OUTPUT.jsonl [DOMAIN_DIR]\n", argv[0]);
    return 2;
  }
  if (argc - argi == 4) domain = argv[argi + 3];
  if (edgelm_model_load_file(argv[argi], &model) != EDGELM_OK ||
      edgelm_session_open(model, domain, NULL, &session) != EDGELM_OK) {
    fprintf(stderr, "%s\n", edgelm_last_error());
    edgelm_model_free(model);
    return 1;
  }
  in = fopen(argv[argi + 1], "rb");
  out = fopen(argv[argi + 2], "wb");
  if (!in || !out) {
    fprintf(stderr, "cannot open %s\n", !in ? argv[argi + 1] : argv[argi + 2]);
    return 1;
  }
  for (;;) {
    Buf id = {NULL, 0, 0}, text = {NULL, 0, 0}, messages = {NULL, 0, 0}, result = {NULL, 0, 0};
    size_t n = 0;
    int c, ok;
    edgelm_turn turn;
    char number[64];
    /* One line, whatever its length. */
    while ((c = fgetc(in)) != EOF && c != '\n') {
      if (n + 2 > line_cap) {
        char* p = (char*)realloc(line, line_cap = line_cap ? line_cap * 2 : 1024);
        if (!p) return 1;
        line = p;
      }
      line[n++] = (char)c;
    }
    if (c == EOF && n == 0) break;
    if (!line) line = (char*)calloc(1, line_cap = 16);
    line[n] = '\0';
    if (n > 0 && line[n - 1] == '\r') line[--n] = '\0';
    ++lines;
    if (!parse_line(line, &id, &text, &messages)) {
      fprintf(stderr, "%s line %d: not a {\"id\", \"text\"} or {\"id\", \"messages\"} object\n", argv[argi + 1], lines);
      ++failures;
    } else if (messages.data ? edgelm_session_turn_messages(session, messages.data, verbose ? stream_to_stderr : NULL, NULL,
                                                            &turn) != EDGELM_OK
                             : edgelm_session_set_mode(session, EDGELM_TURN_COMMAND) != EDGELM_OK ||
                                   edgelm_session_reset(session) != EDGELM_OK ||
                                   edgelm_session_turn(session, text.data, verbose ? stream_to_stderr : NULL, NULL,
                                                       &turn) != EDGELM_OK) {
      fprintf(stderr, "%s line %d: %s\n", argv[argi + 1], lines, edgelm_last_error());
      ++failures;
    } else {
      if (verbose) fputc('\n', stderr);
      ok = buf_put(&result, "{\"id\":", 6) && (id.data ? buf_put(&result, id.data, id.size) : buf_put(&result, "null", 4)) &&
           buf_put(&result, ",\"calls\":", 9) && buf_put(&result, turn.calls_json, strlen(turn.calls_json)) &&
           buf_put(&result, ",\"reply\":", 9) && put_json_string(&result, turn.reply);
      sprintf(number, ",\"tokens_generated\":%d,\"latency_ms\":%.3f", (int)turn.tokens_generated, turn.latency_ms);
      ok = ok && buf_put(&result, number, strlen(number));
      if (ok && turn.answer_error[0]) ok = buf_put(&result, ",\"error\":", 9) && put_json_string(&result, turn.answer_error);
      ok = ok && buf_put(&result, "}\n", 2);
      if (!ok || fwrite(result.data, 1, result.size, out) != result.size) return 1;
    }
    free(id.data), free(text.data), free(messages.data), free(result.data);
  }
  free(line);
  fclose(in);
  if (fclose(out) != 0) return 1;
  edgelm_session_free(session);
  edgelm_model_free(model);
  fprintf(stderr, "%d lines, %d failed\n", lines, failures);
  return failures ? 1 : 0;
}
