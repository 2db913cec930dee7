#pragma once
// The processes of a data-parallel run. Under `mpirun -np N` (with edgelm built
// against OpenMPI, CMake option EDGELM_MPI) there are N ranks; otherwise there is
// one and every call below is the identity. MPI is initialised only when mpirun
// (or another MPI launcher) started the process, so a plain `edgelm train` never
// touches MPI. Only the thread that called dist::init() may call the rest
// (MPI_THREAD_FUNNELED): the thread pool's workers compute, they never talk.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace edgelm::dist {

bool built_with_mpi();
// The world size an MPI launcher announced in the environment (OMPI_COMM_WORLD_SIZE,
// PMIX_/PMI_ variables), 0 when there was none.
int launcher_world_size();
// Starts MPI when a launcher started this process; throws Error when mpirun
// started several ranks of an edgelm built without MPI (they would each train
// alone and overwrite each other's files). Idempotent.
void init();
// MPI_Finalize after a normal end; nothing if MPI was not started.
void finalize();
// Ends every rank of the job at once (after an error on one rank, the others
// would wait forever in the next collective).
[[noreturn]] void abort_all(int status);

int rank();  // 0 .. size()-1
int size();
inline bool is_root() { return rank() == 0; }

// Rank 0's bytes to every rank.
void broadcast(void* data, size_t n_bytes);
// Element-wise sums over the ranks, in place; every rank receives the same bits.
void allreduce_sum(double* values, size_t n);
void allreduce_sum(float* values, size_t n);
// Every rank's value, in rank order.
std::vector<uint64_t> allgather(uint64_t value);

// Non-blocking float sum in place: the buffer must stay untouched until wait_all().
void allreduce_sum_start(float* values, size_t n);
// Lets MPI move pending operations along (it progresses them only inside its calls).
void progress();
// Completes every pending operation; returns the seconds spent blocked here.
double wait_all();

}  // namespace edgelm::dist
