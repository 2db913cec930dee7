/* Loads a model through the installed edgelm.h and answers one command. */
#include <stdio.h>

#include <edgelm.h>

int main(int argc, char** argv) {
  edgelm_model* model = NULL;
  edgelm_session* session = NULL;
  edgelm_turn turn;
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL COMMAND\n", argv[0]);
    return 2;
  }
  if (edgelm_model_load_file(argv[1], &model) != EDGELM_OK || edgelm_session_open(model, NULL, NULL, &session) != EDGELM_OK ||
      edgelm_session_turn(session, argv[2], NULL, NULL, &turn) != EDGELM_OK) {
    fprintf(stderr, "edgelm %s: %s\n", edgelm_version(), edgelm_last_error());
    edgelm_model_free(model);
    return 1;
  }
  printf("%s %s\n", turn.calls_json, turn.reply);
  edgelm_session_free(session);
  edgelm_model_free(model);
  return 0;
}
