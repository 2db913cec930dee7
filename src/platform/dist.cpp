#include "platform/dist.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "platform/error.h"

#ifndef EDGELM_WITH_MPI
#define EDGELM_WITH_MPI 0
#endif
#if EDGELM_WITH_MPI
// The C API only: OpenMPI's deprecated C++ bindings are not used (and warn).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace edgelm::dist {

namespace {

bool g_started = false;
int g_rank = 0, g_size = 1;

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : 0;
}

#if EDGELM_WITH_MPI
std::vector<MPI_Request> g_pending;

// MPI counts are int: larger buffers go in pieces of 2^30 elements.
constexpr size_t kMaxCount = size_t(1) << 30;

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int n = 0;
  MPI_Error_string(code, text, &n);
  fail(what, " failed on rank ", g_rank, ": ", std::string(text, size_t(n)));
}
#endif

}  // namespace

bool built_with_mpi() { return EDGELM_WITH_MPI != 0; }

int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"})
    if (int n = env_int(name); n > 0) return n;
  return 0;
}

void init() {
  if (g_started) return;
  const int launched = launcher_world_size();
#if EDGELM_WITH_MPI
  if (launched == 0) return;
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  // Errors come back as codes, which become edgelm::Error, instead of MPI's default abort.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (provided < MPI_THREAD_FUNNELED) fail("this MPI cannot run a threaded process (MPI_THREAD_FUNNELED)");
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  g_started = true;
#else
  if (launched > 1)
    fail("mpirun started ", launched, " processes, but this edgelm was built without MPI: install OpenMPI "
         "(scripts/setup --mpi) and configure with -DEDGELM_MPI=ON, or run one process without mpirun");
#endif
}

void finalize() {
#if EDGELM_WITH_MPI
  if (!g_started) return;
  wait_all();
  MPI_Finalize();
  g_started = false;
  g_rank = 0;
  g_size = 1;
#endif
}

void abort_all(int status) {
#if EDGELM_WITH_MPI
  if (g_started && g_size > 1) {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status);
  }
#endif
  std::exit(status);
}

int rank() { return g_rank; }
int size() { return g_size; }

void broadcast(void* data, size_t n_bytes) {
#if EDGELM_WITH_MPI
  if (g_size == 1) return;
  for (size_t done = 0; done < n_bytes; done += kMaxCount) {
    const size_t n = std::min(kMaxCount, n_bytes - done);
    check(MPI_Bcast(static_cast<char*>(data) + done, int(n), MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
  }
#endif
}

void allreduce_sum(double* values, size_t n) {
#if EDGELM_WITH_MPI
  if (g_size == 1) return;
  for (size_t done = 0; done < n; done += kMaxCount)
    check(MPI_Allreduce(MPI_IN_PLACE, values + done, int(std::min(kMaxCount, n - done)), MPI_DOUBLE, MPI_SUM,
                        MPI_COMM_WORLD),
          "MPI_Allreduce");
#endif
}

void allreduce_sum(float* values, size_t n) {
#if EDGELM_WITH_MPI
  if (g_size == 1) return;
  for (size_t done = 0; done < n; done += kMaxCount)
    check(MPI_Allreduce(MPI_IN_PLACE, values + done, int(std::min(kMaxCount, n - done)), MPI_FLOAT, MPI_SUM,
                        MPI_COMM_WORLD),
          "MPI_Allreduce");
#endif
}

std::vector<uint64_t> allgather(uint64_t value) {
  std::vector<uint64_t> all(size_t(g_size), value);
#if EDGELM_WITH_MPI
  if (g_size > 1)
    check(MPI_Allgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD), "MPI_Allgather");
#endif
  return all;
}

void allreduce_sum_start(float* values, size_t n) {
#if EDGELM_WITH_MPI
  if (g_size == 1) return;
  for (size_t done = 0; done < n; done += kMaxCount) {
    MPI_Request request;
    check(MPI_Iallreduce(MPI_IN_PLACE, values + done, int(std::min(kMaxCount, n - done)), MPI_FLOAT, MPI_SUM,
                         MPI_COMM_WORLD, &request),
          "MPI_Iallreduce");
    g_pending.push_back(request);
  }
#endif
}

void progress() {
#if EDGELM_WITH_MPI
  if (g_pending.empty()) return;
  int done = 0;
  check(MPI_Testall(int(g_pending.size()), g_pending.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall");
  if (done) g_pending.clear();
#endif
}

double wait_all() {
#if EDGELM_WITH_MPI
  if (g_pending.empty()) return 0;
  const auto t0 = std::chrono::steady_clock::now();
  check(MPI_Waitall(int(g_pending.size()), g_pending.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
  g_pending.clear();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
#else
  return 0;
#endif
}

}  // namespace edgelm::dist
