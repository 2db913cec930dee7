#!/bin/sh
# Rewrites tests/fixtures/model/: edgelm writes the tiny models (a skipped-by-
# default test does it, so the weights come from edgelm's own writer), then
# PyTorch computes the expected logits of each (tools/ref_logits.py).
# Usage: tools/make_model_fixtures.sh [BUILD_DIR]   (default: build)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
EDGELM_WRITE_MODEL_FIXTURES=1 "$build/bin/test_model" --gtest_filter=ModelFixtures.WriteWhenAsked
for name in tiny_gqa tiny_gqa_bf16 tiny_window_untied tiny_window_untied_f16; do
  /usr/bin/python3 tools/ref_logits.py "tests/fixtures/model/$name.gguf" "tests/fixtures/model/$name.logits.json"
done
