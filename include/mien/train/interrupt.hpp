#pragma once
// Ctrl-C handling for long runs: the first SIGINT/SIGTERM sets a flag that the trainer polls between batches (it
// then saves a checkpoint and returns); a second one ends the process at once. A signal handler can only reach
// static state, so this flag is the one piece of process-wide state in mien.
#include <atomic>
#include <csignal>
#include <cstdlib>

namespace mien {

inline std::atomic<int>& interrupt_count() {
  static std::atomic<int> count{0};
  return count;
}

inline bool interrupt_requested() { return interrupt_count().load() > 0; }

inline void install_interrupt_handler() {
  auto handler = [](int) {
    if (interrupt_count().fetch_add(1) >= 1) std::_Exit(130);
  };
  std::signal(SIGINT, handler);
  std::signal(SIGTERM, handler);
}

}  // namespace mien
