// No allocation per decoded token once a session is open: the global
// operator new of this test program counts, and the decoding hook reads the
// count after every step. The first steps of the first turn may still fill
// lazily sized scratch; from the second turn on, a step allocates nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "../agent/agent_test_util.h"
#include "agent/agent.h"
#include "edgelm.h"
#include "platform/thread_pool.h"

namespace {
std::atomic<long> g_allocations{0};
}

// AddressSanitizer replaces operator new itself and reports malloc/free pairs
// behind a replaced one as mismatches: under it the operators stay its own and
// the two tests skip (the Release pass runs them).
#include "asan.h"

#ifndef EDGELM_TEST_ASAN

// These operators pair malloc with free on purpose; GCC cannot see that the
// replaced operator new below is what those pointers came from.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t al = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif

namespace edgelm {
namespace {

// For each turn, the allocation count at every decoding step.
struct StepCounts {
  std::vector<long> counts;  // reserved up front: recording allocates nothing
  StepCounts() { counts.reserve(4096); }
  void record() {
    if (counts.size() < counts.capacity()) counts.push_back(g_allocations.load(std::memory_order_relaxed));
  }
};

const char* kCommands[] = {"turn it on in sleep mode and set a timer for 90 minutes please", "how is the air",
                           "수면 모드로 바꾸고 6시간 뒤에 꺼줘", "turn it on in sleep mode and set a timer for 90 minutes please"};

TEST(Allocations, NonePerDecodedTokenInTheAgent) {
#ifdef EDGELM_TEST_ASAN
  GTEST_SKIP() << "allocation counting needs the replaced operator new, which AddressSanitizer's excludes";
#endif
  const test::TinyAgentModel& t = test::tiny_agent_model();
  ThreadPool pool(1);
  StepCounts steps;
  AgentOptions options;
  options.pool = &pool;
  options.on_step = [&steps](std::span<const int32_t>, int) { steps.record(); };
  Agent agent(t.model, t.device, options);
  Device device(t.device);
  long first_pass_allocating = 0;
  for (int pass = 0; pass < 2; ++pass) {
    long total_steps = 0, allocating_steps = 0;
    for (const char* command : kCommands) {
      steps.counts.clear();
      agent.respond(command, &device);
      for (size_t i = 1; i < steps.counts.size(); ++i) {
        ++total_steps;
        if (steps.counts[i] != steps.counts[i - 1]) ++allocating_steps;
      }
    }
    ASSERT_GT(total_steps, 10);
    if (pass == 0) first_pass_allocating = allocating_steps;
    // The second pass over the same commands visits no new state: nothing may allocate.
    if (pass == 1) {
      EXPECT_EQ(allocating_steps, 0) << "of " << total_steps << " decoding steps";
    }
  }
  std::printf("decoding steps that allocated on the first pass: %ld\n", first_pass_allocating);
}

TEST(Allocations, NonePerStreamedPieceThroughTheCApi) {
#ifdef EDGELM_TEST_ASAN
  GTEST_SKIP() << "allocation counting needs the replaced operator new, which AddressSanitizer's excludes";
#endif
  const test::TinyAgentModel& t = test::tiny_agent_model();
  edgelm_model* model = nullptr;
  edgelm_session* session = nullptr;
  edgelm_session_options o = edgelm_session_default_options();
  o.n_threads = 1;
  ASSERT_EQ(edgelm_model_load_file(t.path.c_str(), &model), EDGELM_OK) << edgelm_last_error();
  ASSERT_EQ(edgelm_session_open(model, nullptr, &o, &session), EDGELM_OK) << edgelm_last_error();
  StepCounts steps;
  auto on_reply = [](const char*, size_t, void* user) { static_cast<StepCounts*>(user)->record(); };
  edgelm_turn turn;
  ASSERT_EQ(edgelm_session_turn(session, kCommands[0], on_reply, &steps, &turn), EDGELM_OK);
  long pieces = 0, allocating = 0;
  for (const char* command : kCommands) {
    steps.counts.clear();
    ASSERT_EQ(edgelm_session_turn(session, command, on_reply, &steps, &turn), EDGELM_OK);
    // The last piece comes after decoding (the turn's JSON and reply are built then).
    for (size_t i = 1; i + 1 < steps.counts.size(); ++i) {
      ++pieces;
      if (steps.counts[i] != steps.counts[i - 1]) ++allocating;
    }
  }
  EXPECT_EQ(allocating, 0) << "of " << pieces << " streamed pieces";
  edgelm_session_free(session);
  edgelm_model_free(model);
}

}  // namespace
}  // namespace edgelm
